/**
 * A stand-in for another replica's work, for the scale-out bench's control
 * run (`--control`): full scans of the bench's addresses with the operator's
 * own probe code, judged by one policy, DECOY_CONCURRENCY at a time, round
 * and round until it is stopped. No Kubernetes, no sharing: beside the single
 * operator it makes the machine as busy as the shared run's other replicas
 * do (the same code, the same nginx), so the single operator's CPU per probe
 * can be compared with theirs under the same crowding.
 *
 * `node --import tsx hack/bench/decoy-prober.ts` with DECOY_ADDRESSES
 * (comma-separated), DECOY_PORT, DECOY_SERVER_NAME and DECOY_CONCURRENCY.
 */
import { probeFullScan } from '../../src/endpoints/probe.js';
import { fullScanTarget } from './scan-target.js';

const addresses = (process.env.DECOY_ADDRESSES ?? '').split(',').filter((a) => a !== '');
const port = Number(process.env.DECOY_PORT ?? '443');
const serverName = process.env.DECOY_SERVER_NAME;
const concurrency = Number(process.env.DECOY_CONCURRENCY ?? '16');
if (addresses.length === 0 || !(concurrency >= 1)) {
  process.stderr.write('decoy-prober: DECOY_ADDRESSES and a DECOY_CONCURRENCY >= 1 are needed\n');
  process.exit(2);
}

let stopping = false;
let probes = 0;
let next = 0;
process.on('SIGTERM', () => {
  stopping = true;
});

async function worker(): Promise<void> {
  while (!stopping) {
    const address = addresses[next++ % addresses.length] ?? '';
    await probeFullScan(fullScanTarget({ namespace: 'decoy', service: 'decoy', port, address, targetPort: port, serverName, policy: 'decoy' }), { now: () => new Date() });
    probes++;
  }
}

await Promise.all(Array.from({ length: concurrency }, worker));
process.stdout.write(`decoy-prober: ${probes} full scans\n`);
