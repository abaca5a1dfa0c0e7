import { describe, expect, it } from 'vitest';
import { Reason } from '../../../src/api/conditions.js';
import { selectPolicy } from '../../../src/policy/selection.js';
import { selecting, selectingAll, tlsPolicy, withPriority } from '../../support/builders.js';

const team = { team: 'web' };

function chosen(result: ReturnType<typeof selectPolicy>): string {
  if ('violation' in result) return `violation:${result.violation.reason}`;
  return `${result.policy.metadata.name}/${result.via}`;
}

describe('selectPolicy', () => {
  it.each([
    { name: 'no policies', policies: [], ref: undefined, want: `violation:${Reason.NoPolicy}` },
    { name: 'selector without match', policies: [tlsPolicy('db', selecting({ team: 'db' }))], ref: undefined, want: `violation:${Reason.NoPolicy}` },
    { name: 'policy without selector is never chosen by selection', policies: [tlsPolicy('p')], ref: undefined, want: `violation:${Reason.NoPolicy}` },
    { name: 'the matching one', policies: [tlsPolicy('db', selecting({ team: 'db' })), tlsPolicy('web', selecting(team))], ref: undefined, want: 'web/namespaceSelector' },
    { name: 'highest priority wins', policies: [tlsPolicy('low', selectingAll), tlsPolicy('high', selectingAll, withPriority(10))], ref: undefined, want: 'high/namespaceSelector' },
    { name: 'priority tie: name order', policies: [tlsPolicy('b', selectingAll), tlsPolicy('a', selectingAll)], ref: undefined, want: 'a/namespaceSelector' },
    { name: 'policyRef beats selection', policies: [tlsPolicy('all', selectingAll, withPriority(99)), tlsPolicy('p')], ref: { name: 'p' }, want: 'p/policyRef' },
    { name: 'policyRef to a missing policy', policies: [tlsPolicy('all', selectingAll)], ref: { name: 'gone' }, want: `violation:${Reason.PolicyNotFound}` },
  ])('$name', ({ policies, ref, want }) => {
    expect(chosen(selectPolicy({ namespace: 'ns', namespaceLabels: team, policyRef: ref, policies }))).toBe(want);
  });

  it('skips policies being deleted', () => {
    const dying = tlsPolicy('dying', selectingAll, withPriority(5));
    dying.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    expect(chosen(selectPolicy({ namespace: 'ns', namespaceLabels: {}, policies: [dying, tlsPolicy('live', selectingAll)] }))).toBe('live/namespaceSelector');
  });

  it('says how to fix a missing policy', () => {
    const r = selectPolicy({ namespace: 'shop', namespaceLabels: {}, policies: [] });
    expect('violation' in r && r.violation.message).toMatch(/namespace "shop".*policyRef/);
  });
});
