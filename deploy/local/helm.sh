#!/usr/bin/env bash
# The Helm CLI for the chart's tests (tests/deploy), built from its Go module with the machine's Go
# into $GATHER_LOCAL_DIR/tools/bin (default .local/tools/bin). Idempotent: a binary already built
# from the pinned module version is kept. Prints the binary's path.
#
#   deploy/local/helm.sh           # install when missing, print .../tools/bin/helm
#
# The link flags are those of Helm's own Makefile: without them `helm version` says "v3.22" and
# helm assumes Kubernetes v1.20.0, below the chart's kubeVersion. k8s_major.k8s_minor follow the
# k8s.io/client-go that the pinned Helm requires (v0.37.0 -> 1.37).
# https://helm.sh/docs/intro/install/ (From Source)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
version=v3.22.0
k8s_major=1
k8s_minor=37
bin=${GATHER_LOCAL_DIR:-$repo/.local}/tools/bin
helm=$bin/helm

log() { echo "helm.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

built_version() { "$helm" version --template '{{.Version}}' 2>/dev/null || true; }

ldflags() {
  local flags="-w -s -X helm.sh/helm/v3/internal/version.version=$version" pkg
  for pkg in pkg/lint/rules pkg/chartutil; do
    flags+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=$k8s_major"
    flags+=" -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$k8s_minor"
  done
  echo "$flags"
}

command -v go >/dev/null || die "Go is needed to build Helm: Helm v3.22 needs Go 1.26+ (https://go.dev/dl/)"
if [[ -x $helm && $(built_version) == "$version" ]]; then
  echo "$helm"
  exit 0
fi
log "building helm $version with $(go version | cut -d' ' -f3) into $bin (once; kept afterwards)"
mkdir -p "$bin"
GOBIN=$bin CGO_ENABLED=0 go install -trimpath -ldflags "$(ldflags)" \
  "helm.sh/helm/v3/cmd/helm@$version" \
  || die "go install helm.sh/helm/v3/cmd/helm@$version failed"
[[ $(built_version) == "$version" ]] || die "$helm is not built from $version"
echo "$helm"
