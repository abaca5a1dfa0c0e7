import type { PostQuantumFindings, PostQuantumGroupFinding, PostQuantumReadiness } from './findings.js';
import type { GroupChoice, PostQuantumObservation } from './jobs/post-quantum.js';
import type { JobOutcome } from './jobs/outcome.js';
import { POST_QUANTUM_GROUPS, postQuantumGroupById, postQuantumGroupByName } from './post-quantum.js';

// The post-quantum part of the analyser: observations in, facts out; whether
// `classical` is a problem is for a profile to say.

/** Names by IANA code point: the post-quantum ones, and the classical groups the probes offer beside them. */
const CLASSICAL_NAMES: Readonly<Record<number, string>> = { 29: 'X25519', 23: 'prime256v1', 24: 'secp384r1', 25: 'secp521r1', 30: 'X448' };

export function groupNameOf(id: number): string {
  return postQuantumGroupById(id)?.name ?? CLASSICAL_NAMES[id] ?? `0x${id.toString(16).padStart(4, '0')}`;
}

function chosen(outcome: JobOutcome<GroupChoice> | undefined): number | undefined {
  return outcome?.status === 'accepted' && outcome.value.kind === 'server-hello' ? outcome.value.group : undefined;
}

/** Pure: the readiness the group and browser-offer results amount to. */
export function postQuantumReadiness(tested: boolean, groups: readonly PostQuantumGroupFinding[], browserChoice: number | undefined): PostQuantumReadiness {
  if (!tested) return 'classical';
  if (browserChoice !== undefined && postQuantumGroupById(browserChoice) !== undefined) return 'ready';
  if (groups.some((g) => g.status === 'accepted')) return browserChoice === undefined ? 'unknown' : 'partial';
  if (groups.some((g) => g.status === 'error') || browserChoice === undefined) return 'unknown';
  return 'classical';
}

const NOT_TESTED: PostQuantumFindings = {
  readiness: 'classical',
  tested: false,
  groups: [],
  browserChoice: undefined,
  serverPick: undefined,
  serverPrefersPostQuantum: undefined,
  withoutShare: undefined,
};

/** Pure: the findings of a scan's post-quantum probes (undefined: TLS 1.3 is not accepted, nothing was probed). */
export function analysePostQuantum(observation: PostQuantumObservation | undefined): PostQuantumFindings {
  if (observation === undefined) return { ...NOT_TESTED, groups: [] };
  const groups: PostQuantumGroupFinding[] = observation.groups.flatMap(({ group, outcome }) => {
    const known = postQuantumGroupByName(group);
    if (known === undefined) return [];
    const detail = outcome.status === 'rejected' ? outcome.reason : outcome.status === 'error' ? outcome.error : undefined;
    return [{ name: known.name, id: known.id, kind: known.kind, status: outcome.status, ...(detail === undefined ? {} : { detail }) }];
  });
  groups.sort((a, b) => POST_QUANTUM_GROUPS.findIndex((g) => g.id === a.id) - POST_QUANTUM_GROUPS.findIndex((g) => g.id === b.id));
  const browser = chosen(observation.browserOffer);
  const pick = chosen(observation.serverPick);
  const retry = observation.retry?.outcome;
  const withoutShare =
    observation.retry === undefined || retry?.status !== 'accepted'
      ? undefined
      : { group: observation.retry.group, answer: retry.value.kind === 'hello-retry' ? ('retry' as const) : ('classical' as const) };
  return {
    readiness: postQuantumReadiness(true, groups, browser),
    tested: true,
    groups,
    browserChoice: browser === undefined ? undefined : groupNameOf(browser),
    serverPick: pick === undefined ? undefined : groupNameOf(pick),
    serverPrefersPostQuantum: pick === undefined ? undefined : postQuantumGroupById(pick) !== undefined,
    withoutShare,
  };
}
