import { describe, expect, it } from 'vitest';
import { backPressureDelay, retryOnBackPressure } from '../../../src/kube/back-pressure.js';
import { FakeClock } from '../../support/fake-clock.js';

/** What client-node throws for an HTTP failure: ApiException's code, body and headers. */
function apiException(code: number, headers: Record<string, string> = {}): Error {
  return Object.assign(new Error(`HTTP ${code}`), { code, body: { message: 'storage is (re)initializing' }, headers });
}

describe('backPressureDelay', () => {
  it.each([
    ['429 with Retry-After', apiException(429, { 'Retry-After': '2' }), 1, 2000],
    ['429 without Retry-After, first repeat', apiException(429), 1, 1000],
    ['429 without Retry-After, third repeat', apiException(429), 3, 4000],
    ['a huge Retry-After is capped', apiException(429, { 'retry-after': '86400' }), 1, 10_000],
    ['503 with Retry-After', apiException(503, { 'retry-after': '1' }), 1, 1000],
    ['503 without Retry-After is an outage, not repeated', apiException(503), 1, undefined],
    ['409 is not back-pressure', apiException(409), 1, undefined],
    ['a connection failure is not', new Error('ECONNREFUSED'), 1, undefined],
  ])('%s', (_what, err, attempt, expected) => {
    expect(backPressureDelay(err, attempt, 10_000)).toBe(expected);
  });
});

describe('retryOnBackPressure', () => {
  it('repeats a call pushed back with Retry-After, waiting as asked, until it succeeds', async () => {
    const clock = new FakeClock(0);
    let calls = 0;
    const api = {
      read(name: string): Promise<string> {
        calls++;
        return calls < 3 ? Promise.reject(apiException(429, { 'retry-after': '1' })) : Promise.resolve(`secret ${name}`);
      },
    };
    const result = retryOnBackPressure(api, { clock }).read('web');
    await clock.advance(999);
    expect(calls).toBe(1);
    await clock.advance(1);
    expect(calls).toBe(2);
    await clock.advance(1000);
    await expect(result).resolves.toBe('secret web');
    expect(calls).toBe(3);
  });

  it('gives up after the last attempt with the server\'s error, and never repeats other failures', async () => {
    const clock = new FakeClock(0);
    let calls = 0;
    const pushedBack = { read: (): Promise<never> => (calls++, Promise.reject(apiException(429, { 'retry-after': '1' }))) };
    const result = retryOnBackPressure(pushedBack, { clock, attempts: 3 }).read();
    const settled = result.catch((err: unknown) => err);
    await clock.advance(5000);
    expect(await settled).toMatchObject({ code: 429 });
    expect(calls).toBe(3);

    let conflicts = 0;
    const conflicting = { write: (): Promise<never> => (conflicts++, Promise.reject(apiException(409))) };
    await expect(retryOnBackPressure(conflicting, { clock }).write()).rejects.toMatchObject({ code: 409 });
    expect(conflicts).toBe(1);
  });
});
