#!/bin/sh
# Installs what demo-api/tests/browser.rs needs: Debian's Chromium (and ChromeDriver) and the
# playwright-core client from package-lock.json. Playwright never downloads a browser of its own.
set -eu
cd "$(dirname "$0")"
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium chromium-driver
fi
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
/usr/bin/chromium --version
