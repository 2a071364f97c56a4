# smartcrm — see README.md.

.PHONY: run test build bench fuzz

run:
	go run ./cmd/smartcrm serve

build:
	go build -o smartcrm ./cmd/smartcrm

# Every test, on SQLite and PostgreSQL, after installing what the tests need. Each step
# is announced as it starts; staticcheck is built once per version into
# $SMARTCRM_TOOLS (default ~/.cache/smartcrm-tools), the npm packages once per lock file.
test:
	./scripts/test.sh

# Speed figures (see bench/README.md).
bench:
	go run ./bench

# A fuzzing campaign over every parser, FUZZTIME each (default 60s).
FUZZTIME ?= 60s
fuzz:
	go test ./internal/params -run '^$$' -fuzz FuzzParseQuery -fuzztime $(FUZZTIME)
	go test ./internal/params -run '^$$' -fuzz FuzzParseBody -fuzztime $(FUZZTIME)
	go test ./internal/params -run '^$$' -fuzz FuzzParseJSONAgreesWithEncodingJSON -fuzztime $(FUZZTIME)
	go test ./internal/jsonx -run '^$$' -fuzz FuzzAppendString -fuzztime $(FUZZTIME)
	go test ./internal/store -run '^$$' -fuzz FuzzParseSQLiteTime -fuzztime $(FUZZTIME)
	go test ./internal/store -run '^$$' -fuzz FuzzSubstringSearch -fuzztime $(FUZZTIME)
	go test ./internal/rest/wirequery -run '^$$' -fuzz FuzzParseFilter -fuzztime $(FUZZTIME)
	go test ./internal/rest -run '^$$' -fuzz FuzzParseBatch -fuzztime $(FUZZTIME)
	go test ./internal/field -run '^$$' -fuzz FuzzMultifield -fuzztime $(FUZZTIME)
	go test ./internal/automation -run '^$$' -fuzz FuzzAutomationSet -fuzztime $(FUZZTIME)
	go test ./internal/automation -run '^$$' -fuzz FuzzParseDuration -fuzztime $(FUZZTIME)
	go test ./internal/automation -run '^$$' -fuzz FuzzParseCalendar -fuzztime $(FUZZTIME)
	go test ./internal/automation -run '^$$' -fuzz FuzzPlaceholders -fuzztime $(FUZZTIME)
	go test ./internal/automation -run '^$$' -fuzz FuzzParseAppRobot -fuzztime $(FUZZTIME)
	go test ./internal/events -run '^$$' -fuzz FuzzEventName -fuzztime $(FUZZTIME)
	go test ./internal/events -run '^$$' -fuzz FuzzHandlerURL -fuzztime $(FUZZTIME)
	go test ./internal/events -run '^$$' -fuzz FuzzForm -fuzztime $(FUZZTIME)
	go test ./internal/processdef/loadfuzz -run '^$$' -fuzz FuzzLoad -fuzztime $(FUZZTIME)
	go test ./bench -run '^$$' -fuzz FuzzDecodeEnvelope -fuzztime $(FUZZTIME)
