import { randomUUID } from 'node:crypto';
import * as CDX from '@cyclonedx/cyclonedx-library';
import type { CertificateFacts } from '../model/certificate-facts.js';
import type { SeenGroup, SeenProtocol } from './seen.js';
import { locationName, type Inventory, type InventoryEntry } from './model.js';

export { groupsSeen, protocolsSeen, type SeenGroup, type SeenProtocol } from './seen.js';

// The inventory as a CycloneDX 1.6 cryptographic bill of materials (CBOM):
// every certificate, the public key it certifies and the algorithms both
// use, as `cryptographic-asset` components linked by dependencies. The
// CycloneDX library builds and serialises the BOM (metadata, components,
// bom-refs, dependencies); its models have no cryptoProperties yet (10.3),
// so those are added to the normalised JSON by bom-ref, and the whole
// document is what the test validates against the 1.6 JSON schema.
// Public facts only: there is no key material in the inventory to leak.

interface AlgorithmFacts {
  /** Our name, stable: "SHA256-RSA", "ECDSA-P256", "RSA-2048". */
  name: string;
  primitive: 'signature' | 'pke' | 'unknown';
  curve?: string;
  parameterSetIdentifier?: string;
  classicalSecurityLevel?: number;
  /** 0: broken by a large enough quantum computer (every RSA, ECDSA and EdDSA key is). */
  nistQuantumSecurityLevel: number;
  cryptoFunctions: string[];
  oid?: string;
}

const CURVES: Readonly<Record<number, { curve: string; level: number }>> = {
  256: { curve: 'secp256r1', level: 128 },
  384: { curve: 'secp384r1', level: 192 },
  521: { curve: 'secp521r1', level: 256 },
};

/** NIST SP 800-57 comparable strengths of RSA moduli. */
function rsaLevel(bits: number): number | undefined {
  if (bits >= 15360) return 256;
  if (bits >= 7680) return 192;
  if (bits >= 3072) return 128;
  if (bits >= 2048) return 112;
  if (bits >= 1024) return 80;
  return undefined;
}

function keyAlgorithm(c: CertificateFacts): AlgorithmFacts {
  const size = c.keySize;
  switch (c.keyAlgorithm) {
    case 'RSA':
      return { name: `RSA-${size ?? '?'}`, primitive: 'pke', parameterSetIdentifier: String(size ?? ''), ...withLevel(size === undefined ? undefined : rsaLevel(size)), nistQuantumSecurityLevel: 0, cryptoFunctions: ['encapsulate', 'decapsulate', 'sign', 'verify'], oid: '1.2.840.113549.1.1.1' };
    case 'ECDSA': {
      const curve = size === undefined ? undefined : CURVES[size];
      return { name: `ECDSA-P${size ?? '?'}`, primitive: 'signature', ...(curve === undefined ? {} : { curve: curve.curve }), ...withLevel(curve?.level), nistQuantumSecurityLevel: 0, cryptoFunctions: ['sign', 'verify'], oid: '1.2.840.10045.2.1' };
    }
    case 'Ed25519':
      return { name: 'Ed25519', primitive: 'signature', curve: 'Curve25519', classicalSecurityLevel: 128, nistQuantumSecurityLevel: 0, cryptoFunctions: ['sign', 'verify'], oid: '1.3.101.112' };
    default:
      return { name: c.keyAlgorithm, primitive: 'unknown', nistQuantumSecurityLevel: 0, cryptoFunctions: ['verify'] };
  }
}

function withLevel(level: number | undefined): { classicalSecurityLevel?: number } {
  return level === undefined ? {} : { classicalSecurityLevel: level };
}

const SIGNATURE_OIDS: Readonly<Record<string, string>> = {
  'SHA1-RSA': '1.2.840.113549.1.1.5',
  'SHA256-RSA': '1.2.840.113549.1.1.11',
  'SHA384-RSA': '1.2.840.113549.1.1.12',
  'SHA512-RSA': '1.2.840.113549.1.1.13',
  'RSASSA-PSS': '1.2.840.113549.1.1.10',
  'ECDSA-SHA1': '1.2.840.10045.4.1',
  'ECDSA-SHA256': '1.2.840.10045.4.3.2',
  'ECDSA-SHA384': '1.2.840.10045.4.3.3',
  'ECDSA-SHA512': '1.2.840.10045.4.3.4',
  Ed25519: '1.3.101.112',
  Ed448: '1.3.101.113',
};

