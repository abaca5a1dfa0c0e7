import { describe, expect, it } from 'vitest';
import type { CertificateTemplateSpec, KeyAlgorithm } from '../../../src/pki/spec.js';
import { templateParts } from '../../../src/pki/template.js';
import { templatePartsDer } from '../../../src/pki/template-der.js';

// The natively built subject and extensions are the library's bytes exactly.

const SPECS: readonly CertificateTemplateSpec[] = [
  { commonName: 'web.example', dnsNames: ['web.example'] },
  { dnsNames: ['a.example', '*.b.example'], ipAddresses: ['10.1.2.3', '2001:db8::7', '::ffff:1.2.3.4'], uris: ['spiffe://td/x'], emailAddresses: ['a@b.example'] },
  { commonName: 'Ünïcode & friends', subject: { countries: ['DE', 'FR'], provinces: ['Bavaria'], localities: ['Munich'], streetAddresses: ['Main St 1'], postalCodes: ['80331'], organizations: ['Example AG', 'x_y'], organizationalUnits: ['ops'], serialNumber: '1234' } },
  { commonName: 'ca', isCA: true },
  { commonName: 'ca', isCA: true, caConstraints: { pathLength: 0 } },
  { commonName: 'ca', isCA: true, caConstraints: { pathLength: 200, permittedDNSDomains: ['example.com'], permittedIPRanges: ['10.0.0.0/8'] } },
  { commonName: 'u', usages: ['signing', 'content commitment', 'key encipherment', 'data encipherment', 'key agreement', 'cert sign', 'crl sign', 'encipher only', 'decipher only'] },
  { commonName: 'u', usages: ['decipher only'] },
  { commonName: 'u', usages: ['server auth', 'client auth', 'code signing', 'email protection', 's/mime', 'ipsec end system', 'ipsec tunnel', 'ipsec user', 'timestamping', 'ocsp signing', 'microsoft sgc', 'netscape sgc', 'any'] },
  { commonName: 'u', usages: ['client auth'] },
  { emailAddresses: ['only@example.com'] },
];

const ALGORITHMS: readonly KeyAlgorithm[] = ['RSA', 'ECDSA', 'Ed25519'];

describe('templatePartsDer', () => {
  it('encodes exactly what templateParts encodes', () => {
    for (const spec of SPECS) {
      for (const algorithm of ALGORITHMS) {
        let library: ReturnType<typeof templateParts>;
        try {
          library = templateParts(spec, algorithm);
        } catch (error) {
          expect(() => templatePartsDer(spec, algorithm)).toThrow((error as Error).message);
          continue;
        }
        const native = templatePartsDer(spec, algorithm);
        expect(Buffer.from(native.subject).toString('hex')).toBe(Buffer.from(library.subject.toArrayBuffer()).toString('hex'));
        expect(native.extensions.map((e) => Buffer.from(e).toString('hex'))).toEqual(library.extensions.map((e) => Buffer.from(e.rawData).toString('hex')));
      }
    }
  });

  it('refuses what templateParts refuses', () => {
    expect(() => templatePartsDer({}, 'ECDSA')).toThrow(/at least one of/);
    expect(() => templatePartsDer({ commonName: 'x', usages: ['nonsense' as never] }, 'ECDSA')).toThrow(/unknown usages/);
  });
});
