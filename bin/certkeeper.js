#!/usr/bin/env node
// The published entry point runs the bundle (npm run build). Its source maps
// are in dist/ too: NODE_OPTIONS=--enable-source-maps makes stack traces name
// src/ files and lines (off by default: parsing them costs ~10 MB).
import { setFlagsFromString } from 'node:v8';

// Every command but `operator` runs once and exits within seconds, and V8's
// defaults, made for processes that run long, cost such a process memory for
// nothing (Node 24, `certkeeper probe` of one endpoint: 81 → 67 MB peak RSS;
// `inventory -A` of 10,000 Secrets: 201 → 152 MB):
//  - Turbofan, then for the commands of bounded work Maglev too. The first
//    function an optimizing compiler takes pulls its code in from the node
//    binary (~2 MB for Maglev alone), and the scan's jobs add more (~8 MB in
//    all); the optimized code never runs long enough to pay for it. The
//    commands whose work grows with the cluster (status, inventory) keep
//    Maglev: without it `inventory -A` of 10,000 Secrets took 13 % more CPU.
//  - The young generation doubles whenever a scavenge finds it busy, 1 → 8 MB
//    a semi-space while the bundle loads; kept at its first size it costs
//    more, smaller scavenges and ~5 MB less.
// V8 reads these flags when it decides to optimize or to grow, so they work
// when set in a running process, but only for what comes after. Hence here,
// before anything else loads: resolving even one more relative import first
// is enough for Node's path functions to get Maglev-compiled.
// The operator keeps V8's behaviour: it runs for weeks, with its own flags on
// the command line (the Dockerfile's ENTRYPOINT).
// test/unit/cli/one-shot.test.ts runs this file against a stand-in bundle.
const command = process.argv[2];
if (command !== 'operator') {
  const flags = ['--no-turbofan', '--semi-space-growth-factor=1'];
  if (command !== 'status' && command !== 'inventory') flags.push('--no-maglev');
  for (const flag of flags) setFlagsFromString(flag);
}
await import('../dist/main.js');
