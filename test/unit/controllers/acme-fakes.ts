import { ApiException, type V1Secret, type V1Service, type V1Status } from '@kubernetes/client-node';
import type { Certificate, CertificateStatus } from '../../../src/api/certificate.js';
import type { AcmeSolverSpec, TLSPolicy } from '../../../src/api/tlspolicy.js';
import type { AcmeIssuerDeps } from '../../../src/controllers/certificate/acme/pipeline.js';
import { CertificateGoneError } from '../../../src/controllers/certificate/status-writer.js';
import type { AcmeAccounts } from '../../../src/issuers/acme/accounts.js';
import { AcmeError } from '../../../src/issuers/acme/problem.js';
import type { AcmeAuthorization, AcmeDirectory, AcmeOrder, AcmeSession, Polled, RenewalWindow } from '../../../src/issuers/acme/session.js';
import { withChange } from '../../../src/kube/status.js';
import { parseCsr } from '../../../src/pki/csr.js';
import { signCertificateWithCa } from '../../../src/pki/sign.js';
import type { Governed } from '../../../src/model/spec.js';
import { certificate, selectingAll, tlsPolicy, withKey, withPolicySpec } from '../../support/builders.js';
import { FakeClock } from '../../support/fake-clock.js';
import type { TestCa } from '../../support/pki.js';
import { governedBy, silentLog } from './fakes.js';

// A scripted ACME world for the pipeline and upkeep tests: a CA behind a fake
// AcmeSession (orders, authorizations, finalize, download, ARI, revoke), the
// API server's copy of the Certificate (read fresh, status changed through a
// fake status writer), and the Secrets, Services and Ingresses the key
// manager and the HTTP-01 solver make. Everything that happens is appended
// to one journal, so a test can check the order of effects.

export const SERVER = 'https://acme.example/directory';
export const ACCOUNT = 'https://acme.example/acct/1';
export const NOW = Date.parse('2026-03-01T00:00:00Z');
export const OPERATOR_NAMESPACE = 'certkeeper';

// CoreV1Api fails with ApiException (its `code`), so the fakes of it do too.
const apiError = (code: number, message: string) => new ApiException(code, message, JSON.stringify({ message }), {});
const notFound = (what: string) => apiError(404, `${what} not found`);
const conflict = (what: string) => apiError(409, `${what} already exists`);
const clone = <T>(v: T): T => structuredClone(v);

export const http01Solver: AcmeSolverSpec = { http01: { ingress: { ingressClassName: 'nginx' } } };

export function acmePolicy(over: { revokeOnDelete?: boolean; solvers?: AcmeSolverSpec[] } = {}): TLSPolicy {
  return tlsPolicy(
    'le',
    selectingAll,
    withPolicySpec({
      issuer: { acme: { server: SERVER, privateKeySecretRef: { name: 'acct' }, solvers: over.solvers ?? [http01Solver], ...(over.revokeOnDelete === undefined ? {} : { revokeOnDelete: over.revokeOnDelete }) } },
    }),
  );
}

/** An ACME Certificate with a quick key. */
export const acmeCertificate = (...options: ((c: Certificate) => void)[]): Certificate =>
  certificate('web', withKey({ algorithm: 'ECDSA', encoding: 'PKCS8', rotationPolicy: 'Always' }), ...options);

/** The CA, one step per call, as AcmeSession presents it. */
export class FakeAcmeCa {
  readonly server = SERVER;
  readonly accountURI = ACCOUNT;
  readonly thumbprint = 'account-thumbprint';
  readonly orders = new Map<string, AcmeOrder>();
  readonly authorizations = new Map<string, AcmeAuthorization>();
  private readonly csrs = new Map<string, string>();
  private seq = 0;
  /** Retry-After the CA sends with orders it is processing. */
  orderRetryAfterMs: number | undefined = undefined;
  /** What finalize leaves the order in. */
  finalizeTo: 'valid' | 'processing' = 'valid';
  directoryDoc: AcmeDirectory = { newNonce: `${SERVER}/nonce`, newAccount: `${SERVER}/acct`, newOrder: `${SERVER}/order`, renewalInfo: `${SERVER}/ari` };
  renewal: RenewalWindow | Error | undefined = undefined;
  revokeError: Error | undefined = undefined;
  /** Thrown by the next createOrder, once. */
  createOrderError: Error | undefined = undefined;

