#!/usr/bin/env bash
# `npm test`: everything CI checks, in order, with the time each phase took.
# Integration tests need the real components; hack/build-tools.sh builds them
# once into ~/.cache/certkeeper/tools (several minutes the first time). The e2e
# tier runs on the real single-node cluster of hack/cluster.sh (root), which it
# brings up and down itself unless one is already up.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

declare -a timings=()
phase() {
  local name=$1; shift
  local start=$SECONDS
  printf '\n=== %s\n' "$name"
  "$@"
  timings+=("$(printf '%-22s %4ss' "$name" $((SECONDS - start)))")
}

summary() {
  printf '\n=== phase timings\n'
  printf '  %s\n' "${timings[@]}"
  printf '  %-22s %4ss\n' "total" "$SECONDS"
}
# On failure the timings still show how far it got; on success they come
# before the closing count, which stays the last line.
trap 'status=$?; [ "$status" -eq 0 ] || summary' EXIT

results=$(mktemp -d)
phase "system packages" bash hack/install-deps.sh
phase "build tools" bash hack/build-tools.sh --cluster >/dev/null
phase "lint" npx eslint .
phase "typecheck" npx tsc -p tsconfig.json --noEmit
phase "unit tests" npx vitest run --project unit --reporter=default --reporter=json --outputFile.json="$results/unit.json"
phase "integration tests" npx vitest run --project integration --reporter=default --reporter=json --outputFile.json="$results/integration.json"
phase "e2e tests (cluster)" npx vitest run --project e2e --reporter=default --reporter=json --outputFile.json="$results/e2e.json"

summary
# One closing line in the plain form CI reads: "N passed, N failed".
node -e '
  const fs = require("node:fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const f of process.argv.slice(1)) {
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
  }
  if (skipped > 0) { console.error(`${skipped} tests were skipped: nothing may skip itself green`); process.exitCode = 1; }
  console.log(`\n${passed} passed, ${failed} failed`);
' "$results/unit.json" "$results/integration.json" "$results/e2e.json"
