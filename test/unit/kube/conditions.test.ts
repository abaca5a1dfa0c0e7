import { describe, expect, it } from 'vitest';
import {
  conditionsEqual,
  formatTime,
  getCondition,
  isTrue,
  removeCondition,
  setCondition,
  type Condition,
  type ConditionStatus,
} from '../../../src/kube/conditions.js';

const T0 = '2026-01-01T00:00:00Z';
const NOW = Date.parse('2026-02-01T12:30:45.678Z');
const NOW_TEXT = '2026-02-01T12:30:45Z';

function cond(type: string, status: ConditionStatus, extra: Partial<Condition> = {}): Condition {
  return { type, status, reason: 'R', message: 'm', lastTransitionTime: T0, observedGeneration: 1, ...extra };
}

describe('setCondition', () => {
  it.each([
    {
      name: 'appends to an empty list with now as transition time',
      list: [],
      next: { type: 'Ready', status: 'True' as const, reason: 'Issued', message: 'ok', observedGeneration: 3 },
      want: [{ type: 'Ready', status: 'True', reason: 'Issued', message: 'ok', lastTransitionTime: NOW_TEXT, observedGeneration: 3 }],
    },
    {
      name: 'keeps the transition time when the status is unchanged, updating everything else',
      list: [cond('Ready', 'False')],
      next: { type: 'Ready', status: 'False' as const, reason: 'IssuanceFailed', message: 'new', observedGeneration: 2 },
      want: [cond('Ready', 'False', { reason: 'IssuanceFailed', message: 'new', observedGeneration: 2 })],
    },
    {
      name: 'moves the transition time when the status changes',
      list: [cond('Ready', 'False')],
      next: { type: 'Ready', status: 'True' as const, reason: 'R', message: 'm', observedGeneration: 1 },
      want: [cond('Ready', 'True', { lastTransitionTime: NOW_TEXT })],
    },
    {
      name: 'treats Unknown → False as a transition',
      list: [cond('Ready', 'Unknown')],
      next: { type: 'Ready', status: 'False' as const, reason: 'R', message: 'm', observedGeneration: 1 },
      want: [cond('Ready', 'False', { lastTransitionTime: NOW_TEXT })],
    },
    {
      name: 'replaces in place, leaving other types and order alone',
      list: [cond('Issuing', 'True'), cond('Ready', 'False'), cond('PolicyCompliant', 'True')],
      next: { type: 'Ready', status: 'True' as const, reason: 'Issued', message: 'm', observedGeneration: 1 },
      want: [cond('Issuing', 'True'), cond('Ready', 'True', { reason: 'Issued', lastTransitionTime: NOW_TEXT }), cond('PolicyCompliant', 'True')],
    },
    {
      name: 'appends a new type after existing ones',
      list: [cond('Ready', 'True')],
      next: { type: 'Issuing', status: 'False' as const, reason: 'NotIssuing', message: '', observedGeneration: 1 },
      want: [cond('Ready', 'True'), cond('Issuing', 'False', { reason: 'NotIssuing', message: '', lastTransitionTime: NOW_TEXT })],
    },
  ])('$name', ({ list, next, want }) => {
    const before = structuredClone(list);
    expect(setCondition(list, next, NOW)).toEqual(want);
    expect(list).toEqual(before); // input untouched
  });

  it('accepts a Date for now and returns a new array even when nothing changed', () => {
    const list = [cond('Ready', 'True')];
    const out = setCondition(list, { type: 'Ready', status: 'True', reason: 'R', message: 'm', observedGeneration: 1 }, new Date(NOW));
    expect(out).not.toBe(list);
    expect(conditionsEqual(out, list)).toBe(true);
  });
});

describe('getCondition / isTrue / removeCondition', () => {
  const list = [cond('Ready', 'True', { observedGeneration: 4 }), cond('Issuing', 'False'), cond('EndpointsVerified', 'Unknown')];

  it.each([
    { type: 'Ready', generation: undefined, want: true },
    { type: 'Ready', generation: 4, want: true },
    { type: 'Ready', generation: 5, want: false },
    { type: 'Issuing', generation: undefined, want: false },
    { type: 'EndpointsVerified', generation: undefined, want: false },
    { type: 'Missing', generation: undefined, want: false },
  ])('isTrue($type, generation $generation) = $want', ({ type, generation, want }) => {
    expect(isTrue(list, type, generation)).toBe(want);
  });

  it('handles an absent list', () => {
    expect(getCondition(undefined, 'Ready')).toBeUndefined();
    expect(isTrue(undefined, 'Ready')).toBe(false);
  });

  it('finds and removes by type', () => {
    expect(getCondition(list, 'Issuing')?.status).toBe('False');
    expect(removeCondition(list, 'Issuing').map((c) => c.type)).toEqual(['Ready', 'EndpointsVerified']);
  });
});

describe('conditionsEqual / formatTime', () => {
  it.each([
    { name: 'identical', a: [cond('Ready', 'True')], b: [cond('Ready', 'True')], want: true },
    { name: 'different length', a: [cond('Ready', 'True')], b: [], want: false },
    { name: 'different message', a: [cond('Ready', 'True')], b: [cond('Ready', 'True', { message: 'x' })], want: false },
    { name: 'different generation', a: [cond('Ready', 'True')], b: [cond('Ready', 'True', { observedGeneration: 2 })], want: false },
    { name: 'different order', a: [cond('A', 'True'), cond('B', 'True')], b: [cond('B', 'True'), cond('A', 'True')], want: false },
  ])('$name → $want', ({ a, b, want }) => {
    expect(conditionsEqual(a, b)).toBe(want);
  });

  it('formats whole seconds in UTC', () => {
    expect(formatTime(NOW)).toBe(NOW_TEXT);
  });
});