  constructor(
    private readonly journal: string[],
    private readonly issuingCa: TestCa,
    private readonly clock: FakeClock,
  ) {}

  private note(what: string): void {
    this.journal.push(`ca: ${what}`);
  }

  private order(url: string): AcmeOrder {
    const order = this.orders.get(url);
    if (order === undefined) throw new AcmeError('final', `order ${url} does not exist`, { status: 404 });
    return order;
  }

  directory(): Promise<AcmeDirectory> {
    this.note('directory');
    return Promise.resolve(clone(this.directoryDoc));
  }

  createOrder(request: { identifiers: { type: 'dns'; value: string }[]; replaces?: string | undefined }): Promise<AcmeOrder> {
    const failure = this.createOrderError;
    if (failure !== undefined) {
      this.createOrderError = undefined;
      this.note('createOrder failed');
      return Promise.reject(failure);
    }
    const n = ++this.seq;
    const url = `${SERVER}/order/${n}`;
    this.note(`createOrder ${url}${request.replaces === undefined ? '' : ` replaces ${request.replaces}`}`);
    const authorizations = request.identifiers.map((id, i) => {
      const authzUrl = `${SERVER}/authz/${n}-${i}`;
      this.authorizations.set(authzUrl, {
        url: authzUrl,
        status: 'pending',
        identifier: { type: 'dns', value: id.value },
        wildcard: false,
        challenges: [{ type: 'http-01', url: `${SERVER}/chall/${n}-${i}`, token: `token-${n}-${i}`, status: 'pending' }],
      });
      return authzUrl;
    });
    const order: AcmeOrder = { url, status: 'pending', identifiers: request.identifiers, authorizations, finalize: `${url}/finalize` };
    this.orders.set(url, order);
    return Promise.resolve(clone(order));
  }

  getOrder(url: string): Promise<Polled<AcmeOrder>> {
    this.note(`getOrder ${url}`);
    const order = this.orders.get(url);
    if (order === undefined) return Promise.reject(new AcmeError('final', `order ${url} does not exist`, { status: 404 }));
    return Promise.resolve({ value: clone(order), retryAfterMs: order.status === 'processing' || order.status === 'pending' ? this.orderRetryAfterMs : undefined });
  }

  getAuthorization(url: string): Promise<Polled<AcmeAuthorization>> {
    this.note(`getAuthorization ${url}`);
    const authz = this.authorizations.get(url);
    return authz === undefined ? Promise.reject(new AcmeError('final', `no authorization ${url}`)) : Promise.resolve({ value: clone(authz) });
  }

  acceptChallenge(challenge: { url: string }): Promise<void> {
    this.note(`acceptChallenge ${challenge.url}`);
    return Promise.resolve();
  }

  deactivateAuthorization(url: string): Promise<void> {
    this.note(`deactivateAuthorization ${url}`);
    return Promise.resolve();
  }

  finalize(order: AcmeOrder, csrPem: string): Promise<Polled<AcmeOrder>> {
    this.note(`finalize ${order.url}`);
    const stored = this.order(order.url);
    this.csrs.set(order.url, csrPem);
    stored.status = this.finalizeTo;
    if (this.finalizeTo === 'valid') stored.certificate = `${order.url}/cert`;
    return Promise.resolve({ value: clone(stored) });
  }

  /** Thrown by the next downloadCertificate, once. */
  downloadError: Error | undefined = undefined;

