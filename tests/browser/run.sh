#!/usr/bin/env bash
# Runs the browser suite against target/debug/sportello (or $SPORTELLO_TEST_BIN) with
# Debian's Chromium (or $CHROMIUM_PATH). Never downloads a browser.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

# playwright-core never downloads browsers; make sure nothing else tries to.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

chromium_path="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium_path" ]; then
  echo "run.sh: no Chromium at $chromium_path (apt-get install -y chromium, or set CHROMIUM_PATH)" >&2
  exit 1
fi

# The identity and delegation suites send mail to a real SMTP server (tests/support/smtp_sink.py).
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
  echo "run.sh: python3 with aiosmtpd is needed for the SMTP sink (pip install aiosmtpd)" >&2
  exit 1
fi

# Reinstall dependencies when node_modules is missing or the lockfile changed since the last install.
stamp=node_modules/.package-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -d node_modules ] || [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi

npm test