function signatureAlgorithm(name: string): AlgorithmFacts {
  const oid = SIGNATURE_OIDS[name];
  return { name, primitive: oid === undefined ? 'unknown' : 'signature', nistQuantumSecurityLevel: 0, cryptoFunctions: ['sign', 'verify'], ...(oid === undefined ? {} : { oid }) };
}

const ref = (kind: string, id: string): string => `${kind}:${id}`;

/** A JSON component as the library normalised it: enough of its shape to attach cryptoProperties. */
interface NormalizedComponent {
  'bom-ref'?: string;
  [key: string]: unknown;
}

/** ML-KEM in a group makes it a KEM with the parameter set's NIST level (FIPS 203: 512 → 1, 768 → 3, 1024 → 5); the rest are (EC)DH. */
function groupProperties(name: string): Record<string, unknown> {
  const kem = /MLKEM(512|768|1024)/i.exec(name);
  if (kem === null) return { primitive: 'key-agree', nistQuantumSecurityLevel: 0, cryptoFunctions: ['keygen', 'keyderive'] };
  const level = { '512': 1, '768': 3, '1024': 5 }[kem[1] as '512' | '768' | '1024'];
  return { primitive: 'kem', parameterSetIdentifier: kem[1], nistQuantumSecurityLevel: level, cryptoFunctions: ['keygen', 'encapsulate', 'decapsulate'] };
}

export interface CbomOptions {
  /** Stamped into metadata.timestamp. */
  now: Date;
  /** metadata.component's version (certkeeper's). */
  version: string;
  /** Locations listed per certificate as properties; the rest are counted. */
  maxLocationsPerCertificate?: number;
  /** TLS versions seen at endpoints (the operator's scans; the CLI has none). */
  protocols?: readonly SeenProtocol[];
  /** Key exchange groups seen at endpoints (likewise). */
  groups?: readonly SeenGroup[];
}

