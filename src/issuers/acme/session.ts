import { createPrivateKey } from 'node:crypto';
import type { Authorization, Client, Order } from 'acme-client';
import type { Clock } from '../../clock.js';
import { classifyAcmeFailure } from './classify.js';
import { AcmeError, describeProblem, isProblemDocument, parseRetryAfter, type AcmeProblemDocument } from './problem.js';
import { acmeClientModule, acmeGet, recordExchanges } from './transport.js';
import { jwkThumbprint } from './jws.js';
import type { AcmeAction } from './metrics.js';

// One ACME account at one CA, as the Certificate controller uses it: each
// call is one step of RFC 8555 (no waiting loops inside), returns the CA's
// Retry-After when it gave one, and fails with an AcmeError that says whether
// the order survives.

export interface AcmeDirectory {
  newNonce: string;
  newAccount: string;
  newOrder: string;
  revokeCert?: string | undefined;
  renewalInfo?: string | undefined;
  meta?: { termsOfService?: string; externalAccountRequired?: boolean; profiles?: Record<string, unknown> } | undefined;
}

export type AcmeOrderStatusValue = 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';

export interface AcmeOrder {
  url: string;
  status: AcmeOrderStatusValue;
  identifiers: { type: string; value: string }[];
  authorizations: string[];
  finalize: string;
  certificate?: string | undefined;
  error?: AcmeProblemDocument | undefined;
}

export interface AcmeChallenge {
  type: string;
  url: string;
  token: string;
  status: string;
  error?: AcmeProblemDocument | undefined;
}

export interface AcmeAuthorization {
  url: string;
  status: 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' | 'revoked';
  identifier: { type: string; value: string };
  wildcard: boolean;
  challenges: AcmeChallenge[];
}

export interface Polled<T> {
  value: T;
  /** The CA's Retry-After on this answer, in ms. */
  retryAfterMs?: number | undefined;
}

export interface RenewalWindow {
  start: Date;
  end: Date;
  explanationURL?: string | undefined;
  retryAfterMs?: number | undefined;
}

const DIRECTORY_TTL_MS = 3_600_000;
const directoryCache = new Map<string, { directory: AcmeDirectory; at: number }>();

function isDirectory(value: unknown): value is AcmeDirectory {
  const d = value as Partial<Record<string, unknown>> | null;
  return typeof d === 'object' && d !== null && typeof d.newNonce === 'string' && typeof d.newAccount === 'string' && typeof d.newOrder === 'string';
}

/** The CA's directory, cached for an hour per URL; an unreachable or malformed one is an AcmeError. */
export async function fetchDirectory(server: string, clock: Clock): Promise<AcmeDirectory> {
  const cached = directoryCache.get(server);
  if (cached !== undefined && clock.now() - cached.at < DIRECTORY_TTL_MS) return cached.directory;
  const result = await recordExchanges('directory', () => acmeGet(server));
  if (!result.ok) throw classifyAcmeFailure(`fetching the ACME directory ${server}`, result.error, result.exchanges, clock.now());
  const { status, data, headers } = result.value;
  if (status >= 400) {
    const text = isProblemDocument(data) ? describeProblem(data, status) : `HTTP ${status}`;
    const kind = status >= 500 || status === 429 ? 'transient' : 'final';
    throw new AcmeError(kind, `fetching the ACME directory ${server}: ${text}`, { status, retryAfterMs: parseRetryAfter(headers['retry-after'], clock.now()) });
  }
  if (!isDirectory(data)) throw new AcmeError('final', `${server} is not an ACME directory (no newNonce, newAccount and newOrder)`);
  directoryCache.set(server, { directory: data, at: clock.now() });
  return data;
}

function orderOf(order: Order, url: string): AcmeOrder {
  return {
    url,
    status: order.status,
    identifiers: order.identifiers,
    authorizations: order.authorizations,
    finalize: order.finalize,
    certificate: order.certificate,
    error: isProblemDocument(order.error) ? order.error : undefined,
  };
}

