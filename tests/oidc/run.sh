#!/usr/bin/env bash
# OpenID Connect provider checked with an independent relying-party library:
# Authlib (OAuth2Session, authlib.oidc.discovery, authlib.jose) drives a real
# `sportello serve --demo` through tests/oidc/flows.py: discovery, code flow
# with PKCE (S256), RS256 and ES256 ID tokens verified against the JWKS,
# userinfo, refresh rotation and reuse detection, revocation (RFC 7009),
# introspection (RFC 7662), RP-initiated logout, and the 403 page for a user
# not enabled to the application.
#
#   tests/oidc/run.sh                 builds target/debug/sportello if needed
#   SPORTELLO_TEST_BIN=path tests/oidc/run.sh
#
# Authlib and requests are installed (pinned) in a virtual environment under
# target/ (SPORTELLO_TEST_OIDC_VENV to put it elsewhere; SPORTELLO_TEST_PYTHON
# picks the interpreter). Prints every check and `N passed, M failed`; exits
# non-zero if any check fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD

AUTHLIB_VERSION=1.9.10
JOSERFC_VERSION=1.8.0
CRYPTOGRAPHY_VERSION=50.0.2
REQUESTS_VERSION=2.34.2

PYTHON=${SPORTELLO_TEST_PYTHON:-python3}
VENV=${SPORTELLO_TEST_OIDC_VENV:-$ROOT/target/oidc-venv}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  "authlib==$AUTHLIB_VERSION" \
  "joserfc==$JOSERFC_VERSION" \
  "cryptography==$CRYPTOGRAPHY_VERSION" \
  "requests==$REQUESTS_VERSION"

if [ -n "${SPORTELLO_TEST_BIN:-}" ]; then
  BIN=$SPORTELLO_TEST_BIN
else
  BIN=$ROOT/target/debug/sportello
  cargo build --quiet -p sportello
fi
[ -x "$BIN" ] || { echo "run.sh: no sportello binary at $BIN" >&2; exit 1; }

PORT=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
DATA=$(mktemp -d)
SERVER=
cleanup() {
  if [ -n "$SERVER" ]; then
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT

# The public base URL is the listening address: it is the issuer, and the
# relying party checks `iss` against the address it talks to.
"$BIN" serve --demo --listen "127.0.0.1:$PORT" --public-base-url "$BASE" --data-dir "$DATA" \
  >"$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do
  if "$VENV/bin/python" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
    "$BASE/readyz" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$SERVER" 2>/dev/null; then
    echo "run.sh: the server stopped:" >&2
    cat "$DATA/server.log" >&2
    exit 1
  fi
  sleep 0.2
done

status=0
"$VENV/bin/python" "$ROOT/tests/oidc/flows.py" "$BASE" || status=$?

if [ "$status" -ne 0 ]; then
  echo "run.sh: authlib checks failed; server log:" >&2
  tail -n 50 "$DATA/server.log" >&2
fi
exit "$status"
