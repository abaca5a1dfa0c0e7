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
    { name: 'policyRef chooses among those selecting the namespace', policies: [tlsPolicy('all', selectingAll, withPriority(99)), tlsPolicy('p', selecting(team))], ref: { name: 'p' }, want: 'p/policyRef' },
    { name: 'policyRef to a missing policy', policies: [tlsPolicy('all', selectingAll)], ref: { name: 'gone' }, want: `violation:${Reason.PolicyNotFound}` },
    // Another team's policy: as if it did not exist.
    { name: 'policyRef to a policy selecting other namespaces', policies: [tlsPolicy('team-b', selecting({ team: 'b' }))], ref: { name: 'team-b' }, want: `violation:${Reason.PolicyNotFound}` },
    { name: 'policyRef to a policy without namespaceSelector', policies: [tlsPolicy('p')], ref: { name: 'p' }, want: `violation:${Reason.PolicyNotFound}` },
    { name: 'policyRef to a policy being deleted', policies: [tlsPolicy('p', selectingAll, (p) => (p.metadata.deletionTimestamp = '2026-01-01T00:00:00Z'))], ref: { name: 'p' }, want: `violation:${Reason.PolicyNotFound}` },
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
    expect('violation' in r && r.violation.message).toMatch(/no TLSPolicy selects namespace "shop"/);
  });

  it('answers a policyRef to another team\'s policy exactly as one to a policy that does not exist', () => {
    const other = tlsPolicy('team-b', selecting({ team: 'b' }));
    const refused = (name: string) => selectPolicy({ namespace: 'team-a', namespaceLabels: { team: 'a' }, policyRef: { name }, policies: [other] });
    const existing = refused('team-b');
    const missing = refused('team-c');
    expect('violation' in existing && existing.violation.message.replace('team-b', 'X')).toBe('violation' in missing && missing.violation.message.replace('team-c', 'X'));
  });
});
