import type { ComplianceReport } from '../compliance.js';
import type { ProbeFindings } from '../findings.js';
import type { GradeReport } from '../grade.js';

/** Everything one probe produced: the findings and the two judgements of them. */
export interface ProbeReport {
  findings: ProbeFindings;
  compliance: ComplianceReport;
  grade: GradeReport;
}

/** The report as JSON, for CI and tools: the same data the table shows, nothing decided here. */
export function renderJson(report: ProbeReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
