#!/usr/bin/env bash
# Toxiproxy's server for the chaos suite (tests/chaos): a TCP proxy between the stages and Kafka /
# PostgreSQL whose faults (latency, connection resets, a disabled proxy = a partition) are switched
# on and off over its HTTP API. Built from its Go module with the machine's Go into
# $GATHER_LOCAL_DIR/tools/bin (default .local/tools/bin), like deploy/local/helm.sh. Idempotent: a
# binary already built from the pinned module version is kept. Prints the binary's path.
#
#   deploy/local/toxiproxy.sh      # build when missing, print .../tools/bin/toxiproxy-server
#
# `go install` names the binary after its package directory (cmd/server), so it is built into a
# scratch GOBIN and renamed. The version is stamped as Toxiproxy's own Makefile does, so
# `toxiproxy-server -version` says it. https://github.com/Shopify/toxiproxy#1-installing-toxiproxy
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
version=v2.12.0
module=github.com/Shopify/toxiproxy/v2
bin=${GATHER_LOCAL_DIR:-$repo/.local}/tools/bin
server=$bin/toxiproxy-server

log() { echo "toxiproxy.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

built_version() { "$server" -version 2>/dev/null | awk '{print $3}' || true; }

command -v go >/dev/null || die "Go is needed to build Toxiproxy (https://go.dev/dl/)"
if [[ -x $server && $(built_version) == "${version#v}" ]]; then
  echo "$server"
  exit 0
fi
log "building toxiproxy-server $version with $(go version | cut -d' ' -f3) into $bin (once; kept afterwards)"
mkdir -p "$bin"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
GOBIN=$scratch CGO_ENABLED=0 go install -trimpath \
  -ldflags "-s -w -X $module.Version=${version#v}" "$module/cmd/server@$version" \
  || die "go install $module/cmd/server@$version failed"
mv "$scratch/server" "$server"
[[ $(built_version) == "${version#v}" ]] || die "$server is not built from $version"
echo "$server"
