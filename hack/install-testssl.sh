#!/usr/bin/env bash
# testssl.sh 3.2 for the post-quantum agreement test: Debian 12 has 3.0.8, which
# does not know the ML-KEM groups. The package of the next Debian release
# ($TESTSSL_DEBIAN_SUITE) is downloaded from the Debian archive this machine's
# apt already uses (read from its sources; checked against the Debian archive
# keyring like any apt download) into a private apt state, and unpacked into
# the tools cache: nothing is installed, the system's apt is untouched. It is a
# bash script plus data files and runs on this system's bash and openssl.
# Prints the unpacked directory (usr/bin/testssl, etc/testssl).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
tools=${CERTKEEPER_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/certkeeper/tools}
dir=$tools/testssl-$TESTSSL_SERIES
log() { printf '[install-testssl] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
if [ -f "$dir/.complete" ]; then printf '%s\n' "$dir"; exit 0; fi

# The Debian archive URI of the machine's own apt sources (deb822 or one-line form).
uri=$(
  { awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' /etc/apt/sources.list.d/*.sources 2>/dev/null
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
  } | grep -E '/debian/?$' | head -n 1
) || true
[ -n "$uri" ] || die "no Debian archive in this machine's apt sources"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -s "$keyring" ] || die "$keyring is missing (Debian: debian-archive-keyring)"

state=$tools/.apt-$TESTSSL_DEBIAN_SUITE
rm -rf "$state" "$dir"
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/download"
printf 'deb [signed-by=%s] %s %s main\n' "$keyring" "$uri" "$TESTSSL_DEBIAN_SUITE" >"$state/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$state/lists"
  -o "Dir::Cache=$state/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User=root -o Acquire::Languages=none)
log "testssl.sh $TESTSSL_SERIES from Debian $TESTSSL_DEBIAN_SUITE into $dir (first time only)"
apt-get "${apt_opts[@]}" -qq update >&2 || die "apt-get update of $TESTSSL_DEBIAN_SUITE failed"
version=$(apt-cache "${apt_opts[@]}" show testssl.sh 2>/dev/null | awk '/^Version:/ { print $2; exit }')
case $version in
  "$TESTSSL_SERIES".*) ;;
  *) die "Debian $TESTSSL_DEBIAN_SUITE has testssl.sh '${version:-none}', not $TESTSSL_SERIES.x" ;;
esac
(cd "$state/download" && apt-get "${apt_opts[@]}" -qq download "testssl.sh=$version" >&2) || die "could not download testssl.sh $version"
mkdir -p "$dir"
dpkg-deb -x "$state/download/"testssl.sh_*.deb "$dir"
[ -x "$dir/usr/bin/testssl" ] || die "the package has no usr/bin/testssl"
printf '%s\n' "$version" >"$dir/VERSION"
rm -rf "$state"
touch "$dir/.complete"
printf '%s\n' "$dir"
