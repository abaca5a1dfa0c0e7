# shellcheck shell=bash
# Bringing the node up: checks, network, PKI, configs, processes, add-ons.
# Sourced by hack/cluster.sh (which defines the paths and addresses).

CHANGED_SYSCTLS=(net.ipv4.ip_forward vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes)

# Start order; 'down' stops them in reverse.
PROCESS_ORDER=(containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

# --- checks ------------------------------------------------------------------
# Each missing piece is named once, with what provides it; nothing here waits.
preflight() {
  local missing=() t
  [ "$(id -u)" -eq 0 ] || die "run as root: kubelet, containerd, the bridge and iptables need it"
  for t in containerd containerd-shim-runc-v2 ctr runc iptables iptables-save ip6tables buildah gcc openssl curl node conntrack nft; do
    command -v "$t" >/dev/null || missing+=("$t")
  done
  for t in bridge host-local loopback portmap; do [ -x "/usr/lib/cni/$t" ] || missing+=("CNI plugin /usr/lib/cni/$t"); done
  [ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} (install the Debian packages with: bash hack/install-deps.sh)"
  grep -qw overlay /proc/filesystems || die "kernel feature missing: overlayfs (containerd's overlayfs snapshotter needs it)"
  [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] || die "kernel feature missing: br_netfilter (Service traffic between pods on the bridge must pass iptables)"
  for t in cpu cpuacct cpuset memory pids devices freezer; do
    [ -d "/sys/fs/cgroup/$t" ] || [ -f /sys/fs/cgroup/cgroup.controllers ] || die "kernel feature missing: cgroup controller '$t' is not mounted under /sys/fs/cgroup"
  done
  ip link del ck-probe0 2>/dev/null || true   # left by a check that was killed half-way
  ip link add ck-probe0 type veth peer name ck-probe1 2>/dev/null || die "kernel feature missing: veth (pods are joined to the bridge by veth pairs)"
  ip link del ck-probe0
  ip link add ck-probe0 type bridge 2>/dev/null || die "kernel feature missing: bridge"
  ip link del ck-probe0
  iptables -t nat -S >/dev/null 2>&1 || die "kernel feature missing: iptables nat table (nf_tables with nat; kube-proxy needs it)"
  if [ -f "$REPO/.dev/state.json" ]; then
    die "hack/dev-env.sh's environment is up in this worktree and owns .dev/env: bash hack/dev-env.sh down first"
  fi
}

# --- processes ---------------------------------------------------------------
start_process() { # name binary args...
  local name=$1; shift
  # fd 9 is the command lock: a daemon that kept it would block every later up/down.
  setsid "$@" > "$LOGS/$name.log" 2>&1 < /dev/null 9>&- &
  printf '%s\n' "$!" > "$PIDS/$name.pid"
}

# Polls `check` until it succeeds; fails at once, with the log's tail, when the
# process it waits for dies, and after `timeout` seconds otherwise.
wait_for() { # description process timeout check...
  local what=$1 name=$2 timeout=$3; shift 3
  local deadline=$((SECONDS + timeout)) pid
  pid=$(cat "$PIDS/$name.pid")
  until "$@" >/dev/null 2>&1; do
    if ! alive "$pid"; then
      tail -n 25 "$LOGS/$name.log" >&2
      die "$name exited while waiting for $what (log: $LOGS/$name.log)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 25 "$LOGS/$name.log" >&2
      die "timed out after ${timeout}s waiting for $what (log: $LOGS/$name.log)"
    fi
    sleep 0.3
  done
}

# --- network -----------------------------------------------------------------
setup_network() {
  # What this cluster changes machine-wide, restored by 'down': ip_forward, and
  # what kubelet sets at start when protectKernelDefaults is off (the default).
  local key
  for key in "${CHANGED_SYSCTLS[@]}"; do printf '%s=%s\n' "$key" "$(sysctl -n "$key")"; done > "$CLUSTER_RUN/sysctl.before"
  sysctl -qw net.ipv4.ip_forward=1
  # The node's address lives on the pod bridge (there is no dummy device on
  # these kernels); pods reach it through their gateway, the host directly.
  ip link add "$BRIDGE" type bridge
  ip addr add "$POD_GATEWAY/24" dev "$BRIDGE"
  ip addr add "$NODE_IP/32" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # Pods may talk to each other, to the node and to Services, never past this
  # machine: forwarded traffic from the pod range that would leave by another
  # interface is dropped.
  iptables -N CERTKEEPER-EGRESS
  iptables -A CERTKEEPER-EGRESS -s "$CLUSTER_CIDR" ! -o "$BRIDGE" -j DROP
  iptables -I FORWARD 1 -j CERTKEEPER-EGRESS
}

# --- PKI ---------------------------------------------------------------------
issue() { # name subject ext-file-contents
  local name=$1 subject=$2 ext=$3
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$name.key" 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subject" -out "$PKI/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" > "$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 30 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

CLIENT_EXT='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth'

write_pki() {
  mkdir -p "$PKI"; chmod 700 "$PKI"
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=certkeeper-cluster-ca" -days 30 \
    -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature' \
    -out "$PKI/ca.crt" 2>/dev/null
  issue apiserver "/CN=kube-apiserver" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:$NODE_IP,IP:$KUBERNETES_SERVICE_IP,IP:127.0.0.1"
  issue kubelet-serving "/CN=$NODE_NAME" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:$NODE_NAME,IP:$NODE_IP"
  issue pebble "/CN=pebble" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:pebble,DNS:pebble.pebble,DNS:pebble.pebble.svc,DNS:pebble.pebble.svc.cluster.local,IP:$PEBBLE_SERVICE_IP"
  issue admin "/O=system:masters/CN=certkeeper-admin" "$CLIENT_EXT"
  issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$CLIENT_EXT"
  issue controller-manager "/CN=system:kube-controller-manager" "$CLIENT_EXT"
  issue scheduler "/CN=system:kube-scheduler" "$CLIENT_EXT"
  issue kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "$CLIENT_EXT"
  issue kube-proxy "/CN=system:kube-proxy" "$CLIENT_EXT"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key" 2>/dev/null
  openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  chmod 600 "$PKI"/*.key
  local who
  for who in admin controller-manager scheduler kubelet kube-proxy; do
    write_kubeconfig "$NODE_DIR/$who.kubeconfig" "$who"
  done
}

write_kubeconfig() { # path cert-name
  local b64='base64 -w0'
  cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: certkeeper-cluster
  cluster:
    server: $APISERVER_URL
    certificate-authority-data: $($b64 < "$PKI/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $($b64 < "$PKI/$2.crt")
    client-key-data: $($b64 < "$PKI/$2.key")
contexts:
- name: certkeeper-cluster
  context: {cluster: certkeeper-cluster, user: $2}
current-context: certkeeper-cluster
EOF
  chmod 600 "$1"
}

# --- configs -----------------------------------------------------------------
write_configs() {
  mkdir -p "$NODE_DIR/cni/net.d" "$NODE_DIR/kubelet" "$NODE_DIR/pod-logs" "$CLUSTER_STATE/containerd"
  # containerd: its own root, state and socket, so nothing collides with a
  # containerd of the machine; network namespaces under its state dir, so
  # 'down' finds exactly its own.
  cat > "$NODE_DIR/containerd.toml" <<EOF
version = 2
root = "$CLUSTER_STATE/containerd"
state = "$CLUSTER_RUN/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CLUSTER_STATE/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  # These machines do not let root lower oom_score_adj (no CAP_SYS_RESOURCE):
  # clamp it to containerd's own value instead of failing every container.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$CLUSTER_RUN/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_DIR/cni/net.d"
EOF
  # No ipMasq: nothing in a pod has anywhere to go past the node.
  cat > "$NODE_DIR/cni/net.d/10-certkeeper.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "certkeeper",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$NODE_DIR/cni/ipam",
        "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$POD_GATEWAY"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  # Pods with dnsPolicy Default (CoreDNS itself) get no upstream resolver:
  # nothing may be resolved past the cluster.
  printf '# certkeeper cluster: no upstream DNS\nsearch cluster.local\n' > "$NODE_DIR/resolv.conf"
  cat > "$NODE_DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: $NODE_IP
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: AlwaysAllow}
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
# These machines mount cgroup v1 controllers; kubelet 1.34 still runs there when told to.
cgroupDriver: cgroupfs
failCgroupV1: false
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
clusterDNS: [$DNS_SERVICE_IP]
clusterDomain: cluster.local
resolvConf: $NODE_DIR/resolv.conf
podLogsDir: $NODE_DIR/pod-logs
failSwapOn: false
# Imported images can never be pulled again: never garbage-collect them, and
# do not evict pods on a fairly full disk.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
serializeImagePulls: false
# Secret volumes follow a renewal within seconds rather than a minute.
syncFrequency: 10s
maxPods: 60
EOF
  cat > "$NODE_DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $NODE_DIR/kube-proxy.kubeconfig}
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $CLUSTER_CIDR
bindAddress: $NODE_IP
healthzBindAddress: $NODE_IP:10256
metricsBindAddress: $NODE_IP:10249
nodePortAddresses: ["$NODE_IP/32"]
# Leave the machine's conntrack and route_localnet settings alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {localhostNodePorts: false, syncPeriod: 30s, minSyncPeriod: 1s}
EOF
}

# --- starting ----------------------------------------------------------------
https_ok() { curl -sf --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$1"; }

start_containerd() {
  log "starting containerd $(containerd --version | awk '{print $3}')"
  start_process containerd containerd --config "$NODE_DIR/containerd.toml"
  wait_for "containerd's socket" containerd 30 "${CTR[@]}" version
}

start_control_plane() {
  log "starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler"
  start_process etcd "$ETCD_BIN" --name=certkeeper-cluster --data-dir="$NODE_DIR/etcd" \
    --listen-client-urls="http://$NODE_IP:2379" --advertise-client-urls="http://$NODE_IP:2379" \
    --listen-peer-urls="http://$NODE_IP:2380" --initial-advertise-peer-urls="http://$NODE_IP:2380" \
    --initial-cluster="certkeeper-cluster=http://$NODE_IP:2380" --listen-metrics-urls="http://$NODE_IP:2381" \
    --unsafe-no-fsync=true --log-level=warn
  wait_for "etcd /health" etcd 30 curl -sf "http://$NODE_IP:2379/health"
  start_process kube-apiserver "$KUBE_APISERVER_BIN" --etcd-servers="http://$NODE_IP:2379" \
    --bind-address="$NODE_IP" --advertise-address="$NODE_IP" --secure-port=6443 \
    --cert-dir="$NODE_DIR/apiserver-certs" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" --client-ca-file="$PKI/ca.crt" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP --allow-privileged=true --profiling=false
  wait_for "kube-apiserver /readyz" kube-apiserver 90 https_ok "$APISERVER_URL/readyz"
  start_process kube-controller-manager "$KUBE_CONTROLLER_MANAGER_BIN" \
    --kubeconfig="$NODE_DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$NODE_DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$NODE_DIR/controller-manager.kubeconfig" \
    --bind-address="$NODE_IP" --secure-port=10257 --leader-elect=false \
    --use-service-account-credentials=true --service-account-private-key-file="$PKI/sa.key" \
    --root-ca-file="$PKI/ca.crt" --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --cluster-cidr="$CLUSTER_CIDR" --service-cluster-ip-range="$SERVICE_CIDR" --profiling=false
  start_process kube-scheduler "$KUBE_SCHEDULER_BIN" --kubeconfig="$NODE_DIR/scheduler.kubeconfig" \
    --authentication-kubeconfig="$NODE_DIR/scheduler.kubeconfig" --authorization-kubeconfig="$NODE_DIR/scheduler.kubeconfig" \
    --bind-address="$NODE_IP" --secure-port=10259 --leader-elect=false --profiling=false
  wait_for "kube-controller-manager /healthz" kube-controller-manager 60 curl -sfk "https://$NODE_IP:10257/healthz"
  wait_for "kube-scheduler /healthz" kube-scheduler 60 curl -sfk "https://$NODE_IP:10259/healthz"
}

node_ready() {
  [ "$(kubectl_admin get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

start_node() {
  log "starting kubelet and kube-proxy"
  start_process kubelet "$KUBELET_BIN" --config="$NODE_DIR/kubelet.yaml" --kubeconfig="$NODE_DIR/kubelet.kubeconfig" \
    --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --root-dir="$NODE_DIR/kubelet" --v=1
  start_process kube-proxy "$KUBE_PROXY_BIN" --config="$NODE_DIR/kube-proxy.yaml"
  wait_for "node $NODE_NAME Ready" kubelet 120 node_ready
  wait_for "kube-proxy /healthz" kube-proxy 60 curl -sf "http://$NODE_IP:10256/healthz"
}

# --- add-ons -----------------------------------------------------------------
coredns_ready() {
  [ "$(kubectl_admin -n kube-system get deploy coredns -o jsonpath='{.status.readyReplicas}' 2>/dev/null)" = 1 ]
}

install_addons() {
  log "installing CoreDNS"
  sed -e "s#@IMAGE@#$(coredns_image)#g" -e "s#@DNS_IP@#$DNS_SERVICE_IP#g" "$REPO/hack/cluster/coredns.yaml" \
    | kubectl_admin apply -f - >/dev/null
  wait_for "CoreDNS Ready" kubelet 120 coredns_ready
  log "installing Pebble + pebble-challtestsrv"
  kubectl_admin create namespace pebble >/dev/null
  kubectl_admin -n pebble create secret tls pebble-tls --cert="$PKI/pebble.crt" --key="$PKI/pebble.key" >/dev/null
  sed -e "s#@IMAGE@#$(pebble_image)#g" -e "s#@PEBBLE_IP@#$PEBBLE_SERVICE_IP#g" "$REPO/hack/cluster/pebble.yaml" \
    | kubectl_admin apply -f - >/dev/null
  wait_for "Pebble Ready" kubelet 120 pebble_ready
}

pebble_ready() {
  [ "$(kubectl_admin -n pebble get deploy pebble -o jsonpath='{.status.readyReplicas}' 2>/dev/null)" = 1 ] \
    && curl -sf --cacert "$PKI/ca.crt" "https://$PEBBLE_SERVICE_IP:14000/dir"
}

write_dev_env() {
  mkdir -p "$(dirname "$DEV_ENV")"
  cp "$ADMIN_KUBECONFIG" "$REPO/.dev/cluster.kubeconfig"
  local version
  version=$(kubectl_admin version -o json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).serverVersion.gitVersion))')
  cat > "$DEV_ENV" <<EOF
# certkeeper local cluster (hack/cluster.sh, written $(date -u +%Y-%m-%dT%H:%M:%SZ))
export CERTKEEPER_CLUSTER=1
export CERTKEEPER_ENV_DIR='$NODE_DIR'
export CERTKEEPER_ENV_CA='$PKI/ca.crt'
export KUBECONFIG='$REPO/.dev/cluster.kubeconfig'
export KUBE_APISERVER_URL='$APISERVER_URL'
export KUBE_APISERVER_VERSION='$version'
export ETCD_SERVER_VERSION='${ETCD_VERSION#v}'
export HELM_BIN='$HELM_BIN'
export KUBECTL_BIN='$KUBECTL_BIN'
# kubectl $KUBE_VERSION, built with the cluster, first on PATH.
export PATH='$(dirname "$KUBECTL_BIN")':"\$PATH"
export CERTKEEPER_OPERATOR_IMAGE='$(operator_image)'
export CERTKEEPER_NGINX_IMAGE='$NGINX_IMAGE'
export CERTKEEPER_PEBBLE_IMAGE='$(pebble_image)'
export PEBBLE_SERVER_VERSION='${PEBBLE_VERSION#v}'
# Pebble as pods see it (cluster DNS), and its management APIs as the node reaches them (ClusterIP).
export ACME_DIRECTORY_URL='https://pebble.pebble.svc.cluster.local:14000/dir'
export ACME_CA_FILE='$PKI/ca.crt'
export ACME_HTTP01_PORT='8089'
export PEBBLE_MANAGEMENT_URL='https://$PEBBLE_SERVICE_IP:15000'
export CHALLTESTSRV_URL='http://$PEBBLE_SERVICE_IP:8055'
export CHALLTESTSRV_DNS='$PEBBLE_SERVICE_IP:8053'
EOF
}

# Removes .dev/env only when this script wrote it (hack/dev-env.sh writes one too).
rm_dev_env() {
  if grep -q '^export CERTKEEPER_CLUSTER=1' "$DEV_ENV" 2>/dev/null; then rm -f "$DEV_ENV" "$REPO/.dev/cluster.kubeconfig"; fi
}
