// certkeeper's TLS prober: no Kubernetes in here. Jobs (network) →
// observations → analyser (pure) → findings → judges (compliance, grade) →
// renderers. The operator and `certkeeper probe` use this module alike.

export { probeEndpoint, type ProbeOptions } from './probe.js';
export { scanEndpoint, type ScanObservations, type ScanOptions } from './scan.js';
export { analyseScan, type AnalyseOptions } from './analyse.js';
export type * from './findings.js';
export { evaluateCompliance, VIOLATION_IDS, type ComplianceReport, type ProfileViolation, type ViolationCategory, type ViolationId } from './compliance.js';
export { gradeFindings, GRADES, type Grade, type GradeCap, type GradeReport, type GradeWarning } from './grade.js';
export { customProfile, mozillaProfile, PROFILE_NAMES, ProfileError, resolveProfile, type ProfileName, type ProfileRules, type TlsProfile } from './profiles/index.js';
export { renderJson, type ProbeReport } from './render/json.js';
export { renderTable } from './render/table.js';
export type { JobOutcome, ProbeTarget } from './jobs/outcome.js';
export { PROTOCOL_VERSIONS, type ProtocolVersion } from './protocols.js';
export { ALL_SUITES, suiteById, suiteByName, type CipherSuite } from './suites.js';
