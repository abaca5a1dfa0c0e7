import { describe, expect, it } from 'vitest';
import { otherCpu } from '../../../hack/bench/report.js';

describe("the bench report's CPU of other processes", () => {
  it('says none was measurable where the two clocks read apart give zero or less', () => {
    expect([otherCpu(-0.1), otherCpu(0), otherCpu(0.04), otherCpu(3.25), otherCpu(undefined)]).toEqual(['none measurable', 'none measurable', '0.0 s', '3.3 s', '? s']);
  });
});