/** The inventory as a CycloneDX 1.6 CBOM, a JSON-ready object. Entries without a certificate (unreadable, not issued) are left out. */
export function inventoryCbom(inventory: Inventory, o: CbomOptions): Record<string, unknown> {
  const bom = new CDX.Models.Bom();
  bom.metadata.timestamp = o.now;
  bom.metadata.component = new CDX.Models.Component(CDX.Enums.ComponentType.Application, 'certkeeper inventory', { version: o.version, bomRef: 'certkeeper-inventory' });
  const cryptoOf = new Map<string, Record<string, unknown>>();
  const components = new Map<string, CDX.Models.Component>();
  const maxLocations = o.maxLocationsPerCertificate ?? 20;

  const algorithm = (a: AlgorithmFacts): CDX.Models.Component => {
    const id = ref('algorithm', a.name);
    let c = components.get(id);
    if (c === undefined) {
      c = new CDX.Models.Component(CDX.Enums.ComponentType.CryptographicAsset, a.name, { bomRef: id });
      components.set(id, c);
      const { name: _name, oid, ...properties } = a;
      cryptoOf.set(id, { cryptoProperties: { assetType: 'algorithm', algorithmProperties: properties, ...(oid === undefined ? {} : { oid }) } });
    }
    return c;
  };

  for (const e of inventory.entries) addCertificate(e);

  function addCertificate(e: InventoryEntry): void {
    const c = e.certificate;
    if (c === undefined) return;
    const signature = algorithm(signatureAlgorithm(c.signatureAlgorithm));
    const keyAlg = algorithm(keyAlgorithm(c));
    // The key is known by the certificate that carries it (the inventory keeps no SPKI hash); one per certificate.
    const keyId = ref('public-key', c.fingerprintSHA256);
    const key = new CDX.Models.Component(CDX.Enums.ComponentType.CryptographicAsset, `${keyAlg.name} public key of ${c.commonName ?? c.subject}`, { bomRef: keyId });
    key.dependencies.add(keyAlg.bomRef);
    components.set(keyId, key);
    cryptoOf.set(keyId, {
      cryptoProperties: {
        assetType: 'related-crypto-material',
        relatedCryptoMaterialProperties: { type: 'public-key', algorithmRef: keyAlg.bomRef.value ?? '', ...(c.keySize === undefined ? {} : { size: c.keySize }), format: 'SubjectPublicKeyInfo' },
      },
    });
    const certId = ref('certificate', `sha256:${c.fingerprintSHA256}`);
    const cert = new CDX.Models.Component(CDX.Enums.ComponentType.CryptographicAsset, c.commonName ?? c.subject, { bomRef: certId, version: c.serialNumber });
    cert.dependencies.add(signature.bomRef);
    cert.dependencies.add(key.bomRef);
    cert.hashes.set(CDX.Enums.HashAlgorithm['SHA-256'], c.fingerprintSHA256);
    const props: [string, string][] = [
      ['certkeeper:managed', e.managedBy.managed],
      ['certkeeper:primaryProblem', e.primaryProblem],
      ...c.dnsNames.slice(0, maxLocations).map((n): [string, string] => ['certkeeper:dnsName', n]),
      ...e.locations.slice(0, maxLocations).map((l): [string, string] => ['certkeeper:location', locationName(l)]),
    ];
    if (e.locations.length > maxLocations) props.push(['certkeeper:locationsOmitted', String(e.locations.length - maxLocations)]);
    if (c.isCA) props.push(['certkeeper:isCA', 'true']);
    for (const [name, value] of props) cert.properties.add(new CDX.Models.Property(name, value));
    components.set(certId, cert);
    cryptoOf.set(certId, {
      cryptoProperties: {
        assetType: 'certificate',
        certificateProperties: {
          subjectName: c.subject,
          issuerName: c.issuer,
          notValidBefore: c.notBefore.toISOString(),
          notValidAfter: c.notAfter.toISOString(),
          signatureAlgorithmRef: signature.bomRef.value ?? '',
          subjectPublicKeyRef: keyId,
          certificateFormat: 'X.509',
          certificateExtension: 'crt',
        },
      },
    });
  }

  /** A component for something seen at endpoints, naming them (the rest counted). */
  const seen = (id: string, name: string, endpoints: readonly string[]): void => {
    const component = new CDX.Models.Component(CDX.Enums.ComponentType.CryptographicAsset, name, { bomRef: id });
    for (const endpoint of endpoints.slice(0, maxLocations)) component.properties.add(new CDX.Models.Property('certkeeper:endpoint', endpoint));
    if (endpoints.length > maxLocations) component.properties.add(new CDX.Models.Property('certkeeper:endpointsOmitted', String(endpoints.length - maxLocations)));
    components.set(id, component);
  };
  for (const p of o.protocols ?? []) {
    const id = ref('protocol', p.version);
    seen(id, p.version, p.endpoints);
    const version = p.version.replace(/^TLSv/, '').replace(/^SSLv/, 'ssl');
    cryptoOf.set(id, { cryptoProperties: { assetType: 'protocol', protocolProperties: { type: p.version.startsWith('TLS') ? 'tls' : 'other', version } } });
  }
  for (const g of o.groups ?? []) {
    const id = ref('group', g.name);
    seen(id, g.name, g.endpoints);
    cryptoOf.set(id, { cryptoProperties: { assetType: 'algorithm', algorithmProperties: groupProperties(g.name) } });
  }
  for (const c of components.values()) bom.components.add(c);
  const normalized = new CDX.Serialize.JSON.Normalize.Factory(CDX.Spec.Spec1dot6).makeForBom().normalize(bom, { sortLists: true });
  const json = JSON.parse(JSON.stringify(normalized)) as Record<string, unknown> & { components?: NormalizedComponent[] };
  json.serialNumber = `urn:uuid:${randomUUID()}`;
  for (const component of json.components ?? []) {
    const extra = cryptoOf.get(component['bom-ref'] ?? '');
    if (extra !== undefined) Object.assign(component, extra);
  }
  return json;
}
