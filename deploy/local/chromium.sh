#!/usr/bin/env bash
# Headless Chromium for the dashboard's browser test (tests/connectors/monitoring), from
# Debian's `chromium` package. Idempotent: an installed /usr/bin/chromium is kept. Prints the path.
#
#   deploy/local/chromium.sh        # install when missing (as root, or through sudo)
#
# Only Debian's package is used: no browser build is downloaded from anywhere else.
set -euo pipefail

chromium=/usr/bin/chromium

log() { echo "chromium.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo -n "$@" || die "sudo refused; run as root: apt-get install -y --no-install-recommends chromium"
  else
    die "Chromium is not installed; run as root: apt-get install -y --no-install-recommends chromium"
  fi
}

# apt-get update only when the package lists do not know chromium yet (a fresh machine).
has_candidate() {
  local candidate
  candidate=$(apt-cache policy chromium 2>/dev/null | awk '/Candidate:/ {print $2}')
  [[ -n $candidate && $candidate != "(none)" ]]
}

install_chromium() {
  command -v apt-get >/dev/null || die "no apt-get here; install Chromium so that $chromium exists"
  log "installing Debian's chromium package (once; kept afterwards)"
  if ! has_candidate; then
    as_root apt-get update -qq >/dev/null
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=300 chromium >/dev/null \
    || die "apt-get install chromium failed"
}

if [[ ! -x $chromium ]]; then
  install_chromium
  [[ -x $chromium ]] || die "apt-get installed chromium but $chromium is missing"
fi
echo "$chromium"
