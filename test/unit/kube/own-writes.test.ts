import { describe, expect, it } from 'vitest';
import { isNewerVersion, OwnWrites } from '../../../src/kube/own-writes.js';

// Read-your-writes beside an informer's cache: what a reader sees for a key,
// given what the cache holds and what the server answered our last write.

const at = (resourceVersion: string, obj = resourceVersion) => ({ resourceVersion, obj });

describe('isNewerVersion', () => {
  it.each([
    ['11', '10', true],
    ['10', '11', false],
    ['10', '10', false],
    ['100', '99', true],
    ['99', '100', false],
    ['18446744073709551616', '9', true],
    ['0', '', false],
    ['', '5', false],
    ['7a', '5', false],
    ['5', 'x', false],
    ['05', '4', false],
    ['-6', '5', false],
  ])('%j newer than %j: %s', (a, b, expected) => {
    expect(isNewerVersion(a, b)).toBe(expected);
  });
});

describe('OwnWrites', () => {
  it('reads the written object while the cache is older, and the cache once it caught up', () => {
    const w = new OwnWrites<string>();
    w.observe('k', at('12', 'written'), at('10', 'cached'));
    expect(w.read('k', at('10', 'cached'))).toBe('written');
    expect(w.read('k', at('11', 'someone else'))).toBe('written');
    expect(w.read('k', at('12', 'echo'))).toBe('echo');
    expect(w.size).toBe(0);
    // Once dropped, an older cache (a relist may show anything) is read as it is.
    expect(w.read('k', at('10', 'cached'))).toBe('cached');
  });

  it('reads a newer cache over the written object and forgets it', () => {
    const w = new OwnWrites<string>();
    w.observe('k', at('12', 'written'), at('10'));
    expect(w.read('k', at('15', 'later'))).toBe('later');
    expect(w.size).toBe(0);
  });

  it('holds nothing for an object the cache does not have, or has at the same or a newer version', () => {
    const w = new OwnWrites<string>();
    w.observe('absent', at('12'), undefined);
    w.observe('same', at('12'), at('12'));
    w.observe('newer', at('12'), at('13'));
    w.observe('opaque', at('v2'), at('v1'));
    expect(w.size).toBe(0);
    expect(w.read('absent', undefined)).toBeUndefined();
  });

  it('keeps the newest of two answers, whatever order they land in', () => {
    const w = new OwnWrites<string>();
    w.observe('k', at('14', 'second'), at('10'));
    w.observe('k', at('12', 'first'), at('10'));
    expect(w.read('k', at('10'))).toBe('second');
    w.observe('k', at('16', 'third'), at('10'));
    expect(w.read('k', at('10'))).toBe('third');
  });

  it('settles on every cache change: caught up, deleted, or still behind', () => {
    const w = new OwnWrites<string>();
    w.observe('a', at('12', 'a'), at('10'));
    w.observe('b', at('12', 'b'), at('10'));
    w.observe('c', at('12', 'c'), at('10'));
    w.settle('a', at('12'));
    w.settle('b', undefined);
    w.settle('c', at('11'));
    w.settle('unknown', at('1'));
    expect(w.size).toBe(1);
    expect(w.read('c', at('11'))).toBe('c');
    // A deleted object is not resurrected by a write the watch had not echoed.
    expect(w.read('c', undefined)).toBeUndefined();
    expect(w.size).toBe(0);
  });

  it('keeps the other keys apart', () => {
    const w = new OwnWrites<string>();
    w.observe('a', at('12', 'written a'), at('10'));
    expect(w.read('b', at('10', 'cached b'))).toBe('cached b');
    expect(w.read('a', at('10', 'cached a'))).toBe('written a');
  });
});
