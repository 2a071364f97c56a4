#!/usr/bin/env bash
# Runs every test on a machine of the project's kind, installing what the tests need
# first: PostgreSQL running, the npm packages of the SDK conformance test and of the
# web UI's accessibility check (axe-core), Debian's chromium for the browser tests,
# staticcheck.
# `make test` and .ci/run call this.
#
# Each step is announced as it starts, with the time since the start, so that a slow
# step is never silent. What can be kept between runs is kept:
#   - the npm packages, reinstalled only when sdktest/package-lock.json or
#     uitest/package-lock.json changes;
#   - chromium, installed with apt-get only when /usr/bin/chromium is missing;
#   - the staticcheck binary, built once per version into $SMARTCRM_TOOLS
#     (default ~/.cache/smartcrm-tools; CI can keep that directory between runs);
#   - Go's build and module caches, as always.
# On a machine without a staticcheck of the pinned version, building it from source
# takes minutes: it builds in the background while go vet and go test run.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=v0.8.2
TOOLS=${SMARTCRM_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/smartcrm-tools}
STATICCHECK=$TOOLS/staticcheck-$STATICCHECK_VERSION

started=$(date +%s)
elapsed() {
  local s=$(($(date +%s) - started))
  printf '%d:%02d' $((s / 60)) $((s % 60))
}
step() { printf '\n== [%s] %s\n' "$(elapsed)" "$*"; }

# A background build still running when the script stops (a failed test) is stopped
# with it; the next run picks up from Go's build cache.
build_pid=
cleanup() {
  if [ -n "$build_pid" ] && kill -0 "$build_pid" 2>/dev/null; then
    pkill -P "$build_pid" 2>/dev/null || true # the go command the subshell runs
    kill "$build_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

step "PostgreSQL"
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "installing PostgreSQL (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 0.5
  done
fi
pg_isready -h 127.0.0.1 -p 5432

step "Node packages for the SDK conformance test"
if ! command -v npm >/dev/null 2>&1; then
  echo "installing Node.js and npm (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
# Reinstall only when the lock file changed since the last install (a stamp copy of it).
if cmp -s sdktest/package-lock.json sdktest/node_modules/.installed-lock.json 2>/dev/null; then
  echo "up to date with sdktest/package-lock.json"
else
  echo "npm ci (sdktest/package-lock.json changed or first run)"
  npm ci --prefix sdktest --no-audit --no-fund --loglevel=error
  cp sdktest/package-lock.json sdktest/node_modules/.installed-lock.json
fi

step "Node packages for the web UI's accessibility check (axe-core)"
if cmp -s uitest/package-lock.json uitest/node_modules/.installed-lock.json 2>/dev/null; then
  echo "up to date with uitest/package-lock.json"
else
  echo "npm ci (uitest/package-lock.json changed or first run)"
  npm ci --prefix uitest --no-audit --no-fund --loglevel=error
  cp uitest/package-lock.json uitest/node_modules/.installed-lock.json
fi

step "Chromium for the browser tests"
# The web UI's tests drive Debian's chromium headless (chromedp); SMARTCRM_CHROMIUM
# points them at another binary.
if [ -n "${SMARTCRM_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1; then
  echo "present: ${SMARTCRM_CHROMIUM:-$(command -v chromium)}"
else
  echo "installing chromium (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

step "staticcheck $STATICCHECK_VERSION"
mkdir -p "$TOOLS"
# `staticcheck -version` prints e.g. "staticcheck 2026.2.2 (0.8.2)".
want="(${STATICCHECK_VERSION#v})"
gopath_sc=$(go env GOPATH)/bin/staticcheck
if [ -x "$STATICCHECK" ]; then
  echo "cached: $STATICCHECK"
elif [ -x "$gopath_sc" ] && "$gopath_sc" -version 2>/dev/null | grep -qF "$want"; then
  cp "$gopath_sc" "$STATICCHECK.tmp" && mv "$STATICCHECK.tmp" "$STATICCHECK"
  echo "cached the one in $(dirname "$gopath_sc"): $STATICCHECK"
else
  echo "installing staticcheck $STATICCHECK_VERSION (first run builds it from source: a few minutes;"
  echo "it builds in the background while go vet and go test run, log in $TOOLS/staticcheck-build.log)"
  (
    bin=$(mktemp -d "$TOOLS/build.XXXXXX")
    GOBIN=$bin go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" &&
      mv "$bin/staticcheck" "$STATICCHECK"
    status=$?
    rm -rf "$bin"
    exit $status
  ) >"$TOOLS/staticcheck-build.log" 2>&1 &
  build_pid=$!
fi

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './sdktest/*'))
if [ -n "$unformatted" ]; then
  echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "go test (SQLite and PostgreSQL, SDK conformance, browser tests, fuzz seed corpora)"
go test -count=1 -timeout 12m ./...

if [ -n "$build_pid" ]; then
  step "waiting for the staticcheck build"
  if ! wait "$build_pid"; then
    build_pid=
    echo "building staticcheck failed:"; cat "$TOOLS/staticcheck-build.log"; exit 1
  fi
  build_pid=
fi
step "staticcheck"
"$STATICCHECK" ./...

step "all tests passed in $(elapsed)"
