import { describe, expect, it } from 'vitest';
import { formatColumns } from '../../../src/cli/columns.js';
import { certificateRow, sortRows } from '../../../src/cli/status.js';
import { certificate } from '../../support/builders.js';

function withReady(name: string, status: 'True' | 'False', notAfter?: string) {
  const c = certificate(name);
  c.status = { notAfter, conditions: [{ type: 'Ready', status, reason: status === 'True' ? 'Issued' : 'NoPolicy', message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z' }] };
  return certificateRow(c);
}

describe('certkeeper status', () => {
  it('lists not-Ready first, then soonest expiry', () => {
    const rows = sortRows([withReady('late', 'True', '2026-09-01T00:00:00Z'), withReady('broken', 'False'), withReady('soon', 'True', '2026-02-01T00:00:00Z')]);
    expect(rows.map((r) => r.name)).toEqual(['broken', 'soon', 'late']);
  });

  it('a Certificate never reconciled shows as Unknown/Pending', () => {
    expect(certificateRow(certificate('new'))).toMatchObject({ ready: 'Unknown', reason: 'Pending', message: 'not reconciled yet' });
  });

  it('aligns columns', () => {
    expect(formatColumns(['A', 'BB'], [['xxx', 'y'], ['z', '']])).toBe('A    BB\nxxx  y\nz');
  });
});
