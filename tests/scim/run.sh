#!/usr/bin/env bash
# SCIM 2.0 compliance (RFC 7643/7644) of Sportello's /scim/v2 endpoints, checked
# by scim2-tester against a real `sportello serve --demo`, with a token of the
# Comune di Ferrara (C-D548) issued by `sportello scim-token`.
#
#   tests/scim/run.sh                 builds target/debug/sportello if needed
#   SPORTELLO_TEST_BIN=path tests/scim/run.sh
#
# scim2-tester and its client are installed (pinned) in a virtual environment
# under target/ (SPORTELLO_TEST_SCIM_VENV to put it elsewhere; SPORTELLO_TEST_PYTHON
# picks the interpreter). Prints every check and a summary; exits non-zero if any
# check fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD

SCIM2_TESTER_VERSION=0.5.2
SCIM2_CLIENT_VERSION=0.13.2
SCIM2_MODELS_VERSION=0.12.3

PYTHON=${SPORTELLO_TEST_PYTHON:-python3}
VENV=${SPORTELLO_TEST_SCIM_VENV:-$ROOT/target/scim-venv}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  "scim2-tester==$SCIM2_TESTER_VERSION" \
  "scim2-client[httpx2]==$SCIM2_CLIENT_VERSION" \
  "scim2-models==$SCIM2_MODELS_VERSION"

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

# The public base URL is the listening address, so that meta.location stays
# under the base URL the tester talks to.
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

TOKEN=$("$BIN" --data-dir "$DATA" scim-token --org C-D548 --label scim2-tester)

status=0
"$VENV/bin/python" - "$BASE/scim/v2" "$TOKEN" <<'PY' || status=$?
import collections
import random
import sys

import httpx2
import scim2_tester.checkers.patch_add as patch_add
import scim2_tester.checkers.patch_replace as patch_replace
import scim2_tester.filling as filling
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

url, token = sys.argv[1], sys.argv[2]

# Sportello's userName is a codice fiscale, checked (length, structure, check
# character): scim2-tester's random strings would all be refused, so userName
# values are generated as random valid codici fiscali. Everything else is the
# tester's own random data.
ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]


def char_value(c, odd):
    n = int(c) if c.isdigit() else ord(c) - ord("A")
    return ODD[n] if odd else n


def random_codice_fiscale():
    letters = "BCDFGHLMNPRSTVZ"
    body = "".join(random.choice(letters) for _ in range(6))
    body += f"{random.randint(40, 99):02d}"
    body += random.choice("ABCDEHLMPRST")
    body += f"{random.randint(1, 28) + random.choice([0, 40]):02d}"
    body += random.choice("ADHLM") + f"{random.randint(1, 999):03d}"
    total = sum(char_value(c, i % 2 == 0) for i, c in enumerate(body))
    return body + chr(ord("A") + total % 26)


original = filling.generate_random_value


def generate_random_value(context, path, mutability=None, required=None):
    value = original(context, path, mutability=mutability, required=required)
    if value is not None and str(path).lower().endswith("username"):
        return random_codice_fiscale()
    return value


for module in (filling, patch_add, patch_replace):
    module.generate_random_value = generate_random_value

client = SyncSCIMClient(httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}))

# Only the User resource type gets the CRUD and PATCH checks. Every Group check
# begins by creating a group, and Sportello's groups are the profiles of the
# application catalogue, which only the central administrator defines: POST and
# DELETE on /Groups are refused (403) by design. Group membership (PATCH members)
# is covered by the integration tests (crates/sportello/tests/integration/scim.rs).
results = check_server(client, resource_types=["User"])

passing = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}
counts = collections.Counter()
for r in results:
    counts[r.status.name] += 1
    where = f" [{r.resource_type}]" if r.resource_type else ""
    print(f"{r.status.name:<10} {r.title}{where}")
    if r.reason and r.status not in passing:
        print("           " + str(r.reason).replace("\n", "\n           "))
    if r.status not in passing | {Status.SKIPPED} and r.data is not None:
        print("           data: " + repr(r.data)[:2000])
print()
print("Group: CRUD and PATCH checks not run (groups are the catalogue's profiles; see tests/scim/run.sh)")
failed = sum(n for s, n in counts.items() if Status[s] not in passing | {Status.SKIPPED})
summary = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
print(f"scim2-tester {len(results)} checks: {summary}")
sys.exit(1 if failed else 0)
PY

if [ "$status" -ne 0 ]; then
  echo "run.sh: scim2-tester reported failures; server log:" >&2
  tail -n 50 "$DATA/server.log" >&2
fi
exit "$status"
