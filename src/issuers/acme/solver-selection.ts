import type { AcmeSolverSpec } from '../../api/tlspolicy.js';

// Which of a policy's solvers answers the challenge for one name, with
// cert-manager's precedence: a solver whose selector lists the name in
// dnsNames beats one whose dnsZones contain it (the longest zone wins),
// which beats one without a selector; among equals, the first listed.
// Wildcard names can only be proven with DNS-01.

export type ChallengeType = 'http-01' | 'dns-01';

export interface SolverChoice {
  index: number;
  solver: AcmeSolverSpec;
  type: ChallengeType;
}

export type SolverSelection = SolverChoice | { error: string };

function typeOf(solver: AcmeSolverSpec): ChallengeType | undefined {
  if (solver.dns01 !== undefined) return 'dns-01';
  if (solver.http01 !== undefined) return 'http-01';
  return undefined;
}

const normalize = (name: string) => name.trim().toLowerCase().replace(/\.$/, '');

/** Specificity of a solver for `name`: higher wins; undefined when it does not apply. */
export function solverSpecificity(solver: AcmeSolverSpec, name: string): number | undefined {
  const selector = solver.selector;
  const dnsNames = selector?.dnsNames ?? [];
  const dnsZones = selector?.dnsZones ?? [];
  if (dnsNames.length === 0 && dnsZones.length === 0) return 0;
  const full = normalize(name);
  if (dnsNames.some((n) => normalize(n) === full)) return 1_000_000;
  const base = full.startsWith('*.') ? full.slice(2) : full;
  let best: number | undefined;
  for (const zone of dnsZones.map(normalize)) {
    if (base === zone || base.endsWith(`.${zone}`)) best = Math.max(best ?? 0, 1 + zone.split('.').length);
  }
  return best;
}

export function selectSolver(policyName: string, solvers: readonly AcmeSolverSpec[] | undefined, name: string): SolverSelection {
  const list = solvers ?? [];
  if (list.length === 0) return { error: `TLSPolicy "${policyName}" has no ACME solvers: add an http01 or dns01 solver to spec.issuer.acme.solvers` };
  const wildcard = normalize(name).startsWith('*.');
  let chosen: { choice: SolverChoice; score: number } | undefined;
  let anyMatch = false;
  list.forEach((solver, index) => {
    const type = typeOf(solver);
    const score = solverSpecificity(solver, name);
    if (type === undefined || score === undefined) return;
    anyMatch = true;
    if (wildcard && type !== 'dns-01') return;
    if (chosen === undefined || score > chosen.score) chosen = { choice: { index, solver, type }, score };
  });
  if (chosen !== undefined) return chosen.choice;
  if (wildcard) {
    return {
      error: `"${name}" is a wildcard name, which only DNS-01 can prove, and no dns01 solver of TLSPolicy "${policyName}" ${anyMatch ? 'matches it (only http01 ones do)' : 'matches it'}`,
    };
  }
  return { error: `no solver of TLSPolicy "${policyName}" matches "${name}" (check the solvers' selector dnsNames and dnsZones)` };
}
