import type { ProfileViolation } from '../compliance.js';
import type { CertificateFindings, CheckResult, ProbeFindings, VulnerabilityFinding } from '../findings.js';
import type { GradeReport } from '../grade.js';
import type { ProbeReport } from './json.js';

// The human report. It prints what the findings and the judges say, in the
// order someone fixing a server reads: verdicts first, then the evidence.
// It decides nothing: every "violation" or "cap" line comes from a judge.

function table(rows: readonly (readonly string[])[], indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => `${indent}${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')}`.trimEnd());
}

function section(title: string, lines: readonly string[]): string[] {
  return lines.length === 0 ? [] : ['', title, ...lines];
}

function support(result: CheckResult): string {
  switch (result.support) {
    case 'yes':
      return 'yes';
    case 'no':
      return result.detail === undefined ? 'no' : `no (${result.detail})`;
    case 'unknown':
      return `unknown (${result.detail ?? 'probe failed'})`;
    case 'not-tested':
      return 'not tested';
  }
}

function header(findings: ProbeFindings): string {
  const { host, port, serverName } = findings.target;
  const sni = serverName === undefined ? 'no SNI' : `SNI ${serverName}`;
  return `certkeeper probe ${host}:${port} (${sni}) — ${findings.scannedAt}, ${Math.round(findings.durationMs)} ms`;
}

function verdicts({ compliance, grade }: ProbeReport): string[] {
  const { protocol, keyExchange, cipherStrength } = grade.categories;
  const profile = `${compliance.profile.name} (${compliance.profile.source})`;
  const state = compliance.compliant ? 'compliant' : `${compliance.violations.length} violation${compliance.violations.length === 1 ? '' : 's'}`;
  const trust = grade.ignoringTrust === grade.grade ? '' : `, ${grade.ignoringTrust} if certificate problems are set aside`;
  return [
    '',
    ...table([
      ['Grade', `${grade.grade}  score ${grade.score} (protocol ${protocol}, key exchange ${keyExchange}, cipher ${cipherStrength})${trust}; SSL Labs rating guide ${grade.guide}`],
      ['Profile', `${profile}: ${state}`],
      ['Certificate', compliance.certificateValid ? 'valid' : 'INVALID'],
    ], ''),
  ];
}

function protocolLines(findings: ProbeFindings): string[] {
  return table(findings.protocols.map((p) => [p.version, p.status, p.status === 'accepted' ? (p.via === 'raw' ? 'seen with a hand-built hello' : '') : (p.detail ?? '')]));
}

function suiteLines(findings: ProbeFindings): string[] {
  return table(
    findings.cipherSuites.map((s) => [
      s.version,
      `0x${s.id.toString(16).padStart(4, '0')}`,
      s.name,
      `${s.strengthBits} bits`,
      s.aead ? 'AEAD' : s.mode,
      s.forwardSecrecy ? 'FS' : 'no FS',
      s.keyExchangeGroup ?? '',
      s.via === 'raw' ? '(hand-built hello)' : '',
    ]),
  );
}

function preferenceLines(findings: ProbeFindings): string[] {
  return findings.serverPreference.map((p) => {
    if (p.enforced === undefined) return `  ${p.version}: ${p.detail === undefined ? 'one suite only' : `unknown (${p.detail})`}`;
    if (!p.enforced) return `  ${p.version}: client's choice`;
    return `  ${p.version}: server enforces its order${p.order.length === 0 ? '' : `: ${p.order.join(', ')}`}`;
  });
}

function postQuantumLines(findings: ProbeFindings): string[][] {
  const pq = findings.postQuantum;
  if (!pq.tested) return [['Post-quantum', 'not tested: TLS 1.3 is not accepted']];
  const acceptedGroups = pq.groups.filter((g) => g.status === 'accepted').map((g) => g.name);
  const undecided = pq.groups.filter((g) => g.status === 'error').map((g) => `${g.name} (${g.detail ?? 'failed'})`);
  const rows = [
    ['Post-quantum', `${pq.readiness}: ${acceptedGroups.length === 0 ? 'no group accepted' : `accepts ${acceptedGroups.join(', ')}`}${undecided.length === 0 ? '' : `; could not tell ${undecided.join(', ')}`}`],
    ['  browser offer', pq.browserChoice === undefined ? 'could not tell' : `X25519MLKEM768 + X25519 shares get ${pq.browserChoice}`],
  ];
  if (pq.serverPick !== undefined) rows.push(['  server pick', `${pq.serverPick} with classical groups listed first (${pq.serverPrefersPostQuantum === true ? 'prefers post-quantum' : "follows the client's order"})`]);
  if (pq.withoutShare !== undefined) {
    rows.push(['  no PQ share', pq.withoutShare.answer === 'retry' ? `asks for ${pq.withoutShare.group} with a HelloRetryRequest` : `takes X25519 at once (no retry for ${pq.withoutShare.group})`]);
  }
  return rows;
}

function keyExchangeLines(findings: ProbeFindings): string[] {
  const kx = findings.keyExchange;
  return table([
    ['Groups', kx.groups.length === 0 ? 'none accepted alone' : kx.groups.map((g) => `${g.name} (${g.bits})`).join(', ')],
    ...postQuantumLines(findings),
    ['Smallest ECDH', kx.minEcdhBits === undefined ? '—' : `${kx.minEcdhBits} bits`],
    ['Smallest DH', kx.minDhBits === undefined ? '—' : `${kx.minDhBits} bits`],
    ['Forward secrecy', `${findings.forwardSecrecy} suites`],
    ['AEAD', `${findings.aead} suites`],
  ]);
}

