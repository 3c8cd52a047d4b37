#!/usr/bin/env bash
# promtool for the alert rules' test (tests/deploy/test_grafana_alerts.py), built from
# Prometheus's Go module with the machine's Go into $GATHER_LOCAL_DIR/tools/bin (default
# .local/tools/bin). Idempotent: a binary already built from the pinned module version is kept.
# Prints the binary's path.
#
#   deploy/local/promtool.sh        # build when missing, print .../tools/bin/promtool
#
# Module v0.X.Y is Prometheus 3.X.Y (https://github.com/prometheus/prometheus/releases); the
# version is stamped with Prometheus's own link flags (common/version), so `--version` says it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
module_version=v0.316.0
release=3.16.0
bin=${GATHER_LOCAL_DIR:-$repo/.local}/tools/bin
promtool=$bin/promtool

log() { echo "promtool.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

built_version() { "$promtool" --version 2>/dev/null | awk 'NR == 1 {print $3}' || true; }

command -v go >/dev/null || die "Go is needed to build promtool (https://go.dev/dl/)"
if [[ -x $promtool && $(built_version) == "$release" ]]; then
  echo "$promtool"
  exit 0
fi
log "building promtool $release with $(go version | cut -d' ' -f3) into $bin (once; kept afterwards)"
mkdir -p "$bin"
GOBIN=$bin CGO_ENABLED=0 go install -trimpath \
  -ldflags "-w -s -X github.com/prometheus/common/version.Version=$release" \
  "github.com/prometheus/prometheus/cmd/promtool@$module_version" \
  || die "go install github.com/prometheus/prometheus/cmd/promtool@$module_version failed"
[[ $(built_version) == "$release" ]] || die "$promtool is not built from $release"
echo "$promtool"
