import { Reason } from '../api/conditions.js';
import { matchesLabelSelector } from '../api/label-selector.js';
import type { TLSPolicy } from '../api/tlspolicy.js';
import type { Violation } from '../model/violation.js';
import { compareText } from '../text-order.js';

export interface PolicySelectionInput {
  namespace: string;
  namespaceLabels: Readonly<Record<string, string>>;
  policyRef?: { name: string } | undefined;
  policies: readonly TLSPolicy[];
}

export type PolicySelection = { policy: TLSPolicy; via: 'policyRef' | 'namespaceSelector' } | { violation: Violation };

/** Whether the policy governs this namespace: its namespaceSelector matches (absent selects none; {} selects all). */
export function selectsNamespace(policy: TLSPolicy, namespaceLabels: Readonly<Record<string, string>>): boolean {
  return (
    policy.metadata.deletionTimestamp === undefined &&
    policy.spec.namespaceSelector !== undefined &&
    matchesLabelSelector(policy.spec.namespaceSelector, namespaceLabels)
  );
}

/**
 * A Certificate may use only a TLSPolicy that selects its namespace. With a
 * policyRef it chooses among those; without, the highest priority wins, then
 * name order, so the choice is stable and the same on every replica. A
 * policyRef to a policy that does not select the namespace is answered
 * exactly as one to a policy that does not exist: a tenant learns nothing of
 * other teams' policies.
 */
export function selectPolicy(input: PolicySelectionInput): PolicySelection {
  const candidates = input.policies
    .filter((p) => selectsNamespace(p, input.namespaceLabels))
    .sort((a, b) => (b.spec.priority ?? 0) - (a.spec.priority ?? 0) || compareText(a.metadata.name, b.metadata.name));
  if (input.policyRef !== undefined) {
    const named = candidates.find((p) => p.metadata.name === input.policyRef?.name);
    if (named === undefined) {
      return {
        violation: {
          reason: Reason.PolicyNotFound,
          message: `spec.policyRef names TLSPolicy "${input.policyRef.name}", but no TLSPolicy of that name governs namespace "${input.namespace}": name one whose namespaceSelector matches it, or leave policyRef out`,
        },
      };
    }
    return { policy: named, via: 'policyRef' };
  }
  const chosen = candidates[0];
  if (chosen === undefined) {
    return {
      violation: {
        reason: Reason.NoPolicy,
        message: `no TLSPolicy selects namespace "${input.namespace}": ask the platform team for a TLSPolicy whose namespaceSelector matches it`,
      },
    };
  }
  return { policy: chosen, via: 'namespaceSelector' };
}
