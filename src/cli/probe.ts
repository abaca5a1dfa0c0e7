import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { evaluateCompliance } from '../probe/compliance.js';
import { gradeFindings } from '../probe/grade.js';
import { probeEndpoint } from '../probe/probe.js';
import { GUIDELINE_IDS, guidelinesConfigurationProfile, PROFILE_NAMES, type GuidelinesId, type ProfileName } from '../probe/profiles/named.js';
import { ProfileError } from '../probe/profiles/rules.js';
import { renderJson } from '../probe/render/json.js';
import { renderTable } from '../probe/render/table.js';

// `certkeeper probe <host:port>`: scan one endpoint, judge it against a
// profile, grade it, print the report. Exit 0 when compliant and the
// certificate is valid, 1 when not, 2 on a usage or connection error — so a
// CI job can gate on it.

export const PROBE_USAGE = `Usage: certkeeper probe HOST:PORT [--sni NAME] [--profile modern|intermediate|old|custom]
                       [--guidelines TLSRef-6.0|Mozilla-5.7] [--profile-file FILE.json] [--ca-file FILE] [--http]
                       [--crl private|off] [-o table|json] [--timeout MS]

  --sni NAME        server name to send and to match the certificate against (default: HOST unless it is an IP)
  --profile P       profile to check against (default: intermediate); custom reads --profile-file
  --guidelines G    which version the profile comes from: TLSRef-6.0 (default) or Mozilla-5.7 (the only one with old,
                    which uses it when --guidelines is not given)
  --profile-file F  JSON profile fields: for custom, the whole profile; otherwise overrides of the named one
  --ca-file F       PEM bundle the chain must lead to (default: the system roots)
  --http            also GET / for the HSTS header (HTTP endpoints)
  --crl MODE        private (default): fetch the leaf's http CRL (at most 1 MiB, 3 s) when the chain does not lead to
                    a public root, and check it is current and does not list the leaf; off: never fetch
  -o FORMAT         table (default) or json
  --timeout MS      per-connection timeout (default 4000)

Exit codes: 0 compliant and certificate valid, 1 profile violated or certificate invalid, 2 usage or connection error.`;

export const EXIT_OK = 0;
export const EXIT_NONCOMPLIANT = 1;
export const EXIT_USAGE = 2;

export interface ProbeCommand {
  host: string;
  port: number;
  serverName: string | undefined;
  profile: ProfileName;
  guidelines: GuidelinesId | undefined;
  crl: 'private' | 'off';
  profileFile: string | undefined;
  caFile: string | undefined;
  http: boolean;
  output: 'table' | 'json';
  timeoutMs: number;
}

export class ProbeUsageError extends Error {
  override readonly name = 'ProbeUsageError';
}

/** host:port, [v6]:port. */
export function parseHostPort(value: string): { host: string; port: number } {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:]+):(\d+)$/.exec(value);
  const port = Number(match?.[2]);
  if (match?.[1] === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ProbeUsageError(`"${value}" is not HOST:PORT (IPv6: [ADDR]:PORT)`);
  }
  return { host: match[1], port };
}

function isProfileName(value: string): value is ProfileName {
  return PROFILE_NAMES.some((p) => p === value);
}

function isGuidelinesId(value: string): value is GuidelinesId {
  return GUIDELINE_IDS.some((g) => g === value);
}

