import { createHash } from 'node:crypto';
import type { RenewalBasis, RenewalInfoStatus } from '../../api/certificate.js';
import { renewalTimeInWindow } from '../../issuers/acme/ari.js';
import type { IssuedFacts } from '../../model/secret.js';

export interface RenewalInput {
  notBefore: Date;
  notAfter: Date;
  renewBeforeMs?: number | undefined;
  renewBeforePercentage?: number | undefined;
  /** renewBefore came from the TLSPolicy, not the Certificate. */
  renewBeforeFromPolicy?: boolean;
  /** Stable per Certificate (its uid): spreads renewals of certificates issued together. */
  jitterSeed: string;
}

export interface Renewal {
  time: Date;
  basis: RenewalBasis;
  /** How much earlier than the unjittered time, in ms. */
  jitterMs: number;
}

/** At most this share of the renew-before window is used for jitter... */
const JITTER_FRACTION = 0.02;
/** ...and never more than this, so long-lived certificates do not renew hours early. */
const MAX_JITTER_MS = 15 * 60_000;

/**
 * cert-manager's semantics: renew `renewBefore` ahead of notAfter;
 * `renewBeforePercentage` is that window as a share of the actual lifetime;
 * with neither, or with a window not shorter than the lifetime, at 2/3 of the
 * lifetime. A small deterministic jitter, only ever earlier, keeps thousands of
 * certificates issued together from renewing in the same second.
 */
export function renewalTime(input: RenewalInput): Renewal {
  const lifetime = input.notAfter.getTime() - input.notBefore.getTime();
  let renewBefore: number;
  let basis: RenewalBasis;
  if (input.renewBeforePercentage !== undefined) {
    renewBefore = (lifetime * input.renewBeforePercentage) / 100;
    basis = 'RenewBeforePercentage';
  } else if (input.renewBeforeMs !== undefined && input.renewBeforeMs < lifetime) {
    renewBefore = input.renewBeforeMs;
    basis = input.renewBeforeFromPolicy === true ? 'PolicyRenewBefore' : 'RenewBefore';
  } else {
    renewBefore = lifetime / 3;
    basis = 'Default';
  }
  const jitterMs = Math.floor(jitterFraction(input.jitterSeed) * Math.min(renewBefore * JITTER_FRACTION, MAX_JITTER_MS));
  // Whole seconds, like the RFC 3339 timestamps status carries.
  const at = Math.floor((input.notAfter.getTime() - renewBefore - jitterMs) / 1000) * 1000;
  return { time: new Date(Math.max(at, input.notBefore.getTime())), basis, jitterMs };
}

/** A fraction in [0, 1) derived from the seed: the same seed always gives the same value. */
export function jitterFraction(seed: string): number {
  const digest = createHash('sha256').update(seed).digest();
  return digest.readUInt32BE(0) / 0x1_0000_0000;
}

/**
 * RFC 9773: when the CA suggested a renewal window for exactly this
 * certificate, renew at a stable random time inside it. Undefined when there
 * is no usable window (another certificate's, or unreadable): the schedule above applies.
 */
export function ariRenewal(info: RenewalInfoStatus | undefined, facts: Pick<IssuedFacts, 'serialNumber'>, jitterSeed: string): Renewal | undefined {
  if (info === undefined || info.serialNumber !== facts.serialNumber) return undefined;
  const start = Date.parse(info.windowStart);
  const end = Date.parse(info.windowEnd);
  if (Number.isNaN(start) || Number.isNaN(end) || end <= start) return undefined;
  const time = renewalTimeInWindow(new Date(start), new Date(end), `${jitterSeed}/${facts.serialNumber}`);
  return { time, basis: 'ARI', jitterMs: 0 };
}
