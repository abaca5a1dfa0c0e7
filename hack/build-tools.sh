#!/usr/bin/env bash
# Builds the pinned control-plane and ACME binaries once into a cache outside
# the repo, from the Go module proxy. Prints where each binary lives.
#
#   CERTKEEPER_TOOLS_DIR   cache root (default ~/.cache/certkeeper/tools)
#   KUBEBUILDER_ASSETS     a folder with prebuilt etcd + kube-apiserver: used as is
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
tools=${CERTKEEPER_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/certkeeper/tools}
mkdir -p "$tools"

log() { printf '[build-tools] %s\n' "$*" >&2; }

# go build -v names each package as it compiles it; a running count tells a
# newcomer the first (multi-minute) build is alive without flooding the screen.
progress() {
  local name=$1 n=0 start=$SECONDS line
  while IFS= read -r line; do
    case $line in
      # package names are bare import paths; anything else is go talking to a human
      '#'*|*' '*) printf '%s\n' "$line" >&2 ;;
    esac
    n=$((n + 1))
    if (( n % 100 == 0 )); then log "$name: $n packages compiled ($((SECONDS - start))s)"; fi
  done
  log "$name: $n packages compiled in $((SECONDS - start))s"
}

# Builds in a scratch module and moves the result into place only when
# complete, so an interrupted build never leaves a half-written binary cached.
build_in_module() {
  local name=$1 dir=$2 out=$3 pkg=$4 ldflags=${5:-}
  local tmp
  tmp=$(mktemp -d "$tools/.build-$name.XXXXXX")
  # Tested in an if: under set -e a bare failing pipeline would exit before the cleanup.
  if ! (cd "$dir" && CGO_ENABLED=0 go build -v -trimpath -ldflags "$ldflags" -o "$tmp/$name" "$pkg") 2>&1 | progress "$name"; then
    rm -rf "$tmp"; log "$name: build failed"; exit 1
  fi
  mkdir -p "$(dirname "$out")"
  mv "$tmp/$name" "$out"
  rm -rf "$tmp"
}

build_etcd() {
  local out=$tools/etcd-$ETCD_VERSION/etcd
  [ -x "$out" ] && return 0
  log "building etcd $ETCD_VERSION (first time only)"
  local mod=$tools/.src/etcd-$ETCD_VERSION
  mkdir -p "$mod"
  cat > "$mod/go.mod" <<MOD
module certkeeper.dev/tools/etcd

go 1.24

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
MOD
  printf 'package tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$mod/tools.go"
  (cd "$mod" && go mod tidy >/dev/null 2>&1 || go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION")
  build_in_module etcd "$mod" "$out" go.etcd.io/etcd/server/v3 \
    "-X go.etcd.io/etcd/api/v3/version.GitSHA=certkeeper"
}

build_kube_apiserver() {
  local out=$tools/kube-apiserver-$KUBE_VERSION/kube-apiserver
  [ -x "$out" ] && return 0
  log "building kube-apiserver $KUBE_VERSION (first time only: several minutes on 2 cores)"
  local mod=$tools/.src/kube-apiserver-$KUBE_VERSION
  local staging_version=v0.${KUBE_VERSION#v1.}
  mkdir -p "$mod"
  # k8s.io/kubernetes points its staging modules at ./staging; outside its own
  # repo each must be replaced by the published v0.x release of the same code.
  local gomod_file
  gomod_file=$(cd "$mod" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    printf 'module certkeeper.dev/tools/kube-apiserver\n\ngo 1.24\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBE_VERSION"
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod_file" | while read -r m; do
      printf '\t%s => %s %s\n' "$m" "$m" "$staging_version"
    done
    printf ')\n'
  } > "$mod/go.mod"
  printf 'package tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n' > "$mod/tools.go"
  log "kube-apiserver: resolving modules"
  (cd "$mod" && go mod tidy 2>&1 | tail -5 >&2)
  local v=${KUBE_VERSION#v} cb=k8s.io/component-base/version
  local minor=${v#*.}; minor=${minor%%.*}
  local ld="-s -w -X $cb.gitVersion=$KUBE_VERSION -X $cb.gitMajor=1 -X $cb.gitMinor=$minor -X $cb.gitTreeState=clean -X $cb.buildDate=1970-01-01T00:00:00Z"
  ld="$ld -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  build_in_module kube-apiserver "$mod" "$out" k8s.io/kubernetes/cmd/kube-apiserver "$ld"
}

build_pebble() {
  local dir=$tools/pebble-$PEBBLE_VERSION
  [ -x "$dir/pebble" ] && [ -x "$dir/pebble-challtestsrv" ] && return 0
  log "building pebble + pebble-challtestsrv $PEBBLE_VERSION"
  local tmp
  tmp=$(mktemp -d "$tools/.build-pebble.XXXXXX")
  if ! GOBIN=$tmp CGO_ENABLED=0 go install -v -trimpath \
    "github.com/letsencrypt/pebble/v2/cmd/pebble@$PEBBLE_VERSION" \
    "github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv@$PEBBLE_VERSION" 2>&1 | progress pebble; then
    rm -rf "$tmp"; log "pebble: build failed"; exit 1
  fi
  mkdir -p "$dir" && mv "$tmp"/pebble "$tmp"/pebble-challtestsrv "$dir/" && rm -rf "$tmp"
}

# helm renders, lints and installs the chart in the chart and RBAC tests.
build_helm() {
  local dir=$tools/helm-$HELM_VERSION
  [ -x "$dir/helm" ] && return 0
  log "building helm $HELM_VERSION (first time only: a few minutes on 2 cores)"
  local tmp
  tmp=$(mktemp -d "$tools/.build-helm.XXXXXX")
  if ! GOBIN=$tmp CGO_ENABLED=0 go install -v -trimpath -ldflags "-s -w" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" 2>&1 | progress helm; then
    rm -rf "$tmp"; log "helm: build failed"; exit 1
  fi
  mkdir -p "$dir" && mv "$tmp/helm" "$dir/" && rm -rf "$tmp"
}

main() {
  local etcd apiserver
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/etcd" ] && [ -x "$KUBEBUILDER_ASSETS/kube-apiserver" ]; then
    log "using prebuilt etcd and kube-apiserver from KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
    etcd=$KUBEBUILDER_ASSETS/etcd
    apiserver=$KUBEBUILDER_ASSETS/kube-apiserver
  else
    build_etcd
    build_kube_apiserver
    etcd=$tools/etcd-$ETCD_VERSION/etcd
    apiserver=$tools/kube-apiserver-$KUBE_VERSION/kube-apiserver
  fi
  build_pebble
  build_helm
  # Machine-readable summary for the TypeScript environment code.
  printf 'ETCD_BIN=%s\nKUBE_APISERVER_BIN=%s\nPEBBLE_BIN=%s\nCHALLTESTSRV_BIN=%s\nHELM_BIN=%s\n' \
    "$etcd" "$apiserver" "$tools/pebble-$PEBBLE_VERSION/pebble" "$tools/pebble-$PEBBLE_VERSION/pebble-challtestsrv" \
    "$tools/helm-$HELM_VERSION/helm"
}
main "$@"
