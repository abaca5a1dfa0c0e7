import type { Reason } from '../api/conditions.js';

/** A condition's reason and the sentence that explains it: for any outcome, good or bad. */
export interface Explanation {
  reason: Reason;
  message: string;
}

/** What a failed check reports: a stable reason and a message that says what to fix. */
export type Violation = Explanation;

/** A named pure check. Order dependencies are expressed by the input type. */
export interface Check<I> {
  name: string;
  check(input: I): Violation | undefined;
}

/** Runs checks in order and returns the first violation. */
export function firstViolation<I>(checks: readonly Check<I>[], input: I): Violation | undefined {
  for (const c of checks) {
    const v = c.check(input);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Runs every check and returns all violations (for reporting, not for deciding). */
export function allViolations<I>(checks: readonly Check<I>[], input: I): Violation[] {
  const out: Violation[] = [];
  for (const c of checks) {
    const v = c.check(input);
    if (v !== undefined) out.push(v);
  }
  return out;
}
