#!/usr/bin/env bash
# sslyze from PyPI into a virtualenv in the tools cache (outside the repo), for
# the probe's agreement test. Needs python3 with venv (Debian: python3-venv).
# Prints the python that runs it (`python -m sslyze`).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
tools=${CERTKEEPER_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/certkeeper/tools}
dir=$tools/sslyze-$SSLYZE_VERSION
log() { printf '[install-sslyze] %s\n' "$*" >&2; }
# A venv is not relocatable, so it is built in place; the marker says it is complete.
if [ -f "$dir/.complete" ]; then printf '%s\n' "$dir/bin/python"; exit 0; fi
log "sslyze $SSLYZE_VERSION into $dir (first time only)"
rm -rf "$dir"
if ! python3 -m venv "$dir" >&2 || ! "$dir/bin/pip" install --quiet "sslyze==$SSLYZE_VERSION" >&2; then
  rm -rf "$dir"; log "could not install sslyze $SSLYZE_VERSION (python3-venv and the PyPI index are needed)"; exit 1
fi
touch "$dir/.complete"
printf '%s\n' "$dir/bin/python"