function certificateLines(certificate: CertificateFindings | undefined, error: string | undefined): string[] {
  if (certificate === undefined) return [`  none: ${error ?? 'not retrieved'}`];
  const { leaf, trust, hostname, validity } = certificate;
  const chain = `leaf${certificate.intermediatesSent > 0 ? ` + ${certificate.intermediatesSent} intermediate${certificate.intermediatesSent === 1 ? '' : 's'}` : ', no intermediate'}${certificate.rootSent ? ' + root' : ''} sent`;
  const anchors = trust.anchors === 'system' ? 'system roots' : 'CA bundle';
  return table([
    ['Subject', leaf.subject],
    ['Names', [...leaf.dnsNames, ...leaf.ipAddresses].join(', ') || '(no subjectAltName)'],
    ['Issuer', leaf.issuer],
    ['Key', `${leaf.keyAlgorithm} ${leaf.keySize ?? '?'}${leaf.curve === undefined ? '' : ` (${leaf.curve})`}, signed ${leaf.signatureAlgorithm}`],
    ['Validity', `${leaf.notBefore} → ${leaf.notAfter} (${validity.state}, ${validity.daysRemaining} days left, lifetime ${validity.lifetimeDays} days)`],
    ['SHA-256', leaf.fingerprintSHA256],
    ['Chain', `${chain}; ${trust.chainsToAnchor ? `leads to the ${anchors}` : `does NOT lead to the ${anchors}: ${trust.reason ?? ''}`}`],
    ['Name', `${hostname.name} ${hostname.matches ? 'matches' : 'does NOT match'}`],
    ['Usages', leaf.usages.join(', ') || '(none stated)'],
    ['OCSP/CRL', `OCSP ${leaf.ocspUrls.join(', ') || 'none'}; CRL ${leaf.crlUrls.join(', ') || 'none'}${leaf.mustStaple ? '; Must-Staple' : ''}`],
  ]);
}

function crlLine(findings: ProbeFindings): string {
  const { crl } = findings;
  if (crl.status === 'not-tested') return `not checked${crl.detail === undefined ? '' : ` (${crl.detail})`}`;
  if (crl.status === 'unavailable') return `could not check: ${crl.detail ?? ''}`;
  const until = crl.nextUpdate === undefined ? '' : `, next update ${crl.nextUpdate}`;
  return `${crl.status}${crl.detail === undefined ? '' : `: ${crl.detail}`} (${crl.url ?? ''}${until})`;
}

function vulnerabilityText(v: VulnerabilityFinding): string {
  switch (v.status) {
    case 'vulnerable':
      return 'VULNERABLE';
    case 'not-vulnerable':
      return 'not vulnerable';
    case 'unknown':
      return `unknown (${v.detail ?? 'probe failed'})`;
    case 'not-tested':
      return 'not tested (TLS 1.3 only)';
  }
}

function featureLines(findings: ProbeFindings): string[] {
  const r = findings.resumption;
  const timing = r.fullHandshakeMs === undefined ? '' : `; full handshake ${r.fullHandshakeMs} ms, resumed ${r.resumedHandshakeMs ?? '?'} ms`;
  const hsts = findings.hsts.support === 'yes' ? (findings.hsts.header ?? 'yes') : support(findings.hsts);
  return table([
    ['OCSP stapling', support(findings.ocspStapling)],
    ['CRL', crlLine(findings)],
    ['ALPN', `h2 ${support(findings.alpn.h2)}, http/1.1 ${support(findings.alpn.http11)}`],
    ['Resumption', `session ids ${support(r.sessionIds)}, tickets ${support(r.tickets)}${timing}`],
    ['Secure renegotiation', support(findings.secureRenegotiation)],
    ['Client renegotiation', findings.clientRenegotiation.support === 'yes' ? 'accepted (a client can make the server redo handshakes)' : support(findings.clientRenegotiation)],
    ['Extended master secret', support(findings.extendedMasterSecret)],
    ['TLS_FALLBACK_SCSV', `${support(findings.fallbackScsv)} (reported, not graded)`],
    ['Heartbleed', vulnerabilityText(findings.vulnerabilities.heartbleed)],
    ['CCS injection', vulnerabilityText(findings.vulnerabilities.ccsInjection)],
    ['HSTS', hsts],
  ]);
}

function violationLines(violations: readonly ProfileViolation[]): string[] {
  return table(violations.map((v) => [v.id, v.message]));
}

function gradeLines(grade: GradeReport): string[] {
  return [
    ...table(grade.caps.map((c) => [`cap ${c.grade}`, c.id, c.guide === undefined ? c.reason : `${c.reason} [${c.guide}]`])),
    ...table(grade.warnings.map((w) => ['warning', w.id, w.reason])),
    `  ${grade.plus.awarded ? 'A+' : 'no A+'}: ${grade.plus.reason}`,
  ];
}

/** The report as text for a terminal. */
export function renderTable(report: ProbeReport): string {
  const { findings, compliance, grade } = report;
  const lines = [header(findings), ...verdicts(report)];
  lines.push(...section(`Violations of ${compliance.profile.name}`, violationLines(compliance.violations)));
  lines.push(...section('Advisories', violationLines(compliance.advisories)));
  lines.push(...section('Grade', gradeLines(grade)));
  if (findings.tls) {
    lines.push(...section('Protocols', protocolLines(findings)));
    lines.push(...section('Cipher suites', suiteLines(findings)));
    lines.push(...section('Server order', preferenceLines(findings)));
    lines.push(...section('Key exchange', keyExchangeLines(findings)));
    lines.push(...section('Certificate', certificateLines(findings.certificate, findings.certificateError)));
    lines.push(...section('Features', featureLines(findings)));
  }
  lines.push(...section('Checks that could not decide', table(findings.errors.map((e) => [e.check, e.message]))));
  return `${lines.join('\n')}\n`;
}
