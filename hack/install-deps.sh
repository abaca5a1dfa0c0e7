#!/usr/bin/env bash
# Debian packages the integration tests run for real: TLS servers to probe
# (nginx, haproxy), scanners to agree with (testssl.sh, sslscan), Alertmanager
# and promtool, BIND for DNS-01, iproute2 for network namespaces; buildah and
# debootstrap build and run the operator image with no container engine
# (hack/build-image.sh); containerd, runc, the CNI plugins, iptables, conntrack,
# nftables and gcc (the static pause binary) make the node of hack/cluster.sh.
# Installs only what is missing; never starts the packages' own services.
set -euo pipefail
packages=(nginx haproxy testssl.sh sslscan prometheus-alertmanager prometheus bind9 bind9-utils iproute2 openssl
  buildah debootstrap debian-archive-keyring
  containerd runc containernetworking-plugins iptables conntrack nftables gcc libc6-dev curl
  python3-venv)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && { echo "[install-deps] all Debian packages present"; exit 0; }
if [ "$(id -u)" -ne 0 ]; then
  echo "[install-deps] missing Debian packages: ${missing[*]}" >&2
  echo "[install-deps] install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "[install-deps] installing: ${missing[*]}"
# The tests start their own instances on loopback; the packages' services must not start.
policy=/usr/sbin/policy-rc.d
created_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=true
fi
trap '[ "$created_policy" = true ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "[install-deps] done"
