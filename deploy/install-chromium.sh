#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (Playwright drives /usr/bin/chromium;
# a test tool's own browser download does not work offline). Idempotent.
set -euo pipefail
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "install-chromium: $CHROMIUM is missing; install it with: sudo apt-get install chromium" >&2
  exit 1
fi
echo "install-chromium: installing Debian's chromium package" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
[ -x "$CHROMIUM" ] || { echo "install-chromium: chromium did not install" >&2; exit 1; }
