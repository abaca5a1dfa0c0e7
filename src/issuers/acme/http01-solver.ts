import { createHash } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Clock } from '../../clock.js';
import { closeHttp, listenHttp } from '../../http/listen.js';
import { isNotFound } from '../../kube/errors.js';
import type { Logger } from '../../log.js';
import { HTTP01_PATH_PREFIX } from './self-check.js';

// The HTTP-01 responder every operator replica runs, leader or not. Pending
// key authorizations live in the cluster (one small Secret per challenge in
// the operator's namespace, named after the token), so whichever replica the
// CA's request reaches answers it; a replica keeps an answer for a few
// seconds at most.

export const HTTP01_SECRET_TYPE = 'certkeeper.dev/acme-http01';

/** Where the key authorization of a token is kept: derived from the token, so a lookup is one GET. */
export function http01ChallengeName(token: string): string {
  return `certkeeper-http01-${createHash('sha256').update(token).digest('hex').slice(0, 20)}`;
}

export interface Http01Answer {
  token: string;
  keyAuthorization: string;
  identifier: string;
}

const TOKEN = /^[A-Za-z0-9_-]{1,512}$/;

export class Http01Solver {
  private readonly cache = new Map<string, { answer: Http01Answer; at: number }>();
  private server: Server | undefined;

  constructor(
    private readonly deps: { secrets: Pick<CoreV1Api, 'readNamespacedSecret'>; namespace: string; clock: Clock; log: Logger; cacheTtlMs?: number },
  ) {}

  /**
   * This replica just presented `answer` (its Secret is written): keep it as if
   * read, so the self-check and the CA's request need no read of that Secret here.
   */
  prime(answer: Http01Answer): void {
    if (!TOKEN.test(answer.token) || answer.keyAuthorization === '') return;
    this.remember(answer);
  }

  /** The challenge was taken down: answer it no more from memory. */
  forget(token: string): void {
    this.cache.delete(token);
  }

  private remember(answer: Http01Answer): void {
    this.cache.set(answer.token, { answer, at: this.deps.clock.now() });
    if (this.cache.size > 10_000) this.cache.clear();
  }

  private async answerFor(token: string): Promise<Http01Answer | undefined> {
    const cached = this.cache.get(token);
    if (cached !== undefined && this.deps.clock.now() - cached.at < (this.deps.cacheTtlMs ?? 5_000)) return cached.answer;
    let secret;
    try {
      secret = await this.deps.secrets.readNamespacedSecret({ name: http01ChallengeName(token), namespace: this.deps.namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const field = (k: string) => Buffer.from(secret.data?.[k] ?? '', 'base64').toString('utf8');
    const answer = { token: field('token'), keyAuthorization: field('keyAuthorization'), identifier: field('identifier') };
    if (answer.token !== token || answer.keyAuthorization === '') return undefined;
    this.remember(answer);
    return answer;
  }

  /** Answers GET /.well-known/acme-challenge/<token> for the host the challenge is for; 404 otherwise. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://solver').pathname;
    const token = path.startsWith(HTTP01_PATH_PREFIX) ? path.slice(HTTP01_PATH_PREFIX.length) : '';
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !TOKEN.test(token)) return send(res, 404, 'not found\n');
    const answer = await this.answerFor(token);
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    if (answer === undefined || (answer.identifier !== '' && host !== answer.identifier)) {
      this.deps.log.debug({ token, host }, 'HTTP-01 request for an unknown challenge');
      return send(res, 404, 'not found\n');
    }
    this.deps.log.debug({ token, host }, 'answered HTTP-01 challenge');
    send(res, 200, answer.keyAuthorization);
  }

  async start(port: number, host: string): Promise<number> {
    const { server, port: bound } = await listenHttp('HTTP-01 solver', port, host, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.deps.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'HTTP-01 solver could not look up a challenge');
        if (!res.headersSent) send(res, 503, 'challenge lookup failed\n');
      });
    });
    this.server = server;
    this.deps.log.info({ host, port: bound }, 'HTTP-01 solver listening');
    return bound;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    await closeHttp(server);
  }
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(body);
}
