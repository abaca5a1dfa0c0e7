#!/usr/bin/env bash
# The local test environment for a developer at a shell: etcd + kube-apiserver
# + Pebble + pebble-challtestsrv on loopback, in the background.
#
#   bash hack/dev-env.sh up       start (builds the tools first time), write .dev/env
#   bash hack/dev-env.sh status   what runs and whether it answers
#   bash hack/dev-env.sh down     stop what 'up' started, remove .dev state
#
# The same code (hack/env/) starts the environment for the integration tests
# and the demo.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Paths are printed relative to where the command was typed.
export CERTKEEPER_CALLER_CWD=$PWD
cd "$repo"
exec npx --no-install tsx hack/env/cli.ts "$@"
