#!/usr/bin/env bash
# Headless Chromium for test/demo/report-chromium.test.ts (the demo's HTML report, rendered).
#
#   bash scripts/chromium.sh   # prints the binary the test will use; installs it if missing
#
# The test uses MEDSTREAM_CHROMIUM when set, else `chromium` or `chromium-browser` on PATH; this
# script looks the same way. When none is found and we are root with apt-get (Debian/Ubuntu, as
# on CI), it installs Debian's `chromium` package; otherwise it fails and says how to install it.
set -euo pipefail

PACKAGE=chromium

log() { echo "chromium: $*" >&2; }
die() {
  echo "chromium: error: $*" >&2
  exit 1
}

# An explicit choice is never replaced by an installed package.
if [[ -n "${MEDSTREAM_CHROMIUM:-}" ]]; then
  [[ -x "$MEDSTREAM_CHROMIUM" ]] || die "MEDSTREAM_CHROMIUM=$MEDSTREAM_CHROMIUM is not an executable file"
  echo "$MEDSTREAM_CHROMIUM"
  exit 0
fi

find_chromium() {
  command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null || return 1
}

if binary="$(find_chromium)"; then
  echo "$binary"
  exit 0
fi

if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
  log "not found; installing $PACKAGE with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "$PACKAGE" >&2
  binary="$(find_chromium)" || die "still no chromium on PATH after apt-get install $PACKAGE"
  log "installed: $("$binary" --version 2>/dev/null || echo "$binary")"
  echo "$binary"
  exit 0
fi

die "Chromium not found (MEDSTREAM_CHROMIUM, chromium, chromium-browser). Install it as root: apt-get install -y --no-install-recommends $PACKAGE (Debian/Ubuntu), or set MEDSTREAM_CHROMIUM to a Chromium or Chrome binary."
