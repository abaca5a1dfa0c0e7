#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine, for the e2e tier and
# the cluster demo: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kube-proxy (built from the same sources as the
# quick tier's kube-apiserver), containerd + runc + CNI plugins (Debian),
# CoreDNS as a pod. Images are built with buildah and imported; nothing pulls.
#
#   bash hack/cluster.sh up       build what is missing, start the cluster, write .dev/env
#   bash hack/cluster.sh status   what runs and whether the node and cluster DNS are Ready
#   bash hack/cluster.sh down     stop everything and remove what 'up' made
#
# One cluster per machine (it owns node-wide things: a bridge, iptables chains,
# cgroups): state in /var/lib/certkeeper-cluster, runtime files in
# /run/certkeeper-cluster. 'up' first removes whatever a crashed or killed
# earlier cluster left behind; a failing 'up' tears down what it started.
# Needs root. Addresses (none of them leave the machine):
#   node   10.245.0.1 on bridge ck-br0 (apiserver :6443, etcd :2379, kubelet :10250)
#   pods   10.244.0.0/24 on ck-br0 (gateway 10.244.0.1)
#   Services 10.96.0.0/16 (kubernetes 10.96.0.1, cluster DNS 10.96.0.10, Pebble 10.96.0.20)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
# shellcheck source=versions.env
source hack/versions.env

