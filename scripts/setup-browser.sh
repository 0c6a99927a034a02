#!/usr/bin/env bash
# Install what the browser reality check (tests/browser/) needs, only when missing:
#   - Debian's chromium (apt-get; needs root)       -> /usr/bin/chromium
#   - playwright-core from npm (the machine's node) -> tests/browser/node_modules
# playwright-core is the driver library only: it downloads no browser; the test
# points it at /usr/bin/chromium. Safe to run again: a second run does nothing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
browser_dir="$here/tests/browser"

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup-browser: need root to install Debian's chromium (apt-get)" >&2
    exit 1
  fi
  echo "setup-browser: installing Debian chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup-browser: need node and npm (apt-get install nodejs npm, as root)" >&2
    exit 1
  fi
  echo "setup-browser: installing Debian nodejs and npm"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

if [ ! -f "$browser_dir/node_modules/playwright-core/package.json" ]; then
  echo "setup-browser: installing playwright-core into tests/browser/node_modules"
  # PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: never fetch Playwright's own browser builds
  (cd "$browser_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
     npm install --no-audit --no-fund --no-save --silent --prefix "$browser_dir" playwright-core >/dev/null)
fi

echo "setup-browser: chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), " \
     "playwright-core $(node -p "require('$browser_dir/node_modules/playwright-core/package.json').version")"
