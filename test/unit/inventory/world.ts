import type { ParsedCertificate } from '../../../src/model/certificate.js';
import { summarizeTlsSecret } from '../../../src/secrets/summary.js';
import { type TlsSecretSummary } from '../../../src/model/secret.js';
import { buildInventory, type InventoryInput } from '../../../src/inventory/build.js';
import type { Inventory } from '../../../src/inventory/model.js';
import { ThresholdResolver } from '../../../src/inventory/thresholds.js';
import type { TLSPolicy } from '../../../src/api/tlspolicy.js';
import type { Certificate } from '../../../src/api/certificate.js';
import { signedLeaf, tlsSecret, type Leaf, type TlsSecretOptions } from '../../support/inventory-fixtures.js';
import { DAY_MS, TEST_NOW, makeTestCa, type TestCa } from '../../support/pki.js';

// A small cluster's worth of TLS Secrets, made once per test file, as seen at
// TEST_NOW: a CA, and leaves that are fine, expiring, expired, not yet valid.

export interface World {
  ca: TestCa;
  /** 60 days left. */
  fine: Leaf;
  /** 10 days left: warning by default (21d), not critical (7d). */
  expiring: Leaf;
  /** 3 days left: critical by default. */
  critical: Leaf;
  /** Expired 2 days ago. */
  expired: Leaf;
  /** Valid from tomorrow. */
  future: Leaf;
}

let world: Promise<World> | undefined;

const at = (daysFromNow: number) => new Date(TEST_NOW.getTime() + daysFromNow * DAY_MS);

export function testWorld(): Promise<World> {
  world ??= (async () => {
    const ca = await makeTestCa({ commonName: 'inventory test CA' });
    const leaf = (name: string, notBeforeDays: number, durationDays: number, slot: number) =>
      signedLeaf(ca, { commonName: name, dnsNames: [`${name}.example.com`], notBefore: at(notBeforeDays), durationMs: durationDays * DAY_MS, slot });
    const [fine, expiring, critical, expired, future] = await Promise.all([
      leaf('fine', -30, 90, 1),
      leaf('expiring', -80, 90, 2),
      leaf('critical', -87, 90, 3),
      leaf('expired', -92, 90, 4),
      leaf('future', 1, 90, 5),
    ]);
    return { ca, fine, expiring, critical, expired, future };
  })();
  return world;
}

export function summary(o: TlsSecretOptions): TlsSecretSummary {
  return summarizeTlsSecret(tlsSecret(o));
}

export function secretOf(leaf: Leaf, o: Omit<TlsSecretOptions, 'crt' | 'key'>): TlsSecretSummary {
  return summary({ ...o, crt: leaf.certPem, key: leaf.keyPem });
}

export interface BuildOptions {
  certificates?: ParsedCertificate[];
  policies?: TLSPolicy[];
  namespaceLabels?: Record<string, Record<string, string>>;
  now?: Date;
  endpoints?: InventoryInput['endpoints'];
}

export function build(secrets: TlsSecretSummary[], o: BuildOptions = {}): Inventory {
  return buildInventory({
    now: o.now ?? TEST_NOW,
    secrets,
    certificates: o.certificates ?? [],
    thresholds: new ThresholdResolver({ policies: o.policies ?? [], namespaceLabels: (ns) => o.namespaceLabels?.[ns] ?? {} }),
    ...(o.endpoints === undefined ? {} : { endpoints: o.endpoints }),
  });
}

export const cached = (certificate: Certificate): ParsedCertificate => ({ ok: true, certificate });
