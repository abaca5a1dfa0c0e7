import { describe, expect, it } from 'vitest';
import { matchesLabelSelector } from '../../../src/api/label-selector.js';
import type { LabelSelector } from '../../../src/api/meta.js';

const labels = { team: 'web', env: 'prod' };

describe('matchesLabelSelector', () => {
  it.each<[string, LabelSelector, boolean]>([
    ['empty selector matches all', {}, true],
    ['matchLabels equal', { matchLabels: { team: 'web' } }, true],
    ['matchLabels differ', { matchLabels: { team: 'db' } }, false],
    ['matchLabels missing key', { matchLabels: { tier: 'x' } }, false],
    ['In hit', { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'stage'] }] }, true],
    ['In miss', { matchExpressions: [{ key: 'env', operator: 'In', values: ['dev'] }] }, false],
    ['In absent key', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, false],
    ['NotIn hit', { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, false],
    ['NotIn absent key matches', { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    ['Exists', { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, true],
    ['Exists absent', { matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, false],
    ['DoesNotExist', { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, true],
    ['DoesNotExist present', { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }, false],
    [
      'all requirements must hold',
      { matchLabels: { team: 'web' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['dev'] }] },
      false,
    ],
  ])('%s', (_name, selector, expected) => {
    expect(matchesLabelSelector(selector, labels)).toBe(expected);
  });
});
