# shellcheck shell=bash
# Taking the node down, and finding what a crashed one left behind: processes,
# containers, mounts, network namespaces, cgroups, the bridge, iptables chains.
# Sourced by hack/cluster.sh. Everything here identifies what is ours by our own
# paths (state dir, socket), bridge name, chain prefixes or the kubepods cgroup,
# never by a process name.

# Pids whose command line names this cluster's state or runtime dir: the
# components, and containerd's shims (their -address is our socket).
our_pids() {
  local f pid
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    [ "$pid" = "$$" ] && continue
    alive "$pid" || continue
    if tr '\0' ' ' 2>/dev/null < "$f" | grep -qE "$CLUSTER_STATE/|$CLUSTER_RUN/"; then printf '%s\n' "$pid"; fi
  done
}

# Processes of pods: whatever sits in a kubepods cgroup.
pod_pids() {
  cat /sys/fs/cgroup/*/kubepods/cgroup.procs /sys/fs/cgroup/*/kubepods/*/cgroup.procs \
    /sys/fs/cgroup/*/kubepods/*/*/cgroup.procs /sys/fs/cgroup/*/kubepods/*/*/*/cgroup.procs 2>/dev/null | sort -u || true
}

our_mounts() { # deepest first
  awk -v a="$CLUSTER_STATE" -v b="$CLUSTER_RUN" 'index($5, a "/") == 1 || index($5, b "/") == 1 || $5 == b { print $5 }' \
    /proc/self/mountinfo | sort -r
}

kubepods_cgroups() { find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -type d -name 'kubepods*' 2>/dev/null; }

our_chains() { # iptables-binary -> "table chain" lines
  local t
  for t in filter nat mangle raw; do
    { "$1" -t "$t" -S 2>/dev/null || true; } | awk -v t="$t" -v re="^($CHAIN_PREFIXES)" '$1 == "-N" && $2 ~ re { print t, $2 }'
  done
}

leftovers_present() {
  [ -e "$CLUSTER_RUN" ] || [ -e "$NODE_DIR" ] || ip link show "$BRIDGE" >/dev/null 2>&1 \
    || [ -n "$(our_pids)" ] || [ -n "$(our_mounts)" ] || [ -n "$(kubepods_cgroups)" ] \
    || [ -n "$(our_chains iptables)" ] || [ -n "$(our_chains ip6tables)" ]
}

# "nothing left behind", or what is.
leftover_report() {
  local found=()
  [ -z "$(our_pids)$(pod_pids)" ] || found+=("processes: $(our_pids | tr '\n' ' ')$(pod_pids | tr '\n' ' ')")
  [ -z "$(our_mounts)" ] || found+=("mounts: $(our_mounts | tr '\n' ' ')")
  [ -z "$(kubepods_cgroups)" ] || found+=("cgroups: $(kubepods_cgroups | tr '\n' ' ')")
  ! ip link show "$BRIDGE" >/dev/null 2>&1 || found+=("bridge $BRIDGE")
  [ -z "$(ip -o link show type veth 2>/dev/null | grep "master $BRIDGE")" ] || found+=("veths on $BRIDGE")
  [ -z "$(our_chains iptables)$(our_chains ip6tables)" ] || found+=("iptables chains: $(our_chains iptables | tr '\n' ' ')")
  [ ! -e "$CLUSTER_RUN" ] || found+=("$CLUSTER_RUN")
  [ ! -e "$NODE_DIR" ] || found+=("$NODE_DIR")
  if [ ${#found[@]} -eq 0 ]; then echo "nothing left behind"; else printf 'LEFT BEHIND: %s\n' "${found[*]}"; return 1; fi
}

# Running, and not a zombie waiting for a parent that is gone (kill -0 succeeds on those).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ]
}

stop_pid() { # pid name: TERM, up to 10 s, then KILL
  local pid=$1 name=$2 i
  alive "$pid" || return 0
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do alive "$pid" || return 0; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  for i in $(seq 1 25); do alive "$pid" || return 0; sleep 0.2; done
}

stop_component() { # name: only the pid its pidfile names, and only if that process is still ours
  local pid
  pid=$(cat "$PIDS/$1.pid" 2>/dev/null || true)
  [ -n "$pid" ] || return 0
  if tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" | grep -qE "$CLUSTER_STATE/|$CLUSTER_RUN/"; then stop_pid "$pid" "$1"; fi
  rm -f "$PIDS/$1.pid"
}

# Pods first, through the API while it answers: kubelet stops them the normal
# way (CNI DEL, volumes unmounted). Controllers are stopped first so nothing
# is recreated.
drain_pods() {
  https_ok "$APISERVER_URL/readyz" >/dev/null 2>&1 || return 0
  local pid; pid=$(cat "$PIDS/kubelet.pid" 2>/dev/null || true)
  [ -n "$pid" ] && alive "$pid" || return 0
  stop_component kube-controller-manager
  stop_component kube-scheduler
  log "deleting every pod (kubelet stops them)"
  kubectl_admin delete pods --all -A --force --grace-period=0 --wait=false >/dev/null 2>&1 || true
  local deadline=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$deadline" ] && [ -n "$("${CTR[@]}" tasks ls -q 2>/dev/null)" ]; do sleep 0.5; done
}

# With containerd still running: whatever kubelet did not stop.
remove_containers() {
  "${CTR[@]}" version >/dev/null 2>&1 || return 0
  local id
  for id in $("${CTR[@]}" tasks ls -q 2>/dev/null); do
    "${CTR[@]}" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
    "${CTR[@]}" tasks delete -f "$id" >/dev/null 2>&1 || true
  done
  for id in $("${CTR[@]}" containers ls -q 2>/dev/null); do
    "${CTR[@]}" containers delete "$id" >/dev/null 2>&1 || true
  done
}

clean_chains() { # iptables-binary
  local bin=$1 table chain rule
  command -v "$bin" >/dev/null || return 0
  # Jumps into our chains from any chain (built-in or not) go first, then the chains.
  for table in filter nat mangle raw; do
    { "$bin" -t "$table" -S 2>/dev/null | grep -E "^-A .* -j ($CHAIN_PREFIXES)" || true; } | while read -r rule; do
      # shellcheck disable=SC2086 # the rule is iptables's own quoting-free -S output, split on purpose
      eval "\"$bin\" -t $table ${rule/-A/-D}" 2>/dev/null || true
    done
  done
  our_chains "$bin" | while read -r table chain; do "$bin" -t "$table" -F "$chain" 2>/dev/null || true; done
  our_chains "$bin" | while read -r table chain; do "$bin" -t "$table" -X "$chain" 2>/dev/null || true; done
}

# iptables-nft leaves its (now empty) tables behind; remove those that hold no rule.
drop_empty_nft_tables() {
  command -v nft >/dev/null || return 0
  local family table
  for family in ip ip6; do
    for table in filter nat mangle raw; do
      nft list table "$family" "$table" >/dev/null 2>&1 || continue
      if ! nft list table "$family" "$table" 2>/dev/null | grep -qvE '^\s*(table|chain|type|policy|\}|$)'; then
        nft delete table "$family" "$table" 2>/dev/null || true
      fi
    done
  done
}

teardown() {
  local name pid m
  drain_pods
  for ((i = ${#PROCESS_ORDER[@]} - 1; i >= 1; i--)); do stop_component "${PROCESS_ORDER[$i]}"; done
  remove_containers
  stop_component containerd
  # A crashed cluster: components without pidfiles, shims, pod processes.
  for pid in $(our_pids) $(pod_pids); do stop_pid "$pid" "leftover process"; done
  while read -r m; do [ -z "$m" ] || umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done < <(our_mounts)
  kubepods_cgroups | while read -r m; do find "$m" -depth -type d -exec rmdir {} + 2>/dev/null || true; done
  for m in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do ip link del "$m" 2>/dev/null || true; done
  ip link del "$BRIDGE" 2>/dev/null || true
  clean_chains iptables
  clean_chains ip6tables
  drop_empty_nft_tables
  if [ -f "$CLUSTER_RUN/sysctl.before" ]; then
    while read -r m; do sysctl -qw "$m" || true; done < "$CLUSTER_RUN/sysctl.before"
  fi
  # Logs of the last cluster stay for a post-mortem; everything else goes.
  if [ -d "$LOGS" ]; then rm -rf "$CLUSTER_STATE/last-logs"; mv "$LOGS" "$CLUSTER_STATE/last-logs"; fi
  rm -rf "$NODE_DIR" "$CLUSTER_RUN"
  # containerd 1.6 puts shim sockets under /run/containerd/s whatever its state dir; ours are dead now.
  if [ -d /run/containerd/s ] && [ -z "$(pgrep -x containerd || true)" ]; then rm -rf /run/containerd/s; rmdir /run/containerd 2>/dev/null || true; fi
}
