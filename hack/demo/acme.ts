import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { GROUP, VERSION } from '../../src/api/meta.js';
import { tlsPolicy as tlsPolicySchema, type TLSPolicy } from '../../src/api/tlspolicy.js';
import { parseCertificateChainPem, summarizeCertificate, type CertificateSummary } from '../../src/pki/certificates.js';
import { resolveA } from '../env/index.js';
import { LOOPBACK } from '../env/ports.js';
import { detail, dim, facts, green } from './console.js';
import { ACME_POLICY, acmePolicy, APP_NAMESPACE, CHECKOUT, CHECKOUT_NAMES, CHECKOUT_SECRET, checkoutCertificate } from './manifests.js';
import { api, DemoFailure, interrupt, secretField, yamlBlock, type RunningDemo } from './runtime.js';
import { condition, untilOperatorDid, waitForCertificate } from './wait.js';
import type { Certificate } from '../../src/api/certificate.js';

// Step: a Certificate issued through ACME by the environment's Pebble, with
// HTTP-01 challenges answered by the operator's own responder.

const ACCOUNT_TIMEOUT_MS = 30_000;
const ISSUANCE_TIMEOUT_MS = 60_000;

export interface AcmeIssued {
  certificate: Certificate;
  fingerprintSHA256: string;
}

async function readPolicy(demo: RunningDemo, name: string): Promise<TLSPolicy> {
  const raw: unknown = await demo.cluster.clients.customObjects.getClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tlspolicies', name });
  const parsed = tlsPolicySchema.safeParse(raw);
  if (!parsed.success) throw new Error(`TLSPolicy ${name} does not match the API schema: ${parsed.error.message}`);
  return parsed.data;
}

/** Polls a TLSPolicy until `done` holds; `what` names the awaited state in the timeout message. */
export async function waitForPolicy(demo: RunningDemo, name: string, what: string, done: (p: TLSPolicy) => boolean, timeoutMs: number): Promise<TLSPolicy> {
  return untilOperatorDid(
    async ({ observe }) => {
      const policy = await readPolicy(demo, name);
      observe({ status: policy.status ?? null });
      return done(policy) ? policy : undefined;
    },
    { description: `TLSPolicy ${name} to reach ${what}`, operator: demo.operator, timeoutMs, signal: interrupt.signal },
  );
}

/** Points the names at loopback in pebble-challtestsrv, the DNS Pebble's validator and the operator's self-check use. */
async function pointNamesAtLoopback(demo: RunningDemo): Promise<void> {
  const { challtestsrvUrl, dnsServer } = demo.cluster.acme;
  for (const host of CHECKOUT_NAMES) {
    const response = await fetch(`${challtestsrvUrl}/add-a`, { method: 'POST', body: JSON.stringify({ host, addresses: [LOOPBACK] }), signal: interrupt.signal });
    if (!response.ok) throw new DemoFailure(`pebble-challtestsrv refused the A record for ${host}: HTTP ${response.status}`);
    const answers = await resolveA(dnsServer, host);
    if (!answers.includes(LOOPBACK)) throw new DemoFailure(`${host} resolves to ${answers.join(', ') || 'nothing'} at ${dnsServer}, not ${LOOPBACK}`);
  }
  detail(`pebble-challtestsrv DNS (${dnsServer}): ${CHECKOUT_NAMES.map((n) => `${n} A ${LOOPBACK}`).join(', ')}`);
  detail(`Pebble's validator connects to ${LOOPBACK}:${demo.cluster.acme.httpChallengePort}, where the operator's HTTP-01 responder listens`);
}

function acmeProgress(cert: Certificate): string {
  const ready = condition(cert, 'Ready');
  const challenges = cert.status?.acme?.challenges?.map((c) => `${c.identifier}=${c.state}`).join(' ');
  const order = cert.status?.acme?.state;
  const acme = order === undefined ? '' : ` [order ${order}${challenges === undefined || challenges === '' ? '' : `; ${challenges}`}]`;
  return ready === undefined ? `not reconciled yet${acme}` : `Ready=${ready.status} (${ready.reason})${acme}`;
}

