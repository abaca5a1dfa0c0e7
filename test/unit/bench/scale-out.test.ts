import { describe, expect, it } from 'vitest';
import { imbalanceOf } from '../../../hack/bench/scale-out.js';

describe('imbalanceOf (scale-out bench)', () => {
  it('is the busiest process over the mean', () => {
    expect(imbalanceOf([20, 20, 20])).toBe(1);
    expect(imbalanceOf([24, 21, 21])).toBe(1.091);
    expect(imbalanceOf([10, 30])).toBe(1.5);
  });
  it('is 1 when there is nothing to compare', () => {
    expect(imbalanceOf([42])).toBe(1);
    expect(imbalanceOf([0, 0, 0])).toBe(1);
  });
});