  async downloadCertificate(order: AcmeOrder): Promise<string> {
    this.note(`downloadCertificate ${order.url}`);
    const failure = this.downloadError;
    if (failure !== undefined) {
      this.downloadError = undefined;
      throw failure;
    }
    const csr = this.csrs.get(order.url);
    if (csr === undefined) throw new AcmeError('final', `order ${order.url} was never finalized`);
    const parsed = await parseCsr(csr);
    const leaf = await signCertificateWithCa({
      spec: { dnsNames: parsed.dnsNames, durationMs: 90 * 86_400_000 },
      subjectKey: parsed.publicKey,
      ca: this.issuingCa,
      now: new Date(this.clock.now() - 60_000),
    });
    return leaf.pem + this.issuingCa['tls.crt'];
  }

  revoke(pem: string): Promise<void> {
    this.note(`revoke ${pem.length > 0 ? 'pem' : 'empty'}`);
    return this.revokeError === undefined ? Promise.resolve() : Promise.reject(this.revokeError);
  }

  renewalInfo(certId: string): Promise<RenewalWindow | undefined> {
    this.note(`renewalInfo ${certId}`);
    const r = this.renewal;
    return r instanceof Error ? Promise.reject(r) : Promise.resolve(r === undefined ? undefined : clone(r));
  }

  // Scripting: what the CA decides between reconciles.

  /** Every authorization of the order valid, the order ready. */
  validate(url: string): void {
    const order = this.order(url);
    for (const a of order.authorizations) {
      const authz = this.authorizations.get(a);
      if (authz === undefined) continue;
      authz.status = 'valid';
      for (const c of authz.challenges) c.status = 'valid';
    }
    order.status = 'ready';
  }

  /** The first authorization's challenge failed with `detail`; the order is invalid. */
  invalidate(url: string, detail: string): void {
    const order = this.order(url);
    const authz = this.authorizations.get(order.authorizations[0] ?? '');
    if (authz !== undefined) {
      authz.status = 'invalid';
      for (const c of authz.challenges) {
        c.status = 'invalid';
        c.error = { type: 'urn:ietf:params:acme:error:unauthorized', detail, status: 403 };
      }
    }
    order.status = 'invalid';
  }

  setOrderStatus(url: string, status: AcmeOrder['status']): void {
    const order = this.order(url);
    order.status = status;
    if (status === 'valid') order.certificate = `${url}/cert`;
  }

  /** The CA's calls by name, in order. */
  calls(journal: readonly string[]): string[] {
    return journal.filter((j) => j.startsWith('ca: ')).map((j) => (j.slice(4).split(' ')[0] ?? ''));
  }
}

type Req<K extends keyof AcmeIssuerDeps['core']> = Parameters<AcmeIssuerDeps['core'][K]>[0];

/** Secrets and Services of a namespace-scoped API server, over Maps. */
export class FakeCore implements Pick<AcmeIssuerDeps['core'], 'readNamespacedSecret' | 'createNamespacedSecret' | 'replaceNamespacedSecret' | 'deleteNamespacedSecret' | 'createNamespacedService' | 'deleteNamespacedService'> {
  readonly secrets = new Map<string, V1Secret>();
  readonly services = new Map<string, V1Service>();
  /** Thrown by the next Secret create, once. */
  createSecretError: Error | undefined = undefined;
  private version = 100;

  constructor(private readonly journal: string[]) {}

  /** Every Secret read, by namespace/name (reads are not in the journal). */
  readonly secretReads: string[] = [];

  readNamespacedSecret(p: Req<'readNamespacedSecret'>): Promise<V1Secret> {
    this.secretReads.push(`${p.namespace}/${p.name}`);
    const found = this.secrets.get(`${p.namespace}/${p.name}`);
    return found === undefined ? Promise.reject(notFound(`secrets "${p.name}"`)) : Promise.resolve(clone(found));
  }

  createNamespacedSecret(p: Req<'createNamespacedSecret'>): Promise<V1Secret> {
    const key = `${p.namespace}/${p.body.metadata?.name ?? ''}`;
    this.journal.push(`core: create Secret ${key}`);
    const failure = this.createSecretError;
    this.createSecretError = undefined;
    if (failure !== undefined) return Promise.reject(failure);
    if (this.secrets.has(key)) return Promise.reject(conflict(`secrets "${key}"`));
    const written = { ...clone(p.body), metadata: { ...p.body.metadata, namespace: p.namespace, resourceVersion: String(++this.version) } };
    this.secrets.set(key, written);
    return Promise.resolve(clone(written));
  }

