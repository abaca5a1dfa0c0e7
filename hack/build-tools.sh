#!/usr/bin/env bash
# Builds the pinned control-plane and ACME binaries once into a cache outside
# the repo, from the Go module proxy. Prints where each binary lives.
#
#   bash hack/build-tools.sh [--cluster]
#
#   --cluster              also the rest of a single-node cluster (hack/cluster.sh):
#                          kube-controller-manager, kube-scheduler, kubelet,
#                          kube-proxy, kubectl and CoreDNS (first time: about 7 minutes
#                          on 2 cores after kube-apiserver)
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

# One wrapper module for every Kubernetes binary: the same go.mod selects the
# same dependency versions, so the packages kube-apiserver compiled are found in
# Go's build cache when kube-controller-manager, kubelet, ... are built later.
kube_module() {
  local mod=$tools/.src/kubernetes-$KUBE_VERSION imports c
  imports=$(printf 'package tools\n\nimport (\n'; for c in "${KUBE_COMMANDS[@]}"; do printf '\t_ "%s"\n' "$(kube_import "$c")"; done; printf ')\n')
  # Resolved before for the same commands: nothing to do. A new command re-resolves
  # (go.sum gains its modules; the versions selected stay the same).
  if [ -f "$mod/go.sum" ] && [ "$(cat "$mod/tools.go" 2>/dev/null)" = "$imports" ]; then printf '%s\n' "$mod"; return 0; fi
  local staging_version=v0.${KUBE_VERSION#v1.}
  mkdir -p "$mod"
  # k8s.io/kubernetes points its staging modules at ./staging; outside its own
  # repo each must be replaced by the published v0.x release of the same code.
  local gomod_file
  gomod_file=$(cd "$mod" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    printf 'module certkeeper.dev/tools/kubernetes\n\ngo 1.24\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBE_VERSION"
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod_file" | while read -r m; do
      printf '\t%s => %s %s\n' "$m" "$m" "$staging_version"
    done
    printf ')\n'
  } > "$mod/go.mod"
  printf '%s\n' "$imports" > "$mod/tools.go"
  log "kubernetes $KUBE_VERSION: resolving modules"
  (cd "$mod" && go mod tidy 2>&1 | tail -5 >&2)
  [ -f "$mod/go.sum" ] || { log "kubernetes $KUBE_VERSION: go mod tidy failed"; rm -rf "$mod"; exit 1; }
  printf '%s\n' "$mod"
}
KUBE_COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
# A package each command's main imports, for go mod tidy (a main package cannot be imported).
kube_import() {
  case $1 in
    kubectl) printf 'k8s.io/kubectl/pkg/cmd' ;;
    *) printf 'k8s.io/kubernetes/cmd/%s/app' "$1" ;;
  esac
}

kube_ldflags() {
  local v=${KUBE_VERSION#v} cb=k8s.io/component-base/version
  local minor=${v#*.}; minor=${minor%%.*}
  local ld="-s -w -X $cb.gitVersion=$KUBE_VERSION -X $cb.gitMajor=1 -X $cb.gitMinor=$minor -X $cb.gitTreeState=clean -X $cb.buildDate=1970-01-01T00:00:00Z"
  printf '%s' "$ld -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
}

build_kube_command() { # name [first-time note]
  local name=$1 out=$tools/kube-apiserver-$KUBE_VERSION/$1
  [ "$name" = kube-apiserver ] || out=$tools/kubernetes-$KUBE_VERSION/$name
  [ -x "$out" ] && return 0
  log "building $name $KUBE_VERSION (first time only${2:+: $2})"
  local mod
  mod=$(kube_module)
  local start=$SECONDS
  build_in_module "$name" "$mod" "$out" "k8s.io/kubernetes/cmd/$name" "$(kube_ldflags)"
  log "$name: built in $((SECONDS - start))s"
}

build_kube_apiserver() { build_kube_command kube-apiserver "several minutes on 2 cores"; }

# The rest of a node and its control plane, for hack/cluster.sh. Built one by
# one so each is cached as soon as it is done and its time is shown.
build_cluster_components() {
  build_kube_command kube-controller-manager "a few minutes once kube-apiserver is built"
  build_kube_command kube-scheduler
  build_kube_command kube-proxy
  build_kube_command kubelet
  # The cluster's own kubectl, the same version: scripts and tests do not depend on one being installed.
  build_kube_command kubectl
}

# CoreDNS: cluster DNS for pods. Its go.mod has no replace directives, so
# go install of the tagged module works as is.
build_coredns() {
  local dir=$tools/coredns-$COREDNS_VERSION
  [ -x "$dir/coredns" ] && return 0
  log "building coredns $COREDNS_VERSION (first time only: a few minutes on 2 cores)"
  local tmp start=$SECONDS
  tmp=$(mktemp -d "$tools/.build-coredns.XXXXXX")
  if ! GOBIN=$tmp CGO_ENABLED=0 go install -v -trimpath -ldflags "-s -w" \
    "github.com/coredns/coredns@$COREDNS_VERSION" 2>&1 | progress coredns; then
    rm -rf "$tmp"; log "coredns: build failed"; exit 1
  fi
  mkdir -p "$dir" && mv "$tmp/coredns" "$dir/" && rm -rf "$tmp"
  log "coredns: built in $((SECONDS - start))s"
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
  local etcd apiserver cluster=false
  case ${1:-} in
    --cluster) cluster=true ;;
    '') ;;
    *) log "unknown argument: $1 (usage: build-tools.sh [--cluster])"; exit 2 ;;
  esac
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
  local node_pq sslyze
  node_pq=$(bash "$here/install-node-pq.sh")
  sslyze=$(bash "$here/install-sslyze.sh")
  # Machine-readable summary for the TypeScript environment code.
  printf 'ETCD_BIN=%s\nKUBE_APISERVER_BIN=%s\nPEBBLE_BIN=%s\nCHALLTESTSRV_BIN=%s\nHELM_BIN=%s\nNODE_PQ_BIN=%s\nSSLYZE_PYTHON=%s\n' \
    "$etcd" "$apiserver" "$tools/pebble-$PEBBLE_VERSION/pebble" "$tools/pebble-$PEBBLE_VERSION/pebble-challtestsrv" \
    "$tools/helm-$HELM_VERSION/helm" "$node_pq" "$sslyze"
  if [ "$cluster" = true ]; then
    build_cluster_components
    build_coredns
    local k=$tools/kubernetes-$KUBE_VERSION
    printf 'KUBE_CONTROLLER_MANAGER_BIN=%s\nKUBE_SCHEDULER_BIN=%s\nKUBELET_BIN=%s\nKUBE_PROXY_BIN=%s\nKUBECTL_BIN=%s\nCOREDNS_BIN=%s\n' \
      "$k/kube-controller-manager" "$k/kube-scheduler" "$k/kubelet" "$k/kube-proxy" "$k/kubectl" "$tools/coredns-$COREDNS_VERSION/coredns"
  fi
}
main "$@"
