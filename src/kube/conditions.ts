// Status conditions as Kubernetes API conventions define them. Pure: the
// caller supplies "now", so the same inputs always give the same list.

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  /** PascalCase, from the constants in src/api/conditions.ts. */
  reason: string;
  /** For humans; may be empty. */
  message: string;
  /** RFC 3339, seconds precision: when `status` last changed. */
  lastTransitionTime: string;
  /** The metadata.generation this condition was computed from. */
  observedGeneration: number;
}

/** What a reconciler decides; the transition time is derived. */
export type ConditionUpdate = Omit<Condition, 'lastTransitionTime'>;

/** metav1.Time serialises to whole seconds. */
export function formatTime(at: Date | number): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Returns a new list with `next` set: replaces the condition of the same type
 * in place (order is stable for readers and diff-friendly), or appends it.
 * lastTransitionTime moves only when the status changed.
 */
export function setCondition(list: readonly Condition[], next: ConditionUpdate, now: Date | number): Condition[] {
  const index = list.findIndex((c) => c.type === next.type);
  const existing = index < 0 ? undefined : list[index];
  const lastTransitionTime = existing !== undefined && existing.status === next.status ? existing.lastTransitionTime : formatTime(now);
  const condition: Condition = {
    type: next.type,
    status: next.status,
    reason: next.reason,
    message: next.message,
    lastTransitionTime,
    observedGeneration: next.observedGeneration,
  };
  if (index < 0) return [...list, condition];
  return list.map((c, i) => (i === index ? condition : c));
}

export function getCondition(list: readonly Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}

/**
 * True when the condition exists with status True; with `generation`, only
 * if it was computed from that generation (a stale True is not True).
 */
export function isTrue(list: readonly Condition[] | undefined, type: string, generation?: number): boolean {
  const c = getCondition(list, type);
  return c !== undefined && c.status === 'True' && (generation === undefined || c.observedGeneration === generation);
}

export function removeCondition(list: readonly Condition[], type: string): Condition[] {
  return list.filter((c) => c.type !== type);
}

/** Whether two lists say the same thing (lets a reconciler skip a no-op status patch). */
export function conditionsEqual(a: readonly Condition[], b: readonly Condition[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((c, i) => {
    const d = b[i];
    return (
      d !== undefined &&
      c.type === d.type &&
      c.status === d.status &&
      c.reason === d.reason &&
      c.message === d.message &&
      c.lastTransitionTime === d.lastTransitionTime &&
      c.observedGeneration === d.observedGeneration
    );
  });
}
