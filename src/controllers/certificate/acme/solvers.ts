import type { CoreV1Api, CustomObjectsApi, NetworkingV1Api, V1OwnerReference } from '@kubernetes/client-node';
import type { AcmeChallengeStatus, Certificate } from '../../../api/certificate.js';
import type { AcmeSolverSpec } from '../../../api/tlspolicy.js';
import type { Clock } from '../../../clock.js';
import { Rfc2136Client } from '../../../issuers/acme/dns/rfc2136.js';
import { tsigKey, type TsigKey } from '../../../issuers/acme/dns/tsig.js';
import { HTTP01_SECRET_TYPE, http01ChallengeName } from '../../../issuers/acme/http01-solver.js';
import { dns01TxtValue } from '../../../issuers/acme/jws.js';
import { AcmeError } from '../../../issuers/acme/problem.js';
import { HTTP01_PATH_PREFIX, dns01SelfCheck, http01SelfCheck, type SelfCheckConfig } from '../../../issuers/acme/self-check.js';
import type { Http01Answers } from '../../../issuers/acme/runtime.js';
import { isConflict, isNotFound } from '../../../kube/errors.js';
import { SecretLabel } from '../../../model/secret.js';

// Presenting a challenge, checking it from outside, and taking it down again.
// HTTP-01: the key authorization in a Secret the solver of every replica
// reads, plus an Ingress and/or HTTPRoute (with an ExternalName Service that
// points at the operator's solver Service) routing the challenge path there.
// DNS-01: a TXT record added by a TSIG-signed RFC 2136 update. Every step is
// idempotent: a restart may repeat any of them.

export interface SolverDeps {
  core: Pick<CoreV1Api, 'readNamespacedSecret' | 'createNamespacedSecret' | 'deleteNamespacedSecret' | 'createNamespacedService' | 'deleteNamespacedService'>;
  networking: Pick<NetworkingV1Api, 'createNamespacedIngress' | 'deleteNamespacedIngress'>;
  customObjects: Pick<CustomObjectsApi, 'createNamespacedCustomObject' | 'deleteNamespacedCustomObject'>;
  operatorNamespace: string;
  /** The operator's HTTP-01 responder; undefined when it does not run (no --acme-http01-port). */
  http01?: { port: number; serviceName: string; answers?: Http01Answers | undefined } | undefined;
  selfCheck: SelfCheckConfig;
  clock: Clock;
}

export interface PresentedChallenge {
  cert: Certificate;
  entry: AcmeChallengeStatus;
  solver: AcmeSolverSpec;
  keyAuthorization: string;
}

export const CHALLENGE_LABEL = 'certkeeper.dev/acme-challenge';
const GATEWAY = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };

async function ignore(status: (err: unknown) => boolean, op: () => Promise<unknown>): Promise<void> {
  try {
    await op();
  } catch (err) {
    if (!status(err)) throw err;
  }
}

function owner(cert: Certificate): V1OwnerReference[] {
  const uid = cert.metadata.uid;
  return uid === undefined ? [] : [{ apiVersion: cert.apiVersion, kind: 'Certificate', name: cert.metadata.name, uid, blockOwnerDeletion: false }];
}

function labels(c: PresentedChallenge): Record<string, string> {
  return {
    [SecretLabel.managedBy]: 'certkeeper',
    [SecretLabel.certificateName]: c.cert.metadata.name.slice(0, 63),
    [CHALLENGE_LABEL]: http01ChallengeName(c.entry.token).slice(-20),
  };
}

export const dnsRecordName = (identifier: string) => `_acme-challenge.${identifier.replace(/^\*\./, '')}`;