  replaceNamespacedSecret(p: Req<'replaceNamespacedSecret'>): Promise<V1Secret> {
    const key = `${p.namespace}/${p.name}`;
    this.journal.push(`core: replace Secret ${key}`);
    const current = this.secrets.get(key);
    if (current === undefined) return Promise.reject(notFound(`secrets "${key}"`));
    if (p.body.metadata?.resourceVersion !== current.metadata?.resourceVersion) return Promise.reject(apiError(409, 'the object has been modified'));
    const written = { ...clone(p.body), metadata: { ...p.body.metadata, namespace: p.namespace, resourceVersion: String(++this.version) } };
    this.secrets.set(key, written);
    return Promise.resolve(clone(written));
  }

  deleteNamespacedSecret(p: Req<'deleteNamespacedSecret'>): Promise<V1Status> {
    const key = `${p.namespace}/${p.name}`;
    this.journal.push(`core: delete Secret ${key}`);
    return this.secrets.delete(key) ? Promise.resolve({}) : Promise.reject(notFound(`secrets "${key}"`));
  }

  createNamespacedService(p: Req<'createNamespacedService'>): Promise<V1Service> {
    const key = `${p.namespace}/${p.body.metadata?.name ?? ''}`;
    this.journal.push(`core: create Service ${key}`);
    this.services.set(key, clone(p.body));
    return Promise.resolve(clone(p.body));
  }

  deleteNamespacedService(p: Req<'deleteNamespacedService'>): Promise<V1Service> {
    const key = `${p.namespace}/${p.name}`;
    this.journal.push(`core: delete Service ${key}`);
    const found = this.services.get(key);
    this.services.delete(key);
    return found === undefined ? Promise.reject(notFound(`services "${key}"`)) : Promise.resolve(found);
  }
}

/** The API server's copy of Certificates: fresh reads, status changes, finalizers. */
export class FakeCertificateServer {
  readonly objects = new Map<string, Certificate>();
  /** Set: the next status writes fail with it (as an API server answering 500). */
  statusError: Error | undefined;
  private version = 1;

  constructor(private readonly journal: string[]) {}

  put(cert: Certificate): Certificate {
    const stored = { ...clone(cert), metadata: { ...clone(cert.metadata), resourceVersion: String(++this.version) } };
    this.objects.set(`${cert.metadata.namespace ?? 'default'}/${cert.metadata.name}`, stored);
    return clone(stored);
  }

  current(key = 'default/web'): Certificate | undefined {
    const c = this.objects.get(key);
    return c === undefined ? undefined : clone(c);
  }

  get = (name: string, namespace?: string): Promise<Certificate | undefined> => {
    this.journal.push(`api: get Certificate ${namespace ?? ''}/${name}`);
    return Promise.resolve(this.current(`${namespace ?? 'default'}/${name}`));
  };

  setFinalizers = (cert: Certificate, finalizers: string[]): Promise<void> => {
    const key = `${cert.metadata.namespace ?? 'default'}/${cert.metadata.name}`;
    this.journal.push(`api: finalizers ${key} [${finalizers.join(',')}]`);
    const stored = this.objects.get(key);
    if (stored !== undefined) stored.metadata.finalizers = finalizers;
    return Promise.resolve();
  };

  /** The status writer's change(): writes over the stored status, as CertificateStatusWriter.change does. */
  change = (cert: Certificate, change: Partial<CertificateStatus>): Promise<Certificate> => {
    const key = `${cert.metadata.namespace ?? 'default'}/${cert.metadata.name}`;
    const stored = this.objects.get(key);
    if (stored === undefined) return Promise.reject(new CertificateGoneError(`Certificate ${key} was deleted`));
    if (this.statusError !== undefined) return Promise.reject(this.statusError);
    const fields = Object.entries(change).map(([k, v]) => (v === undefined ? `-${k}` : k === 'acme' ? `acme(${(v as { url: string; state: string }).url} ${(v as { state: string }).state})` : k));
    this.journal.push(`api: status ${fields.join(' ')}`);
    stored.status = withChange(cert.status ?? {}, change);
    stored.metadata.resourceVersion = String(++this.version);
    return Promise.resolve(clone(stored));
  };
}

