#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need
# (Chromium from Debian, the Node packages from the committed lockfile),
# then vets and runs every test with the race detector.
#
#   ./scripts/test.sh            # everything
#   ./scripts/test.sh -short     # extra arguments go to `go test`
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }

# Debian packages: Chromium for the docs-page browser tests; redis-server
# and nginx for the many-gateways tests (redisstate, e2e/cluster_test.go).
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing ${need[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    log "missing ${need[*]}: the tests that need them will skip (install them, or run as root)"
  fi
fi

# Node packages for the non-Go clients (crypto-js, ws), the JavaScript SDK's
# dev dependencies (typescript, for tsc --noEmit) and its example (a link to
# the SDK), all from committed lockfiles.
if command -v npm >/dev/null 2>&1; then
  for d in e2e/node e2e/nodeq clients/js examples/js; do
    log "npm ci ($d)"
    (cd "$d" && npm ci --no-audit --no-fund --loglevel=error)
  done
fi

log "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './e2e/node/*' -not -path './e2e/nodeq/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
log "go vet"
go vet ./...
log "go test (artifacts such as the docs-page screenshot go to test-artifacts/)"
mkdir -p test-artifacts
go test -race -count=1 -timeout 40m -artifacts -outputdir "$PWD/test-artifacts" "$@" ./...