/** Checks tls.crt: leaf for the names, each certificate signed by the next, the last by Pebble's issuance root. */
async function verifyChain(demo: RunningDemo): Promise<{ summary: CertificateSummary; chainLength: number }> {
  const where = `${APP_NAMESPACE}/${CHECKOUT_SECRET}`;
  const secret = await api(`reading Secret ${where}`, () => demo.cluster.clients.core.readNamespacedSecret({ namespace: APP_NAMESPACE, name: CHECKOUT_SECRET }));
  const parsed = parseCertificateChainPem(secretField(secret.data, 'tls.crt', where), `tls.crt of Secret ${where}`);
  const chain = parsed.map((c) => new X509Certificate(Buffer.from(c.rawData)));
  const [leaf] = chain;
  const [parsedLeaf] = parsed;
  if (leaf === undefined || parsedLeaf === undefined) throw new DemoFailure(`tls.crt of Secret ${where} holds no certificate`);
  const root = new X509Certificate(await readFile(demo.cluster.acme.issuanceRootPath, 'utf8'));
  const problems: string[] = [];
  chain.forEach((cert, i) => {
    const signer = chain[i + 1] ?? root;
    if (!cert.verify(signer.publicKey)) problems.push(`${cert.subject.replace(/\n/g, ', ')} is not signed by ${signer.subject.replace(/\n/g, ', ')}`);
  });
  const missing = CHECKOUT_NAMES.filter((n) => !(leaf.subjectAltName ?? '').split(', ').includes(`DNS:${n}`));
  if (missing.length > 0) problems.push(`the leaf lacks ${missing.join(', ')}`);
  if (problems.length > 0) throw new DemoFailure(`the chain in ${where} does not lead to Pebble's root:\n  ${problems.join('\n  ')}`);
  return { summary: summarizeCertificate(parsedLeaf), chainLength: chain.length };
}

export async function issueThroughAcme(demo: RunningDemo): Promise<AcmeIssued> {
  const { customObjects } = demo.cluster.clients;
  await pointNamesAtLoopback(demo);

  const policy = acmePolicy(demo.cluster.acme.directoryUrl);
  await api(`creating TLSPolicy ${ACME_POLICY}`, () => customObjects.createClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tlspolicies', body: policy }));
  detail(`TLSPolicy ${ACME_POLICY} (selects the shop namespace below the internal CA: used by Certificates that name it):`);
  yamlBlock({ spec: policy.spec });
  const registered = await waitForPolicy(demo, ACME_POLICY, 'Ready=True (ACME account registered)', (p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true, ACCOUNT_TIMEOUT_MS);
  detail(green(`ACME account registered at Pebble: ${registered.status?.acme?.accountURI ?? '?'}`));

  await api(`creating Certificate ${APP_NAMESPACE}/${CHECKOUT}`, () =>
    customObjects.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: APP_NAMESPACE, plural: 'certificates', body: checkoutCertificate }),
  );
  detail(`Certificate ${APP_NAMESPACE}/${CHECKOUT} (spec.endpoints: the Service that must serve it, checked in the next steps):`);
  yamlBlock({ spec: checkoutCertificate.spec });
  detail(`waiting (up to ${ISSUANCE_TIMEOUT_MS / 1000} s): account -> order -> HTTP-01 for each name -> finalize -> Secret ${CHECKOUT_SECRET}`);
  const issued = await waitForCertificate({
    api: customObjects,
    namespace: APP_NAMESPACE,
    name: CHECKOUT,
    expected: 'Ready=True (issued by Pebble)',
    done: (c) => condition(c, 'Ready')?.status === 'True' && c.status?.fingerprintSHA256 !== undefined,
    describe: acmeProgress,
    operator: demo.operator,
    timeoutMs: ISSUANCE_TIMEOUT_MS,
    signal: interrupt.signal,
    report: (line) => detail(dim(`  ${line}`)),
  });

  const { summary, chainLength } = await verifyChain(demo);
  if (summary.fingerprintSHA256 !== issued.status?.fingerprintSHA256) {
    throw new DemoFailure(`Secret ${CHECKOUT_SECRET} holds leaf ${summary.fingerprintSHA256}, the Certificate reports ${issued.status?.fingerprintSHA256 ?? '(none)'}`);
  }
  detail(green(`${APP_NAMESPACE}/${CHECKOUT} is Ready: issued by Pebble through ACME into Secret ${CHECKOUT_SECRET}`));
  facts([
    ['  policy', issued.status?.policy ?? '?'],
    ['  issuer', summary.issuer],
    ['  SANs', summary.dnsNames.join(', ')],
    ['  notAfter', summary.notAfter.toISOString()],
    ['  renews at', `${issued.status?.renewalTime ?? '?'} (${issued.status?.renewalBasis ?? '?'})`],
    ['  chain', `${chainLength} certificates, verified up to Pebble's issuance root`],
    ['  SHA-256', summary.fingerprintSHA256],
  ]);
  return { certificate: issued, fingerprintSHA256: summary.fingerprintSHA256 };
}