function authorizationOf(authz: Authorization, url: string): AcmeAuthorization {
  return {
    url,
    status: authz.status,
    identifier: authz.identifier,
    wildcard: authz.wildcard === true,
    challenges: authz.challenges.map((c) => ({
      type: c.type,
      url: c.url,
      token: 'token' in c ? c.token : '',
      status: c.status,
      error: isProblemDocument(c.error) ? c.error : undefined,
    })),
  };
}

type AcmeClientClass = typeof Client;

const stub = (url: string, extra: Partial<Order> = {}): Order => ({ url, status: 'pending', identifiers: [], authorizations: [], finalize: '', ...extra });

export class AcmeSession {
  readonly thumbprint: string;
  private readonly client: Client;

  /** A session; loads acme-client on first use (an operator without ACME policies never does). */
  static async open(server: string, accountURI: string, accountKeyPem: string, clock: Clock): Promise<AcmeSession> {
    const { Client } = await acmeClientModule();
    return new AcmeSession(server, accountURI, accountKeyPem, clock, Client);
  }

  private constructor(
    readonly server: string,
    readonly accountURI: string,
    accountKeyPem: string,
    private readonly clock: Clock,
    Client: AcmeClientClass,
  ) {
    this.client = new Client({ directoryUrl: server, accountKey: accountKeyPem, accountUrl: accountURI });
    signWithParsedKey(this.client, accountKeyPem);
    this.thumbprint = jwkThumbprint(accountKeyPem);
  }

  directory(): Promise<AcmeDirectory> {
    return fetchDirectory(this.server, this.clock);
  }

  /** POSTs one request; returns the value and the Retry-After of the last answer. */
  private async call<T>(action: AcmeAction, what: string, fn: () => Promise<T>): Promise<Polled<T>> {
    const result = await recordExchanges(action, fn);
    if (!result.ok) throw classifyAcmeFailure(what, result.error, result.exchanges, this.clock.now());
    const last = result.exchanges[result.exchanges.length - 1];
    return { value: result.value, retryAfterMs: parseRetryAfter(last?.retryAfter, this.clock.now()) };
  }

  async createOrder(request: { identifiers: { type: 'dns'; value: string }[]; profile?: string | undefined; replaces?: string | undefined }): Promise<AcmeOrder> {
    // acme-client passes fields it does not know (profile, replaces) through to the CA.
    const body: Parameters<Client['createOrder']>[0] & { profile?: string; replaces?: string } = {
      identifiers: request.identifiers,
      ...(request.profile === undefined ? {} : { profile: request.profile }),
      ...(request.replaces === undefined ? {} : { replaces: request.replaces }),
    };
    const { value } = await this.call('order', 'creating the order', () => this.client.createOrder(body));
    return orderOf(value, value.url);
  }

  async getOrder(url: string): Promise<Polled<AcmeOrder>> {
    const polled = await this.call('order', `reading order ${url}`, () => this.client.getOrder(stub(url)));
    return { value: orderOf(polled.value, url), retryAfterMs: polled.retryAfterMs };
  }

  async getAuthorization(url: string): Promise<Polled<AcmeAuthorization>> {
    const polled = await this.call('authorization', `reading authorization ${url}`, () => this.client.getAuthorizations(stub('', { authorizations: [url] })));
    const [authz] = polled.value;
    if (authz === undefined) throw new AcmeError('transient', `reading authorization ${url}: no answer`);
    return { value: authorizationOf(authz, url), retryAfterMs: polled.retryAfterMs };
  }

  /** Tells the CA the challenge is ready to be validated (RFC 8555 7.5.1). */
  async acceptChallenge(challenge: { url: string; type: string; token: string }): Promise<void> {
    await this.call('challenge', `accepting challenge ${challenge.url}`, () =>
      this.client.completeChallenge({ type: 'http-01', url: challenge.url, token: challenge.token, status: 'pending' }),
    );
  }

  async deactivateAuthorization(url: string): Promise<void> {
    await this.call('authorization', `deactivating authorization ${url}`, () => this.client.deactivateAuthorization({ ...stubAuthorization(url) }));
  }

