// The operator's own HTTP endpoint: liveness, readiness, Prometheus metrics,
// plus routes other modules mount (e.g. /inventory, the HTTP-01 solver).
// /healthz answers "restart me?" (only dead loops fail it); /readyz answers
// "send me work?" (fails until every readiness check passes, e.g. informers synced).

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { realClock, sleep, type Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { registry as defaultRegistry, writeMetrics } from '../metrics/registry.js';
import { closeHttp, listenHttp } from './listen.js';

/** `true` passes; `false` or a string (the reason) fails. */
export type HealthCheck = () => boolean | string | Promise<boolean | string>;

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Whether a request may read a protected path; the status and reason when not (kube/http-authorizer.ts asks the API server). */
export type CallerCheck = (
  authorization: string | undefined,
  path: string,
) => Promise<{ allowed: true; user: string } | { allowed: false; status: 401 | 403 | 503; reason: string }>;

export interface OperatorHttpServerOptions {
  log: Logger;
  /** Who may read /metrics and the routes mounted with `protected` (e.g. /inventory); /healthz and /readyz stay open. Default: anyone. */
  callers?: CallerCheck | undefined;
  registry?: Registry;
  clock?: Clock;
  /** A check slower than this fails. Default 5 s. */
  checkTimeoutMs?: number;
}

interface Route {
  path: string;
  prefix: boolean;
  handler: RouteHandler;
  protected: boolean;
}

interface CheckResult {
  name: string;
  ok: boolean;
  reason?: string;
}

export class OperatorHttpServer {
  private readonly liveness = new Map<string, HealthCheck>();
  private readonly readiness = new Map<string, HealthCheck>();
  private readonly routes: Route[] = [];
  private readonly registry: Registry;
  private readonly clock: Clock;
  private readonly checkTimeoutMs: number;
  private server: Server | undefined;

  constructor(private readonly opts: OperatorHttpServerOptions) {
    this.registry = opts.registry ?? defaultRegistry;
    this.clock = opts.clock ?? realClock;
    this.checkTimeoutMs = opts.checkTimeoutMs ?? 5_000;
  }

  /** e.g. "controller/certificates" → controller.isRunning(). */
  addLivenessCheck(name: string, check: HealthCheck): void {
    this.liveness.set(name, check);
  }

  /** e.g. "informer/secrets" → informer.hasSynced(). */
  addReadinessCheck(name: string, check: HealthCheck): void {
    this.readiness.set(name, check);
  }

  /**
   * Mounts a handler on an exact path, or on every path under it with
   * `{ prefix: true }`. `protected`: only callers the CallerCheck admits (the
   * HTTP-01 solver is public; the inventory is not).
   */
  addRoute(path: string, handler: RouteHandler, options: { prefix?: boolean; protected?: boolean } = {}): void {
    this.routes.push({ path, prefix: options.prefix === true, handler, protected: options.protected === true });
  }

  /** Undefined when the caller may go on; else the refusal has been sent. */
  private async refused(req: IncomingMessage, res: ServerResponse, path: string): Promise<true | undefined> {
    const check = this.opts.callers;
    if (check === undefined) return undefined;
    const decision = await check(req.headers.authorization, path);
    if (decision.allowed) return undefined;
    if (decision.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="certkeeper"');
    this.opts.log.debug({ path, status: decision.status, reason: decision.reason }, 'request refused');
    send(res, decision.status, `${decision.reason}\n`);
    return true;
  }

  /** Listens; resolves to the bound port (pass 0 for any free port). */
  async start(port: number, host = '0.0.0.0'): Promise<number> {
    if (this.server !== undefined) throw new Error('http server already started');
    const { server, port: bound } = await listenHttp('http server', port, host, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.opts.log.error({ err, path: req.url }, 'http handler failed');
        if (!res.headersSent) send(res, 500, 'internal error\n');
        else res.destroy();
      });
    });
    this.server = server;
    this.opts.log.info({ host, port: bound }, 'http server listening');
    return bound;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    await closeHttp(server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const builtin = path === '/healthz' || path === '/livez' || path === '/readyz' || path === '/metrics';
    if (builtin && req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'method not allowed\n');
    }
    const verbose = url.searchParams.has('verbose');
    switch (path) {
      case '/healthz':
      case '/livez':
        return this.respondChecks(res, this.liveness, 500, 'healthz', verbose);
      case '/readyz':
        return this.respondChecks(res, this.readiness, 503, 'readyz', verbose);
      case '/metrics': {
        if (await this.refused(req, res, path)) return;
        // Rendered and sent one metric at a time (writeMetrics): the render's garbage dies young.
        let started = false;
        await writeMetrics(this.registry, (text) => {
          if (!started) res.writeHead(200, { 'Content-Type': this.registry.contentType });
          started = true;
          if (res.destroyed) return undefined;
          // A scraper that reads slowly makes the render wait rather than the text pile up in memory.
          return res.write(text) ? undefined : drained(res);
        });
        res.end();
        return;
      }
      default:
        break;
    }
    const route = this.routes.find((r) => (r.prefix ? path.startsWith(r.path) : path === r.path));
    if (route === undefined) return send(res, 404, 'not found\n');
    if (route.protected && (await this.refused(req, res, route.path))) return;
    await route.handler(req, res);
  }

  /** Kubernetes-style check output: `[+]name ok` / `[-]name failed: reason`. */
  private async respondChecks(res: ServerResponse, checks: Map<string, HealthCheck>, failStatus: number, what: string, verbose: boolean): Promise<void> {
    const results = await Promise.all([...checks].map(([name, check]) => this.runCheck(name, check)));
    const failed = results.filter((r) => !r.ok);
    const lines = (verbose || failed.length > 0 ? results : []).map((r) =>
      r.ok ? `[+]${r.name} ok` : `[-]${r.name} failed${r.reason === undefined ? '' : `: ${r.reason}`}`,
    );
    if (failed.length === 0) return send(res, 200, [...lines, 'ok'].join('\n') + '\n');
    send(res, failStatus, [...lines, `${what} check failed`].join('\n') + '\n');
  }

  private async runCheck(name: string, check: HealthCheck): Promise<CheckResult> {
    const timer = new AbortController();
    const timeout = sleep(this.clock, this.checkTimeoutMs, timer.signal).then(
      (): CheckResult => ({ name, ok: false, reason: `timed out after ${this.checkTimeoutMs} ms` }),
      (): CheckResult => ({ name, ok: false, reason: 'cancelled' }),
    );
    const run = Promise.resolve()
      .then(check)
      .then(
        (result): CheckResult => (result === true ? { name, ok: true } : { name, ok: false, ...(typeof result === 'string' ? { reason: result } : {}) }),
        (err: unknown): CheckResult => ({ name, ok: false, reason: err instanceof Error ? err.message : String(err) }),
      );
    try {
      return await Promise.race([run, timeout]);
    } finally {
      timer.abort();
    }
  }
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(body);
}

/** Resolves when `res` can take more, or has closed (a scraper that went away must not hold the render). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
