#!/usr/bin/env bash
# Install the Debian packages the tests and benchmarks need, if their program is missing.
# Usage: deploy/apt-install.sh PROGRAM=PACKAGE ...   e.g. chromium=chromium wrk=wrk
# Idempotent; needs root (or sudo) only when something is actually missing.
set -euo pipefail
missing=()
for pair in "$@"; do
  program=${pair%%=*}
  package=${pair#*=}
  command -v "$program" >/dev/null 2>&1 || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "apt-install: please install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "apt-install: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || {
  $sudo apt-get update -q >/dev/null
  $sudo apt-get install -y -q "${missing[@]}" >/dev/null
}
for pair in "$@"; do
  command -v "${pair%%=*}" >/dev/null || { echo "apt-install: ${pair%%=*} is still missing" >&2; exit 1; }
done