CLUSTER_STATE=/var/lib/certkeeper-cluster
CLUSTER_RUN=/run/certkeeper-cluster
NODE_DIR=$CLUSTER_STATE/node          # everything of one 'up': PKI, etcd, kubelet, logs; removed by 'down'
PKI=$NODE_DIR/pki
LOGS=$NODE_DIR/logs
PIDS=$CLUSTER_RUN/pids
NODE_NAME=certkeeper-node
NODE_IP=10.245.0.1
BRIDGE=ck-br0
POD_GATEWAY=10.244.0.1
POD_SUBNET=10.244.0.0/24
CLUSTER_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/16
KUBERNETES_SERVICE_IP=10.96.0.1
DNS_SERVICE_IP=10.96.0.10
PEBBLE_SERVICE_IP=10.96.0.20
APISERVER_URL=https://$NODE_IP:6443
CONTAINERD_SOCK=$CLUSTER_RUN/containerd.sock
CTR=(ctr --address "$CONTAINERD_SOCK" --namespace k8s.io)
DEV_ENV=$REPO/.dev/env
ADMIN_KUBECONFIG=$NODE_DIR/admin.kubeconfig
# Chains this cluster's components create (kube-proxy, kubelet, CNI plugins, this script).
CHAIN_PREFIXES='KUBE-|CNI-|CERTKEEPER-'

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { printf '[cluster] error: %s\n' "$*" >&2; exit 1; }
# The cluster's own kubectl (hack/build-tools.sh --cluster); one on PATH only
# before the first build, e.g. for 'down' of a cluster started from another checkout.
KUBECTL=${CERTKEEPER_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/certkeeper/tools}/kubernetes-$KUBE_VERSION/kubectl
[ -x "$KUBECTL" ] || KUBECTL=kubectl
kubectl_admin() { "$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

# shellcheck source=cluster/images.sh
source hack/cluster/images.sh
# shellcheck source=cluster/teardown.sh
source hack/cluster/teardown.sh
# shellcheck source=cluster/node.sh
source hack/cluster/node.sh

# Pods that are not Ready, with their last log lines: why an add-on did not come up.
dump_pods() {
  https_ok "$APISERVER_URL/readyz" >/dev/null 2>&1 || return 0
  {
    kubectl_admin get pods -A -o wide
    kubectl_admin get pods -A --no-headers 2>/dev/null | awk '{split($3, r, "/"); if (r[1] != r[2]) print $1, $2}' | while read -r ns pod; do
      echo "--- $ns/$pod"; kubectl_admin logs -n "$ns" "$pod" --all-containers --tail=20 2>&1
    done
  } > "$LOGS/pods.txt" 2>&1 || true
  sed 's/^/[cluster]   /' "$LOGS/pods.txt" | head -40 >&2
}

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

cmd_up() {
  local start=$SECONDS
  preflight
  if cluster_healthy; then
    log "cluster is already up (bash hack/cluster.sh status; down to stop it)"
    # Started from another checkout: this one gets its own .dev/env for it.
    if ! grep -q '^export CERTKEEPER_CLUSTER=1' "$DEV_ENV" 2>/dev/null; then
      eval "$(bash hack/build-tools.sh --cluster | grep -E '^[A-Z_]+_BIN=')"
      write_dev_env
      log "wrote $DEV_ENV"
    fi
    return 0
  fi
  if leftovers_present; then
    log "found what an earlier cluster left behind (crashed or killed): removing it first"
    teardown
    log "removed in $((SECONDS - start))s; $(leftover_report)"
    start=$SECONDS
  fi
  # From here on a failure or Ctrl-C removes everything this 'up' started.
  trap 'status=$?; trap - EXIT INT TERM; if [ "$status" -ne 0 ]; then log "up failed: tearing down what it started (logs kept in $CLUSTER_STATE/last-logs)"; dump_pods; teardown; fi; exit "$status"' EXIT
  trap 'exit 130' INT TERM
  mkdir -p "$NODE_DIR" "$CLUSTER_RUN" "$PIDS" "$LOGS"
  log "building tools if needed (hack/build-tools.sh --cluster)"
  local tools_out
  tools_out=$(bash hack/build-tools.sh --cluster) || die "hack/build-tools.sh --cluster failed (its output is above)"
  eval "$(printf '%s\n' "$tools_out" | grep -E '^[A-Z_]+_BIN=')"
  KUBECTL=$KUBECTL_BIN
  local built=$SECONDS
  setup_network
  write_pki
  write_configs
  start_containerd
  ensure_images
  local images_done=$SECONDS
  start_control_plane
  start_node
  install_addons
  write_dev_env
  trap - EXIT INT TERM
  log "cluster is up: $((SECONDS - start))s in all (tools $((built - start))s, images $((images_done - built))s, start $((SECONDS - images_done))s)"
  printf 'Use it:\n  source .dev/env\n  kubectl get nodes,pods -A\nStop: bash hack/cluster.sh down\n'
}

# Every component running and the API and node answering.
cluster_healthy() {
  local name pid
  for name in "${PROCESS_ORDER[@]}"; do
    pid=$(cat "$PIDS/$name.pid" 2>/dev/null) || return 1
    alive "$pid" || return 1
  done
  https_ok "$APISERVER_URL/readyz" >/dev/null 2>&1 && node_ready
}

cmd_down() {
  [ "$(id -u)" -eq 0 ] || die "run as root: the cluster's mounts, cgroups and network belong to root"
  if ! leftovers_present; then
    log "no cluster is running and nothing is left behind"
    rm_dev_env
    return 0
  fi
  teardown
  rm_dev_env
  log "cluster is down; $(leftover_report)"
}

cmd_status() {
  local name pid code=0
  if [ ! -d "$PIDS" ]; then echo "certkeeper cluster: down"; leftovers_present && echo "  (leftovers of an earlier cluster: bash hack/cluster.sh down removes them)"; return 3; fi
  echo "certkeeper cluster:"
  for name in "${PROCESS_ORDER[@]}"; do
    pid=$(cat "$PIDS/$name.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && alive "$pid"; then printf '  running  %-24s pid %s\n' "$name" "$pid"
    else printf '  STOPPED  %s\n' "$name"; code=1; fi
  done
  if kubectl_admin get --raw /readyz >/dev/null 2>&1; then
    kubectl_admin get nodes -o wide 2>&1 | sed 's/^/  /'
    kubectl_admin get pods -n kube-system -o wide 2>&1 | sed 's/^/  /'
    kubectl_admin get pods -n pebble -o wide --no-headers 2>&1 | sed 's/^/  /'
  else
    echo "  FAILING  kube-apiserver $APISERVER_URL/readyz"; code=1
  fi
  return $code
}

# One command at a time: an 'up' and a 'down' racing would each tear down half of the other.
take_lock() {
  [ "$(id -u)" -eq 0 ] || die "run as root: kubelet, containerd, the bridge, iptables, mounts and cgroups need it"
  exec 9> /run/lock/certkeeper-cluster.lock
  flock -n 9 || die "another 'hack/cluster.sh up' or 'down' is running"
}

case ${1:-} in
  up) take_lock; cmd_up ;;
  down) take_lock; cmd_down ;;
  status) cmd_status ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