async function dnsClient(d: SolverDeps, solver: AcmeSolverSpec): Promise<Rfc2136Client> {
  const rfc = solver.dns01?.rfc2136;
  if (rfc === undefined) throw new AcmeError('final', 'the dns01 solver has no rfc2136 settings');
  let key: TsigKey | undefined;
  if (rfc.tsigKeyName !== undefined || rfc.tsigSecretSecretRef !== undefined) {
    const ref = rfc.tsigSecretSecretRef;
    if (rfc.tsigKeyName === undefined || ref === undefined) throw new AcmeError('final', 'the rfc2136 solver needs both tsigKeyName and tsigSecretSecretRef');
    const where = `${d.operatorNamespace}/${ref.name}`;
    let secret;
    try {
      secret = await d.core.readNamespacedSecret({ name: ref.name, namespace: d.operatorNamespace });
    } catch (err) {
      if (isNotFound(err)) throw new AcmeError('final', `TSIG Secret ${where} does not exist`);
      throw err;
    }
    const field = ref.key ?? 'secret';
    const value = secret.data?.[field];
    if (value === undefined) throw new AcmeError('final', `TSIG Secret ${where} has no "${field}"`);
    try {
      key = tsigKey(rfc.tsigKeyName, rfc.tsigAlgorithm ?? 'HMACSHA256', Buffer.from(value, 'base64').toString('utf8'));
    } catch (err) {
      throw new AcmeError('final', `TSIG Secret ${where}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return new Rfc2136Client({ nameserver: rfc.nameserver, tsig: key, clock: d.clock, timeoutMs: d.selfCheck.timeoutMs });
}

async function presentHttp01(d: SolverDeps, c: PresentedChallenge): Promise<void> {
  if (d.http01 === undefined) {
    throw new AcmeError('final', 'the HTTP-01 solver is not running: start the operator with --acme-http01-port (and a Service in front of it)');
  }
  const name = http01ChallengeName(c.entry.token);
  const namespace = c.cert.metadata.namespace ?? 'default';
  const identifier = c.entry.identifier;
  await ignore(isConflict, () =>
    d.core.createNamespacedSecret({
      namespace: d.operatorNamespace,
      body: {
        metadata: { name, labels: { ...labels(c), 'certkeeper.dev/certificate-namespace': namespace } },
        type: HTTP01_SECRET_TYPE,
        stringData: { token: c.entry.token, keyAuthorization: c.keyAuthorization, identifier },
      },
    }),
  );
  // This replica's responder answers from memory what is now in that Secret (other replicas read it).
  d.http01.answers?.prime({ token: c.entry.token, keyAuthorization: c.keyAuthorization, identifier });
  const http01 = c.solver.http01;
  if (http01?.ingress === undefined && http01?.gatewayHTTPRoute === undefined) return;
  const port = d.http01.port;
  await ignore(isConflict, () =>
    d.core.createNamespacedService({
      namespace,
      body: {
        metadata: { name, labels: labels(c), ownerReferences: owner(c.cert) },
        spec: { type: 'ExternalName', externalName: `${d.http01?.serviceName ?? ''}.${d.operatorNamespace}.svc.cluster.local`, ports: [{ name: 'http', port, protocol: 'TCP' }] },
      },
    }),
  );
  const path = `${HTTP01_PATH_PREFIX}${c.entry.token}`;
  const ingress = http01.ingress;
  if (ingress !== undefined) {
    await ignore(isConflict, () =>
      d.networking.createNamespacedIngress({
        namespace,
        body: {
          metadata: {
            name,
            labels: labels(c),
            ownerReferences: owner(c.cert),
            ...(ingress.class === undefined ? {} : { annotations: { 'kubernetes.io/ingress.class': ingress.class } }),
          },
          spec: {
            ...(ingress.ingressClassName === undefined ? {} : { ingressClassName: ingress.ingressClassName }),
            rules: [{ host: identifier, http: { paths: [{ path, pathType: 'Exact', backend: { service: { name, port: { number: port } } } }] } }],
          },
        },
      }),
    );
  }
  const route = http01.gatewayHTTPRoute;
  if (route !== undefined) {
    await ignore(isConflict, () =>
      d.customObjects.createNamespacedCustomObject({
        ...GATEWAY,
        namespace,
        body: {
          apiVersion: `${GATEWAY.group}/${GATEWAY.version}`,
          kind: 'HTTPRoute',
          metadata: { name, labels: labels(c), ownerReferences: owner(c.cert) },
          spec: {
            parentRefs: route.parentRefs,
            hostnames: [identifier],
            rules: [{ matches: [{ path: { type: 'Exact', value: path } }], backendRefs: [{ name, port }] }],
          },
        },
      }),
    );
  }
}

async function cleanupHttp01(d: SolverDeps, c: PresentedChallenge): Promise<void> {
  const name = http01ChallengeName(c.entry.token);
  const namespace = c.cert.metadata.namespace ?? 'default';
  const http01 = c.solver.http01;
  if (http01?.ingress !== undefined) await ignore(isNotFound, () => d.networking.deleteNamespacedIngress({ name, namespace }));
  if (http01?.gatewayHTTPRoute !== undefined) await ignore(isNotFound, () => d.customObjects.deleteNamespacedCustomObject({ ...GATEWAY, namespace, name }));
  if (http01?.ingress !== undefined || http01?.gatewayHTTPRoute !== undefined) await ignore(isNotFound, () => d.core.deleteNamespacedService({ name, namespace }));
  await ignore(isNotFound, () => d.core.deleteNamespacedSecret({ name, namespace: d.operatorNamespace }));
  d.http01?.answers?.forget(c.entry.token);
}

/**
 * Takes down what an HTTP-01 challenge may have up when the solver that
 * presented it is no longer known (the Certificate is blocked: no policy
 * governs it now): every kind it could have made, by its name, absent ones
 * skipped. A DNS-01 record cannot be removed without its solver's key.
 */
export async function cleanupHttp01Anyway(d: SolverDeps, cert: Certificate, token: string): Promise<void> {
  const name = http01ChallengeName(token);
  const namespace = cert.metadata.namespace ?? 'default';
  const absentOrUnknown = (err: unknown) => isNotFound(err);
  await ignore(absentOrUnknown, () => d.networking.deleteNamespacedIngress({ name, namespace }));
  await ignore(absentOrUnknown, () => d.customObjects.deleteNamespacedCustomObject({ ...GATEWAY, namespace, name }));
  await ignore(absentOrUnknown, () => d.core.deleteNamespacedService({ name, namespace }));
  await ignore(absentOrUnknown, () => d.core.deleteNamespacedSecret({ name, namespace: d.operatorNamespace }));
  d.http01?.answers?.forget(token);
}

export async function presentChallenge(d: SolverDeps, c: PresentedChallenge): Promise<void> {
  if (c.entry.type === 'http-01') return presentHttp01(d, c);
  const client = await dnsClient(d, c.solver);
  await client.addTxt(dnsRecordName(c.entry.identifier), dns01TxtValue(c.keyAuthorization));
}

export async function cleanupChallenge(d: SolverDeps, c: PresentedChallenge): Promise<void> {
  if (c.entry.type === 'http-01') return cleanupHttp01(d, c);
  const client = await dnsClient(d, c.solver);
  await client.removeTxt(dnsRecordName(c.entry.identifier), dns01TxtValue(c.keyAuthorization));
}

/** Undefined when the challenge is visible from outside as the CA will look at it; else what was seen. */
export async function selfCheckChallenge(d: SolverDeps, c: PresentedChallenge): Promise<string | undefined> {
  if (c.entry.type === 'http-01') return http01SelfCheck(c.entry.identifier.replace(/^\*\./, ''), c.entry.token, c.keyAuthorization, d.selfCheck);
  const nameserver = c.solver.dns01?.rfc2136.nameserver;
  if (nameserver === undefined) return 'the dns01 solver has no nameserver';
  return dns01SelfCheck(dnsRecordName(c.entry.identifier), dns01TxtValue(c.keyAuthorization), nameserver, d.clock, d.selfCheck.timeoutMs);
}
