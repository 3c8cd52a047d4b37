#!/usr/bin/env bash
# `make image`: the gather-sync image built here with Podman, no registry needed. The Dockerfile's
# BASE_IMAGE (python:3.11-slim elsewhere) is a Debian bookworm made by mmdebstrap (python3 3.11,
# python3-venv, ca-certificates), kept as a tarball under $GATHER_LOCAL_DIR/image (default
# .local/image) and imported as localhost/gather-sync-base:bookworm; then `podman build` on the
# host's network with the machine's CA bundle mounted (downloads pass a TLS-intercepting proxy
# here) and uv's cache of the host mounted (the venv's `make test` already filled it). Prints the
# image's name, size and digest. Podman, Buildah, mmdebstrap and runc come from apt when missing.
#
#   deploy/image/build.sh                      # gather-sync:<appVersion of the chart>
#   WITH_SFSIM=true deploy/image/build.sh      # with sfsim (the local Salesforce) inside
#   IMAGE=gather-sync:dev deploy/image/build.sh
#   deploy/image/build.sh name                 # print the image's name only (no build)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
store=${GATHER_LOCAL_DIR:-$repo/.local}/image
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
app_version=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$repo/deploy/helm/gather-sync/Chart.yaml")
image=${IMAGE:-gather-sync:$app_version}
base_image=localhost/gather-sync-base:bookworm
base_packages=python3,python3-venv,ca-certificates
ca_bundle=/etc/ssl/certs/ca-certificates.crt
mirror=http://deb.debian.org/debian

log() { echo "build.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

tools() {
  local missing=()
  for tool in podman buildah mmdebstrap runc; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]} with apt-get"
    [[ $(id -u) == 0 ]] || die "apt-get needs root: install ${missing[*]}"
    apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; } \
      || die "could not install ${missing[*]}"
  fi
}

# Docs, man pages and translations stay out of the base (about 45 MB).
base_tarball() {
  local tar=$store/base-bookworm.tar
  if [[ ! -s $tar ]]; then
    mkdir -p "$store"
    log "making the Debian bookworm base with mmdebstrap ($base_packages)"
    mmdebstrap --quiet --format=tar --variant=minbase --include="$base_packages" \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      bookworm "$tar.part" \
      "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
      "deb $mirror-security bookworm-security main" </dev/null >&2
    mv "$tar.part" "$tar"
  fi
  echo "$tar"
}

base() {
  local tar
  tar=$(base_tarball)
  if ! podman image exists "$base_image" || [[ $tar -nt $store/base.imported ]]; then
    podman import --quiet "$tar" "$base_image" >/dev/null
    touch "$store/base.imported"
  fi
}

build() {
  local mounts=(-v "$ca_bundle:$ca_bundle:ro")
  local uv_cache=${UV_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/uv}
  [[ -d $uv_cache ]] && mounts+=(-v "$uv_cache:/root/.cache/uv")
  podman build --quiet --network host --layers "${mounts[@]}" \
    --build-arg "BASE_IMAGE=$base_image" --build-arg "WITH_SFSIM=${WITH_SFSIM:-false}" \
    --tag "$image" --file "$repo/Dockerfile" "$repo" >/dev/null
}

report() {
  local size digest
  size=$(podman image inspect --format '{{.Size}}' "$image")
  digest=$(podman image inspect --format '{{.Digest}}' "$image")
  echo "image:  localhost/$image (id $(podman image inspect --format '{{.Id}}' "$image" | cut -c1-12))"
  echo "size:   $((size / 1000000)) MB"
  echo "digest: $digest"
}

if [[ ${1:-} == name ]]; then
  echo "$image"
  exit 0
fi
tools
[[ -f $ca_bundle ]] || die "no CA bundle at $ca_bundle"
started=$SECONDS
base
build
report
echo "built in $((SECONDS - started)) s"
