# shellcheck shell=bash
# Images for the cluster, built with buildah and imported into containerd,
# because no registry is reachable: pods never pull (imagePullPolicy
# IfNotPresent/Never and images already in containerd's k8s.io namespace).
#
#   localhost/certkeeper-pause:1.0     the sandbox image: hack/cluster/pause.c, static, FROM scratch
#   localhost/certkeeper:<version>     the operator, by hack/build-image.sh (the chart's default image)
#   localhost/certkeeper-nginx:1       Debian's nginx on the Debian base hack/build-image.sh made
#   localhost/certkeeper-pebble:<v>    pebble + pebble-challtestsrv, static Go binaries, FROM scratch
#   localhost/certkeeper-coredns:<v>   CoreDNS, static, FROM scratch
#
# Each image is written once as a docker-archive under $IMAGE_CACHE with a key
# file (what it was built from); a changed key rebuilds it, and an archive is
# imported again only when containerd's copy came from another key.
# Sourced by hack/cluster.sh, which defines log, die, CTR, CLUSTER_STATE and the tool paths.

IMAGE_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/certkeeper/cluster-images
BUILDAH_STORAGE_CONF=${XDG_CACHE_HOME:-$HOME/.cache}/certkeeper/image/storage.conf
PAUSE_IMAGE=localhost/certkeeper-pause:1.0
NGINX_IMAGE=localhost/certkeeper-nginx:1
DEBIAN_BASE=localhost/certkeeper-base:bookworm

operator_image() { printf 'localhost/certkeeper:%s' "$(node -p 'require("./package.json").version')"; }
pebble_image() { printf 'localhost/certkeeper-pebble:%s' "$PEBBLE_VERSION"; }
coredns_image() { printf 'localhost/certkeeper-coredns:%s' "$COREDNS_VERSION"; }

# What the operator image is built from: a change to any of these files means a new image.
operator_key() {
  { git ls-files -z -- src package.json package-lock.json tsconfig.json tsconfig.build.json hack/build.ts Dockerfile bin \
      | xargs -0 sha256sum; } | sha256sum | cut -d' ' -f1
}

files_key() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

# buildah from scratch + static binaries -> committed image -> docker-archive.
scratch_image() { # image archive entrypoint-json file...
  local image=$1 archive=$2 entrypoint=$3; shift 3
  local c
  c=$(buildah from scratch)
  # shellcheck disable=SC2064 # the container id is fixed now
  trap "buildah rm $c >/dev/null 2>&1 || true" RETURN
  local f
  for f in "$@"; do buildah copy --quiet "$c" "$f" "/$(basename "$f")" >/dev/null; done
  buildah config --entrypoint "$entrypoint" --user 65532:65532 "$c"
  buildah commit --quiet "$c" "$image" >/dev/null
  write_archive "$image" "$archive"
}

write_archive() { # image archive
  rm -f "$2.tmp"
  buildah push --quiet "$1" "docker-archive:$2.tmp:$1" >/dev/null
  mv "$2.tmp" "$2"
}

build_pause() {
  local out=$1 tmp
  tmp=$(mktemp -d)
  gcc -Os -static -o "$tmp/pause" "$REPO/hack/cluster/pause.c" || die "cannot compile the pause binary (gcc with static glibc: Debian build-essential)"
  strip "$tmp/pause"
  scratch_image "$PAUSE_IMAGE" "$out" '["/pause"]' "$tmp/pause"
  rm -rf "$tmp"
}

build_pebble_image() {
  scratch_image "$(pebble_image)" "$1" '["/pebble"]' "$PEBBLE_BIN" "$CHALLTESTSRV_BIN"
}

build_coredns_image() {
  scratch_image "$(coredns_image)" "$1" '["/coredns"]' "$COREDNS_BIN"
}

build_nginx() {
  local out=$1 c
  buildah inspect --type image "$DEBIAN_BASE" >/dev/null 2>&1 || die "$DEBIAN_BASE is missing: hack/build-image.sh makes it"
  c=$(buildah from --pull=never "$DEBIAN_BASE")
  # shellcheck disable=SC2064
  trap "buildah rm $c >/dev/null 2>&1 || true" RETURN
  buildah run --isolation chroot --network host "$c" -- sh -c \
    'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null \
     && apt-get clean && rm -rf /var/lib/apt/lists/* && rm -f /etc/nginx/sites-enabled/default' \
    || die "apt-get install nginx in the image failed"
  # The base's command is bash; nginx replaces it (an entrypoint would get bash as an argument).
  buildah config --cmd '["nginx", "-g", "daemon off;"]' "$c"
  buildah commit --quiet "$c" "$NGINX_IMAGE" >/dev/null
  write_archive "$NGINX_IMAGE" "$out"
}

build_operator() {
  log "building the operator image (hack/build-image.sh; log: $IMAGE_CACHE/build-image.log)"
  bash "$REPO/hack/build-image.sh" --archive "$1.tmp" > "$IMAGE_CACHE/build-image.log" 2>&1 \
    || { tail -n 20 "$IMAGE_CACHE/build-image.log" >&2; die "hack/build-image.sh failed (log: $IMAGE_CACHE/build-image.log)"; }
  # build-image.sh names the archive's image certkeeper:<version>; the chart wants localhost/certkeeper.
  write_archive "$(operator_image)" "$1"
  rm -f "$1.tmp"
}

# Builds (when its key changed) and imports (when containerd's copy is not from this key) one image.
ensure_image() { # name key builder
  local name=$1 key=$2 builder=$3
  local archive=$IMAGE_CACHE/$name.tar keyfile=$IMAGE_CACHE/$name.key imported=$CLUSTER_STATE/images/$name.key
  if [ ! -s "$archive" ] || [ "$(cat "$keyfile" 2>/dev/null)" != "$key" ]; then
    local start=$SECONDS
    log "image $name: building"
    "$builder" "$archive"
    printf '%s\n' "$key" > "$keyfile"
    log "image $name: built in $((SECONDS - start))s"
  fi
  if [ "$(cat "$imported" 2>/dev/null)" != "$key" ]; then
    "${CTR[@]}" images import "$archive" >/dev/null 2>"$CLUSTER_STATE/images/$name.err" \
      || die "ctr images import $archive failed: $(cat "$CLUSTER_STATE/images/$name.err")"
    mkdir -p "$CLUSTER_STATE/images"
    printf '%s\n' "$key" > "$imported"
    log "image $name: imported into containerd"
  fi
}

ensure_images() {
  mkdir -p "$IMAGE_CACHE" "$CLUSTER_STATE/images"
  export CONTAINERS_STORAGE_CONF=$BUILDAH_STORAGE_CONF
  # The operator first: hack/build-image.sh also makes the Debian base nginx builds on.
  ensure_image operator "$(operator_key)" build_operator
  ensure_image pause "$(files_key "$REPO/hack/cluster/pause.c")" build_pause
  ensure_image nginx "nginx-2 $(buildah inspect --type image --format '{{.FromImageID}}' "$DEBIAN_BASE" 2>/dev/null)" build_nginx
  ensure_image pebble "$(files_key "$PEBBLE_BIN" "$CHALLTESTSRV_BIN")" build_pebble_image
  ensure_image coredns "$(files_key "$COREDNS_BIN")" build_coredns_image
}