export interface AcmeWorld {
  clock: FakeClock;
  journal: string[];
  ca: FakeAcmeCa;
  core: FakeCore;
  server: FakeCertificateServer;
  networking: string[];
  /** Sessions handed out; `waiting` makes the account not ready. */
  accounts: { sessions: number; waiting: string | undefined };
  /** Live Secrets the typed SecretsClient (revocation) reads and deletes. */
  deps: AcmeIssuerDeps;
  policy: TLSPolicy;
  governed: (cert: Certificate, policy?: TLSPolicy) => Governed;
  log: typeof silentLog;
}

/** A world around a test CA; `selfCheck` answers the HTTP-01 self-check (see the test's module mock). */
export function acmeWorld(issuingCa: TestCa, policy: TLSPolicy = acmePolicy()): AcmeWorld {
  const clock = new FakeClock(NOW);
  const journal: string[] = [];
  const ca = new FakeAcmeCa(journal, issuingCa, clock);
  const core = new FakeCore(journal);
  const server = new FakeCertificateServer(journal);
  const networking: string[] = [];
  const accounts = { sessions: 0, waiting: undefined as string | undefined };
  const fakeAccounts = {
    session: (p: TLSPolicy) => {
      accounts.sessions++;
      journal.push(`accounts: session ${p.metadata.name}`);
      return Promise.resolve(accounts.waiting === undefined ? { session: ca as unknown as AcmeSession } : { waiting: accounts.waiting });
    },
  } satisfies Pick<AcmeAccounts, 'session'>;
  const deps: AcmeIssuerDeps = {
    clock,
    // The fake CA and accounts have the methods the pipeline calls; the classes keep private state, hence the casts.
    accounts: fakeAccounts as unknown as AcmeAccounts,
    certificates: { get: server.get, setFinalizers: server.setFinalizers },
    secrets: {
      get: (namespace, name) => core.readNamespacedSecret({ namespace, name }).catch(() => undefined),
      delete: (namespace, name) => core.deleteNamespacedSecret({ namespace, name }).then(() => undefined, () => undefined),
    },
    selfCheckTimeoutMs: 60_000,
    core,
    statusWriter: { change: server.change },
    networking: {
      createNamespacedIngress: (p) => {
        networking.push(`create Ingress ${p.namespace}/${p.body.metadata?.name ?? ''}`);
        journal.push(`net: create Ingress ${p.namespace}/${p.body.metadata?.name ?? ''}`);
        return Promise.resolve(p.body);
      },
      deleteNamespacedIngress: (p) => {
        networking.push(`delete Ingress ${p.namespace}/${p.name}`);
        journal.push(`net: delete Ingress ${p.namespace}/${p.name}`);
        return Promise.resolve({});
      },
    },
    customObjects: {
      createNamespacedCustomObject: () => Promise.reject(new Error('no HTTPRoute expected')),
      // No HTTPRoute is ever made here: deleting one answers as the API server does for an absent object.
      deleteNamespacedCustomObject: (p: { namespace: string; name: string }) => {
        journal.push(`gw: delete HTTPRoute ${p.namespace}/${p.name}`);
        return Promise.reject(notFound(`httproutes "${p.name}"`));
      },
    },
    operatorNamespace: OPERATOR_NAMESPACE,
    http01: {
      port: 8089,
      serviceName: 'certkeeper-solver',
      answers: {
        prime: (a) => journal.push(`responder: prime ${a.token} for ${a.identifier}`),
        forget: (token) => journal.push(`responder: forget ${token}`),
      },
    },
    selfCheck: { http01Port: 80, timeoutMs: 1000 },
  };
  return { clock, journal, ca, core, server, networking, accounts, deps, policy, governed: (cert, p = policy) => governedBy(cert, p, 'acme'), log: silentLog };
}
