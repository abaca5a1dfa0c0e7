import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Shutdown } from '../../../src/kube/shutdown.js';
import { FakeClock, flushPromises } from '../../support/fake-clock.js';
import { silentLog } from './fake-lister-watcher.js';

function setup(deadlineMs = 10_000) {
  const clock = new FakeClock();
  const source = new EventEmitter();
  const exits: number[] = [];
  const shutdown = new Shutdown({ log: silentLog, clock, deadlineMs, source, exit: (code) => exits.push(code) });
  shutdown.install();
  return { clock, source, exits, shutdown };
}

describe('Shutdown', () => {
  it('runs the steps in order on SIGTERM, then exits 0', async () => {
    const { source, exits, shutdown } = setup();
    const ran: string[] = [];
    shutdown.register('informers', () => {
      ran.push('informers');
    });
    shutdown.register('controllers', async () => {
      await Promise.resolve();
      ran.push('controllers');
    });
    shutdown.register('lease', () => {
      ran.push('lease');
    });
    source.emit('SIGTERM', 'SIGTERM');
    expect(shutdown.signal.aborted).toBe(true);
    await flushPromises();
    expect(ran).toEqual(['informers', 'controllers', 'lease']);
    expect(exits).toEqual([0]);
  });

  it('keeps going after a failing step and exits 1', async () => {
    const { source, exits, shutdown } = setup();
    const ran: string[] = [];
    shutdown.register('a', () => Promise.reject(new Error('cannot release lease')));
    shutdown.register('b', () => {
      ran.push('b');
    });
    source.emit('SIGINT', 'SIGINT');
    await flushPromises();
    expect(ran).toEqual(['b']);
    expect(exits).toEqual([1]);
  });

  it('gives up at the deadline, aborting the stuck step and skipping the rest', async () => {
    const { clock, source, exits, shutdown } = setup(10_000);
    let stuckSignal: AbortSignal | undefined;
    const ran: string[] = [];
    shutdown.register('stuck', (signal) => {
      stuckSignal = signal;
      return new Promise<void>(() => undefined);
    });
    shutdown.register('after', () => {
      ran.push('after');
    });
    source.emit('SIGTERM', 'SIGTERM');
    await clock.advance(9_999);
    expect(exits).toEqual([]);
    await clock.advance(1);
    expect(exits).toEqual([1]);
    expect(stuckSignal?.aborted).toBe(true);
    expect(ran).toEqual([]);
  });

  it.each([
    { second: 'SIGTERM' as const, code: 143 },
    { second: 'SIGINT' as const, code: 130 },
  ])('exits at once with $code on a second $second', async ({ second, code }) => {
    const { source, exits, shutdown } = setup();
    shutdown.register('slow', () => new Promise<void>(() => undefined));
    source.emit('SIGTERM', 'SIGTERM');
    await flushPromises();
    source.emit(second, second);
    expect(exits).toEqual([code]);
  });

  it('runs once however often run() is called, and stops listening after uninstall', async () => {
    const { source, shutdown } = setup();
    let runs = 0;
    shutdown.register('count', () => {
      runs++;
    });
    const [a, b] = await Promise.all([shutdown.run('test'), shutdown.run('again')]);
    expect([a, b, runs]).toEqual([0, 0, 1]);
    shutdown.uninstall();
    expect(source.listenerCount('SIGTERM')).toBe(0);
  });
});
