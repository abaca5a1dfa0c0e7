import { describe, expect, it } from 'vitest';
import { pollUntil, PollTimeoutError, type PollTimer } from '../../../hack/env/poll.js';

/** Time that moves only when the loop sleeps: every case runs at once, whatever its timeout. */
function fakeTimer(): PollTimer & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

describe('pollUntil', () => {
  it('returns the first value that is not undefined, pausing intervalMs between attempts', async () => {
    const timer = fakeTimer();
    const value = await pollUntil(({ attempt }) => (attempt === 3 ? 'third' : undefined), { description: 'x', timeoutMs: 1_000, intervalMs: 40, timer });
    expect(value).toBe('third');
    expect(timer.slept).toEqual([40, 40]);
  });

  it('treats a throwing probe as "not yet"', async () => {
    const timer = fakeTimer();
    const value = await pollUntil(
      ({ attempt }) => {
        if (attempt < 2) throw new Error('connection refused');
        return 0;
      },
      { description: 'x', timeoutMs: 1_000, timer },
    );
    expect(value).toBe(0);
  });

  it('times out saying what it awaited, what it saw last and the last error', async () => {
    const timer = fakeTimer();
    const failure = await pollUntil(
      ({ attempt, observe }) => {
        observe({ phase: `attempt ${attempt}` });
        if (attempt === 1) throw new Error('HTTP 503');
        return undefined;
      },
      { description: 'namespace demo to be Active', timeoutMs: 250, intervalMs: 100, timer },
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PollTimeoutError);
    const timeout = failure as PollTimeoutError;
    expect(timeout.attempts).toBe(4);
    expect(timeout.lastSeen).toEqual({ phase: 'attempt 4' });
    expect(timeout.message).toBe(
      'timed out after 250 ms (4 attempts) waiting for namespace demo to be Active; last seen: {"phase":"attempt 4"}; last error: HTTP 503',
    );
  });

  it('says so when the probe never observed anything', async () => {
    const failure = pollUntil(() => undefined, { description: 'nothing', timeoutMs: 0, timer: fakeTimer() });
    await expect(failure).rejects.toThrow('timed out after 0 ms (1 attempts) waiting for nothing; last seen: (nothing observed)');
  });

  it("gives up at once with giveUpIf's error, before calling the probe again", async () => {
    let calls = 0;
    const failure = pollUntil(
      () => {
        calls += 1;
        return undefined;
      },
      { description: 'x', timeoutMs: 10_000, timer: fakeTimer(), giveUpIf: () => (calls >= 2 ? new Error('etcd exited with code 1') : undefined) },
    );
    await expect(failure).rejects.toThrow('etcd exited with code 1');
    expect(calls).toBe(2);
  });

  it('ends with the abort reason once the signal fires', async () => {
    const abort = new AbortController();
    const failure = pollUntil(
      ({ attempt }) => {
        if (attempt === 2) abort.abort(new Error('interrupted by SIGINT'));
        return undefined;
      },
      { description: 'x', timeoutMs: 10_000, timer: fakeTimer(), signal: abort.signal },
    );
    await expect(failure).rejects.toThrow('interrupted by SIGINT');
  });
});