export function parseProbeArgs(args: readonly string[]): ProbeCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        sni: { type: 'string' },
        profile: { type: 'string' },
        guidelines: { type: 'string' },
        crl: { type: 'string' },
        'profile-file': { type: 'string' },
        'ca-file': { type: 'string' },
        http: { type: 'boolean' },
        output: { type: 'string', short: 'o' },
        timeout: { type: 'string' },
      },
    });
  } catch (error) {
    throw new ProbeUsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1 || positionals[0] === undefined) throw new ProbeUsageError('probe takes exactly one HOST:PORT');
  const { host, port } = parseHostPort(positionals[0]);
  const profile = values.profile ?? 'intermediate';
  if (!isProfileName(profile)) throw new ProbeUsageError(`unknown profile "${profile}" (one of ${PROFILE_NAMES.join(', ')})`);
  if (profile === 'custom' && values['profile-file'] === undefined) throw new ProbeUsageError('--profile custom needs --profile-file');
  const guidelines = values.guidelines;
  if (guidelines !== undefined && !isGuidelinesId(guidelines)) throw new ProbeUsageError(`unknown guidelines "${guidelines}" (one of ${GUIDELINE_IDS.join(', ')})`);
  const crl = values.crl ?? 'private';
  if (crl !== 'private' && crl !== 'off') throw new ProbeUsageError(`unknown --crl "${crl}" (private or off)`);
  const output = values.output ?? 'table';
  if (output !== 'table' && output !== 'json') throw new ProbeUsageError(`unknown output "${output}" (table or json)`);
  const timeoutMs = values.timeout === undefined ? 4000 : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100) throw new ProbeUsageError(`--timeout must be a whole number of milliseconds >= 100, got "${values.timeout}"`);
  return {
    host,
    port,
    serverName: values.sni ?? (isIP(host) === 0 ? host : undefined),
    profile,
    guidelines,
    crl,
    profileFile: values['profile-file'],
    caFile: values['ca-file'],
    http: values.http === true,
    output,
    timeoutMs,
  };
}

async function readInput(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ProbeUsageError(`cannot read ${what} ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function loadProfile(command: ProbeCommand) {
  let fields: unknown;
  if (command.profileFile !== undefined) {
    const text = await readInput(command.profileFile, 'profile file');
    try {
      fields = JSON.parse(text);
    } catch (error) {
      throw new ProbeUsageError(`profile file ${command.profileFile} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  try {
    if (command.profile !== 'custom' && fields === undefined) return guidelinesConfigurationProfile(command.profile, command.guidelines);
    // Only a profile file needs the schema library (~9 MB): loaded for it alone.
    const { resolveProfile } = await import('../probe/profiles/index.js');
    return command.profile === 'custom' ? resolveProfile('custom', { custom: fields }) : resolveProfile(command.profile, { overrides: fields, ...(command.guidelines === undefined ? {} : { guidelines: command.guidelines }) });
  } catch (error) {
    if (error instanceof ProfileError) throw new ProbeUsageError(error.message);
    throw error;
  }
}

export interface ProbeIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  now?: () => Date;
}

/** Runs `certkeeper probe`; returns the exit code. */
export async function runProbe(args: readonly string[], io: ProbeIo): Promise<number> {
  let command: ProbeCommand;
  let profile;
  let caPem: string | undefined;
  try {
    command = parseProbeArgs(args);
    profile = await loadProfile(command);
    caPem = command.caFile === undefined ? undefined : await readInput(command.caFile, 'CA file');
  } catch (error) {
    if (!(error instanceof ProbeUsageError)) throw error;
    io.stderr(`certkeeper probe: ${error.message}\n\n${PROBE_USAGE}\n`);
    return EXIT_USAGE;
  }
  const findings = await probeEndpoint(
    { host: command.host, port: command.port, serverName: command.serverName },
    { caPem, http: command.http, timeoutMs: command.timeoutMs, now: io.now, crl: command.crl },
  );
  const report = { findings, compliance: evaluateCompliance(findings, profile), grade: gradeFindings(findings) };
  io.stdout(command.output === 'json' ? renderJson(report) : renderTable(report));
  if (!findings.tls) {
    io.stderr(`certkeeper probe: ${findings.reachable ? `no TLS version accepted by ${command.host}:${command.port}` : `cannot connect to ${command.host}:${command.port}`}\n`);
    return EXIT_USAGE;
  }
  return report.compliance.compliant && report.compliance.certificateValid ? EXIT_OK : EXIT_NONCOMPLIANT;
}