  async finalize(order: AcmeOrder, csrPem: string): Promise<Polled<AcmeOrder>> {
    const polled = await this.call('finalize', `finalizing order ${order.url}`, () => this.client.finalizeOrder(stub(order.url, { finalize: order.finalize }), csrPem));
    return { value: orderOf(polled.value, order.url), retryAfterMs: polled.retryAfterMs };
  }

  /** The PEM chain of a valid order; with `preferredChain`, the alternate whose issuers include that common name. */
  async downloadCertificate(order: AcmeOrder, preferredChain?: string): Promise<string> {
    if (order.certificate === undefined) throw new AcmeError('final', `order ${order.url} is valid but names no certificate`);
    const certificate = order.certificate;
    const { value } = await this.call('certificate', `downloading the certificate of order ${order.url}`, () =>
      this.client.getCertificate(stub(order.url, { status: 'valid', certificate }), preferredChain),
    );
    return value;
  }

  async revoke(certificatePem: string): Promise<void> {
    await this.call('revoke', 'revoking the certificate', () => this.client.revokeCertificate(certificatePem, { reason: 5 }));
  }

  /** RFC 9773: the suggested renewal window of a certificate, by its CertID. */
  async renewalInfo(certId: string): Promise<RenewalWindow | undefined> {
    const directory = await this.directory();
    if (directory.renewalInfo === undefined) return undefined;
    const url = `${directory.renewalInfo.replace(/\/$/, '')}/${certId}`;
    const result = await recordExchanges('renewal_info', () => acmeGet(url));
    if (!result.ok) throw classifyAcmeFailure(`fetching renewal information ${url}`, result.error, result.exchanges, this.clock.now());
    const { status, data, headers } = result.value;
    const retryAfterMs = parseRetryAfter(headers['retry-after'], this.clock.now());
    if (status >= 400) {
      const text = isProblemDocument(data) ? describeProblem(data, status) : `HTTP ${status}`;
      throw new AcmeError(status >= 500 || status === 429 ? 'transient' : 'final', `fetching renewal information ${url}: ${text}`, { status, retryAfterMs });
    }
    const window = parseRenewalInfo(data);
    if (window === undefined) throw new AcmeError('final', `renewal information ${url} has no valid suggestedWindow`);
    return { ...window, retryAfterMs };
  }
}

/**
 * acme-client keeps the account key as PEM and hands that to every
 * signature, so OpenSSL decodes it again each time: about 1.5 ms per request
 * where a parsed key signs in 0.1 ms. Its HTTP layer gets the parsed key
 * instead (node's sign and createPublicKey take either); if that layer ever
 * looks different, the PEM stays (test/unit/acme/session-signing.test.ts
 * checks the signatures).
 */
function signWithParsedKey(client: Client, accountKeyPem: string): void {
  const http = (client as unknown as { http?: { accountKey?: unknown } }).http;
  if (http !== undefined && Buffer.isBuffer(http.accountKey)) http.accountKey = createPrivateKey(accountKeyPem);
}

function stubAuthorization(url: string): Authorization {
  return { url, status: 'pending', identifier: { type: 'dns', value: '' }, challenges: [] };
}

/** The suggestedWindow of a renewalInfo answer; undefined when missing or end is not after start. */
export function parseRenewalInfo(data: unknown): { start: Date; end: Date; explanationURL?: string | undefined } | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const record = data as { suggestedWindow?: { start?: unknown; end?: unknown }; explanationURL?: unknown };
  const start = typeof record.suggestedWindow?.start === 'string' ? Date.parse(record.suggestedWindow.start) : Number.NaN;
  const end = typeof record.suggestedWindow?.end === 'string' ? Date.parse(record.suggestedWindow.end) : Number.NaN;
  if (Number.isNaN(start) || Number.isNaN(end) || end <= start) return undefined;
  return { start: new Date(start), end: new Date(end), explanationURL: typeof record.explanationURL === 'string' ? record.explanationURL : undefined };
}
