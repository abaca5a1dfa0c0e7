import type { Certificate } from '../api/certificate.js';
import { API_VERSION } from '../api/meta.js';
import type { TLSPolicy } from '../api/tlspolicy.js';
import type { ObjectReference } from './events.js';

// What events are about: `kubectl describe` shows an event under the object
// whose kind, name and uid it names.

export const certificateRef = (c: Certificate): ObjectReference => ({
  apiVersion: API_VERSION,
  kind: 'Certificate',
  name: c.metadata.name,
  namespace: c.metadata.namespace,
  uid: c.metadata.uid,
});

export const tlsPolicyRef = (p: TLSPolicy): ObjectReference => ({ apiVersion: API_VERSION, kind: 'TLSPolicy', name: p.metadata.name, uid: p.metadata.uid });

export const serviceRef = (namespace: string, name: string, uid: string | undefined): ObjectReference => ({
  apiVersion: 'v1',
  kind: 'Service',
  name,
  namespace,
  ...(uid === undefined ? {} : { uid }),
});

/** An event decided by pure code and recorded by a reconciler once the status it explains is written. */
export interface PendingEvent {
  type: 'Normal' | 'Warning';
  regarding: ObjectReference;
  reason: string;
  note: string;
  action: string;
}

export function recordAll(recorder: { normal(r: ObjectReference, reason: string, note: string, action?: string): void; warning(r: ObjectReference, reason: string, note: string, action?: string): void }, events: readonly PendingEvent[]): void {
  for (const e of events) {
    if (e.type === 'Warning') recorder.warning(e.regarding, e.reason, e.note, e.action);
    else recorder.normal(e.regarding, e.reason, e.note, e.action);
  }
}
