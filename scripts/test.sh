#!/usr/bin/env bash
# Runs every test on a machine of the project's kind, installing what the tests need
# first: PostgreSQL running, the npm packages of the SDK conformance test, staticcheck.
# `make test` and .ci/run call this.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "PostgreSQL"
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 0.5
  done
fi
pg_isready -h 127.0.0.1 -p 5432

step "Node packages for the SDK conformance test"
if ! command -v npm >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
# Reinstall only when the lock file changed since the last install (a stamp copy of it).
if ! cmp -s sdktest/package-lock.json sdktest/node_modules/.installed-lock.json 2>/dev/null; then
  npm ci --prefix sdktest --no-audit --no-fund --loglevel=error
  cp sdktest/package-lock.json sdktest/node_modules/.installed-lock.json
fi

step "gofmt, go vet, staticcheck"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './sdktest/*'))
if [ -n "$unformatted" ]; then
  echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi
go vet ./...
STATICCHECK=$(go env GOPATH)/bin/staticcheck
if [ ! -x "$STATICCHECK" ]; then
  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
"$STATICCHECK" ./...

step "go test (SQLite and PostgreSQL, SDK conformance, fuzz seed corpora)"
go test -count=1 -timeout 12m ./...
