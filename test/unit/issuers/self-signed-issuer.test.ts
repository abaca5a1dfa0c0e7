import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSelfSignedIssuer } from '../../../src/issuers/selfsigned/self-signed-issuer.js';
import { keyMatchesCertificate, parseCertificateChainPem, summarizeCertificate, verifyChain } from '../../../src/pki/certificates.js';
import { PkiError } from '../../../src/pki/errors.js';
import { DAY_MS, FAST_KEY_CASES, TEST_NOW, testKey } from '../../support/pki.js';

describe('self-signed issuer', () => {
  it.each(FAST_KEY_CASES.flatMap((c) => [false, true].map((isCA) => ({ ...c, isCA }))))(
    '$label, isCA=$isCA: the certificate is its own ca.crt',
    async ({ spec, isCA }) => {
      const privateKey = await testKey(spec);
      const issued = await createSelfSignedIssuer().issue({
        spec: { commonName: 'self.example', dnsNames: ['self.example'], isCA, durationMs: 7 * DAY_MS },
        privateKey,
        now: TEST_NOW,
      });
      expect(issued.caPem).toBe(issued.certificatePem);
      const [cert, ...rest] = parseCertificateChainPem(issued.certificatePem);
      expect(rest).toHaveLength(0);
      expect(cert && summarizeCertificate(cert)).toMatchObject({ isCA, subject: 'CN=self.example', issuer: 'CN=self.example' });
      expect(keyMatchesCertificate(privateKey, issued.certificatePem)).toBe(true);
      expect(verifyChain({ chainPem: issued.certificatePem, caPem: issued.caPem, at: TEST_NOW })).toEqual({ valid: true });
      const node = new NodeX509Certificate(issued.certificatePem);
      expect(node.verify(node.publicKey)).toBe(true);
    },
  );

  it('passes spec problems through as PkiError', async () => {
    const issuer = createSelfSignedIssuer();
    await expect(issuer.issue({ spec: {}, privateKey: await testKey({ algorithm: 'Ed25519' }), now: TEST_NOW })).rejects.toBeInstanceOf(PkiError);
  });
});
