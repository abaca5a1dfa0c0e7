import { describe, expect, it } from 'vitest';
import { KubernetesHttpAuthorizer } from '../../../src/kube/http-authorizer.js';
import { FakeClock } from '../../support/fake-clock.js';

// The review calls are faked: which tokens the API server accepts and who may get which path.
function setup(options: { tokens: Record<string, string>; allowed: string[]; failing?: boolean }) {
  const clock = new FakeClock(0);
  const calls: string[] = [];
  const authorizer = new KubernetesHttpAuthorizer({
    clock,
    authentication: {
      createTokenReview: ({ body }: { body: { spec?: { token?: string } } }) => {
        calls.push('TokenReview');
        if (options.failing === true) return Promise.reject(Object.assign(new Error('HTTP-Code: 500'), { code: 500, body: { message: 'etcd is down' } }));
        const user = options.tokens[body.spec?.token ?? ''];
        return Promise.resolve({ spec: {}, status: user === undefined ? { authenticated: false } : { authenticated: true, user: { username: user, groups: ['system:authenticated'] } } });
      },
    },
    authorization: {
      createSubjectAccessReview: ({ body }: { body: { spec: { user?: string; nonResourceAttributes?: { path?: string } } } }) => {
        calls.push(`SAR ${body.spec.user} ${body.spec.nonResourceAttributes?.path}`);
        return Promise.resolve({ spec: body.spec, status: { allowed: options.allowed.includes(`${body.spec.user} ${body.spec.nonResourceAttributes?.path}`) } });
      },
    },
  });
  return { clock, calls, authorizer };
}

describe('KubernetesHttpAuthorizer', () => {
  it('wants a bearer token, reviews it, and asks RBAC about the path', async () => {
    const h = setup({ tokens: { good: 'prometheus', other: 'nosy' }, allowed: ['prometheus /metrics'] });
    expect(await h.authorizer.check(undefined, '/metrics')).toMatchObject({ allowed: false, status: 401 });
    expect(await h.authorizer.check('Basic dXNlcjpwYXNz', '/metrics')).toMatchObject({ allowed: false, status: 401 });
    expect(await h.authorizer.check('Bearer forged', '/metrics')).toMatchObject({ allowed: false, status: 401 });
    expect(await h.authorizer.check('Bearer other', '/metrics')).toEqual({ allowed: false, status: 403, reason: 'nosy may not get /metrics' });
    expect(await h.authorizer.check('Bearer good', '/metrics')).toEqual({ allowed: true, user: 'prometheus' });
    expect(await h.authorizer.check('Bearer good', '/inventory')).toMatchObject({ allowed: false, status: 403 });
  });

  it('keeps an answer a minute (a refusal ten seconds), per token and path', async () => {
    const h = setup({ tokens: { good: 'prometheus', other: 'nosy' }, allowed: ['prometheus /metrics'] });
    await h.authorizer.check('Bearer good', '/metrics');
    await h.authorizer.check('Bearer other', '/metrics');
    const asked = h.calls.length;
    await h.clock.advance(9_000);
    await h.authorizer.check('Bearer good', '/metrics');
    await h.authorizer.check('Bearer other', '/metrics');
    expect(h.calls.length).toBe(asked);
    await h.clock.advance(2_000);
    await h.authorizer.check('Bearer other', '/metrics');
    expect(h.calls.length).toBe(asked + 2);
    await h.clock.advance(50_000);
    await h.authorizer.check('Bearer good', '/metrics');
    expect(h.calls.length).toBe(asked + 4);
  });

  it('answers 503 when the API server cannot be asked, and asks again next time', async () => {
    const h = setup({ tokens: { good: 'prometheus' }, allowed: ['prometheus /metrics'], failing: true });
    expect(await h.authorizer.check('Bearer good', '/metrics')).toEqual({ allowed: false, status: 503, reason: 'cannot review the token: etcd is down' });
    await h.authorizer.check('Bearer good', '/metrics');
    expect(h.calls).toEqual(['TokenReview', 'TokenReview']);
  });
});
