import { Reason } from '../api/conditions.js';
import { matchesLabelSelector } from '../api/label-selector.js';
import type { TLSPolicy } from '../api/tlspolicy.js';
import type { Violation } from '../model/violation.js';

export interface PolicySelectionInput {
  namespace: string;
  namespaceLabels: Readonly<Record<string, string>>;
  policyRef?: { name: string } | undefined;
  policies: readonly TLSPolicy[];
}

export type PolicySelection = { policy: TLSPolicy; via: 'policyRef' | 'namespaceSelector' } | { violation: Violation };

/**
 * policyRef wins when set. Otherwise every policy whose namespaceSelector
 * matches competes: highest priority, then name order, so the choice is stable
 * and the same on every replica.
 */
export function selectPolicy(input: PolicySelectionInput): PolicySelection {
  if (input.policyRef !== undefined) {
    const named = input.policies.find((p) => p.metadata.name === input.policyRef?.name);
    if (named === undefined) {
      return {
        violation: {
          reason: Reason.PolicyNotFound,
          message: `spec.policyRef names TLSPolicy "${input.policyRef.name}", which does not exist`,
        },
      };
    }
    return { policy: named, via: 'policyRef' };
  }
  const candidates = input.policies
    .filter((p) => p.metadata.deletionTimestamp === undefined)
    .filter((p) => p.spec.namespaceSelector !== undefined && matchesLabelSelector(p.spec.namespaceSelector, input.namespaceLabels))
    .sort((a, b) => (b.spec.priority ?? 0) - (a.spec.priority ?? 0) || a.metadata.name.localeCompare(b.metadata.name));
  const chosen = candidates[0];
  if (chosen === undefined) {
    return {
      violation: {
        reason: Reason.NoPolicy,
        message: `no TLSPolicy selects namespace "${input.namespace}": set spec.policyRef or ask the platform team for a TLSPolicy whose namespaceSelector matches it`,
      },
    };
  }
  return { policy: chosen, via: 'namespaceSelector' };
}
