// Who may read /metrics and /inventory: asked of the API server the way
// Kubernetes components and controller-runtime's metrics filter ask it. The
// caller's bearer token is reviewed (TokenReview), then the user it names is
// checked for "get" on the path as a non-resource URL (SubjectAccessReview),
// so access is granted with plain RBAC:
//   rules: [{ nonResourceURLs: ["/metrics", "/inventory"], verbs: ["get"] }]
// Answers are kept for a short while (per token and path), so a scrape every
// 15 s costs the API server a review a minute, not four.

import { createHash } from 'node:crypto';
import type { AuthenticationV1Api, AuthorizationV1Api } from '@kubernetes/client-node';
import type { Clock } from '../clock.js';
import { apiErrorMessage } from './errors.js';

export type CallerDecision = { allowed: true; user: string } | { allowed: false; status: 401 | 403 | 503; reason: string };

export interface HttpAuthorizerDeps {
  authentication: Pick<AuthenticationV1Api, 'createTokenReview'>;
  authorization: Pick<AuthorizationV1Api, 'createSubjectAccessReview'>;
  clock: Clock;
  /** How long an answer is kept. Default 60 s (a refusal: 10 s, so a new grant takes effect soon). */
  allowTtlMs?: number;
  denyTtlMs?: number;
  /** Answers kept at most; the oldest go first. Default 1,000. */
  maxEntries?: number;
}

export class KubernetesHttpAuthorizer {
  private readonly cache = new Map<string, { decision: CallerDecision; until: number }>();

  constructor(private readonly deps: HttpAuthorizerDeps) {}

  /** `authorization`: the request's Authorization header. */
  async check(authorization: string | undefined, path: string): Promise<CallerDecision> {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (token === undefined) return { allowed: false, status: 401, reason: 'a bearer token is required (Authorization: Bearer <token>)' };
    const now = this.deps.clock.now();
    const key = `${createHash('sha256').update(token).digest('hex')} ${path}`;
    const cached = this.cache.get(key);
    if (cached !== undefined && cached.until > now) return cached.decision;
    const decision = await this.review(token, path);
    // A failure to ask (503) is not remembered: the next request asks again.
    if (decision.allowed || decision.status !== 503) {
      this.cache.delete(key);
      this.cache.set(key, { decision, until: now + (decision.allowed ? (this.deps.allowTtlMs ?? 60_000) : (this.deps.denyTtlMs ?? 10_000)) });
      const max = this.deps.maxEntries ?? 1_000;
      for (const oldest of this.cache.keys()) {
        if (this.cache.size <= max) break;
        this.cache.delete(oldest);
      }
    }
    return decision;
  }

  private async review(token: string, path: string): Promise<CallerDecision> {
    let user: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> } | undefined;
    try {
      const review = await this.deps.authentication.createTokenReview({ body: { spec: { token } } });
      if (review.status?.authenticated !== true) return { allowed: false, status: 401, reason: 'the token was not accepted by the API server' };
      user = review.status.user;
    } catch (err) {
      return { allowed: false, status: 503, reason: `cannot review the token: ${apiErrorMessage(err)}` };
    }
    const username = user?.username ?? '';
    try {
      const access = await this.deps.authorization.createSubjectAccessReview({
        body: {
          spec: {
            user: username,
            ...(user?.uid === undefined ? {} : { uid: user.uid }),
            ...(user?.groups === undefined ? {} : { groups: user.groups }),
            ...(user?.extra === undefined ? {} : { extra: user.extra }),
            nonResourceAttributes: { path, verb: 'get' },
          },
        },
      });
      if (access.status?.allowed === true) return { allowed: true, user: username };
      return { allowed: false, status: 403, reason: `${username} may not get ${path}` };
    } catch (err) {
      return { allowed: false, status: 503, reason: `cannot check access: ${apiErrorMessage(err)}` };
    }
  }
}
