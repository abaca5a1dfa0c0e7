import type { OperatorMetrics } from './metrics.js';
import { formatMemoryTimeline, formatMemoryUsage } from './memory-usage.js';
import type { BenchResult, PhaseResult } from './run.js';

// The bench result for a person to read.

/** What the project aims at on a 2-core machine. */
export const TARGETS = { readySeconds: 10, peakRssMB: 150, cpuPerIssuanceMs: 5 } as const;

function fixed(value: number | undefined, digits = 1): string {
  return value === undefined || Number.isNaN(value) ? '?' : value.toFixed(digits);
}

function requestLines(byVerbResource: Record<string, number>, indent: string, limit = 20): string[] {
  const entries = Object.entries(byVerbResource);
  const lines = entries.slice(0, limit).map(([key, n]) => `${indent}${String(n).padStart(6)}  ${key}`);
  if (entries.length > limit) lines.push(`${indent}     …  ${entries.length - limit} more kinds`);
  return lines;
}

function reconcileText(reconciles: Record<string, number> | undefined): string {
  if (reconciles === undefined) return 'reconciles unknown';
  const parts = Object.entries(reconciles).map(([controller, n]) => `${n} ${controller}`);
  return `reconciles: ${parts.length === 0 ? 'none' : parts.join(', ')}`;
}

function phaseLine(name: string, p: PhaseResult): string[] {
  return [
    `${name.padEnd(17)}${fixed(p.seconds)} s: ${p.apiRequests} API requests, ${fixed(p.cpuSeconds, 2)} s CPU, ${reconcileText(p.reconciles)}`,
    ...requestLines(p.byVerbResource, '                   '),
  ];
}

function heapText(m: OperatorMetrics | undefined): string {
  if (m === undefined) return '?';
  return `heap ${fixed(m.heapUsedMB)}/${fixed(m.heapTotalMB)} MB used/total, external ${fixed(m.externalMB)} MB, event-loop lag p99 ${fixed(m.eventLoopLagP99Ms)} ms`;
}

/**
 * Everything this run needs on the machine: the operator, the control plane
 * and the bench itself. On a shared machine the wall time is this divided by
 * the cores it got, so this is the figure that does not depend on the neighbours.
 */
function stackLine(r: BenchResult): string {
  const parts = [r.cpuSeconds, r.controlPlaneCpuSeconds.kubeApiserver, r.controlPlaneCpuSeconds.etcd, r.benchCpuSeconds];
  if (parts.some((p) => p === undefined || Number.isNaN(p))) return 'stack CPU        ?';
  const total = parts.reduce<number>((sum, p) => sum + (p ?? 0), 0);
  const share = (p: number | undefined): string => `${Math.round(((p ?? 0) / total) * 100)} %`;
  return (
    `stack CPU        ${fixed(total)} CPU-s = ${fixed((total * 1000) / r.count, 1)} ms per Certificate (operator ${share(r.cpuSeconds)}, ` +
    `kube-apiserver ${share(r.controlPlaneCpuSeconds.kubeApiserver)}, etcd ${share(r.controlPlaneCpuSeconds.etcd)}, bench ${share(r.benchCpuSeconds)}); ` +
    `${fixed(total / r.machine.cpus)} s of wall on ${r.machine.cpus} idle cores`
  );
}

export function formatReport(r: BenchResult): string {
  // CPU figures are read when the LIST confirmed all Ready.
  const cores = r.cpuSeconds / r.confirmedSeconds;
  const t = r.timeline;
  const perCert = r.apiRequests.total / r.count;
  const met = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  const lines = [
    `certkeeper bench: ${r.count} Certificates, ${r.keyAlgorithm === 'RSA' ? 'RSA 2048' : 'ECDSA P-256'} keys, CA issuer, ${r.workers} workers` +
      (r.secrets === undefined ? '' : `, ${r.secrets.total} Secrets (${r.secrets.tls} TLS)`),
    `  node ${r.node} ${r.nodeFlags.join(' ') || '(no flags)'}${environmentText(r.operatorEnv)}, kube-apiserver ${r.kubeApiserver}, etcd ${r.etcd}, ${r.machine.cpus} CPUs, ${fixed(r.machine.memoryGB)} GiB`,
    '',
    `create           ${r.count} Certificates in ${fixed(r.createSeconds)} s, before the operator started`,
    `operator ready   ${fixed(r.operatorReadySeconds)} s after start (leading, caches synced)`,
    `first Ready      ${fixed(r.firstReadySeconds)} s`,
    `all Ready        ${fixed(r.readySeconds)} s  ->  ${fixed(r.certsPerSecond)} certificates/s (watch event of the last; a LIST confirmed at ${fixed(r.confirmedSeconds)} s)`,
    `timeline         Ready at: first ${fixed(t?.firstSeconds)} s, 10 % ${fixed(t?.p10Seconds)} s, 50 % ${fixed(t?.p50Seconds)} s, 90 % ${fixed(t?.p90Seconds)} s, all ${fixed(t?.lastSeconds)} s`,
    `                 Ready per second since start: ${t === undefined ? '?' : t.perSecond.join(' ')}`,
    `operator CPU     ${fixed(r.cpuSeconds)} s until all Ready (${fixed(cores, 2)} cores on average); ${fixed(r.cpuAtOperatorReadySeconds, 2)} s of it before /readyz (start-up)`,
    `CPU / issuance   ${fixed(r.cpuPerIssuanceMs, 2)} ms (CPU after /readyz until all Ready, divided by ${r.count})`,
    `machine          ${fixed(r.machine.busyCpuSeconds)} CPU-s busy of ${fixed(r.confirmedSeconds * r.machine.cpus)} meanwhile; other processes took ${otherCpu(r.machine.otherCpuSeconds)}` +
      ` (load average ${fixed(r.machine.loadAverage1m, 2)})${(r.machine.otherCpuSeconds ?? 0) > 0.1 * r.confirmedSeconds * r.machine.cpus ? ': the machine was shared, figures are pessimistic' : ''}`,
    `operator memory  peak RSS ${fixed(r.peakRssMB)} MB (VmHWM), highest sampled ${fixed(r.sampledPeakRssMB)} MB (${fixed(r.sampledPeakUntilReadyMB)} MB until all Ready, before the bench's /metrics scrapes), ${fixed(r.rssAtReadyMB)} MB when all Ready${
      r.rssAtReadySplitMB === undefined ? '' : ` (${fixed(r.rssAtReadySplitMB.anon)} MB anonymous: V8 heap, malloc; ${fixed(r.rssAtReadySplitMB.file)} MB file-backed: node binary, libraries)`
    }`,
    `                 peak (VmHWM) when all Ready ${fixed(r.peakRssAtReadyMB)} MB, after the first /metrics scrape ${fixed(r.peakRssAfterFirstScrapeMB)} MB`,
    `                 operator's /metrics when all Ready: ${heapText(r.operatorMetrics.atReady)}`,
    `                 after idle: ${heapText(r.operatorMetrics.afterIdle)}`,
    ...(r.memoryUsage === undefined
      ? []
      : [
          `                 process.memoryUsage() at the highest RSS: ${formatMemoryUsage(r.memoryUsage.atPeakRss)}`,
          `                 at the most (each field): ${formatMemoryUsage(r.memoryUsage.max)}; after idle: ${formatMemoryUsage(r.memoryUsage.last)}`,
          `                 each second since start, RSS/heap used MB: ${formatMemoryTimeline(r.memoryUsage)}`,
        ]),
    ...(r.secrets === undefined
      ? []
      : [
          `inventory        ${r.secrets.total} Secrets (${r.secrets.tls} TLS) beside the Certificates, created in ${fixed(r.secrets.createSeconds)} s; ` +
            `inventory entries ${r.operatorMetrics.atReady?.inventoryCertificates ?? '?'} when all Ready, ${r.operatorMetrics.afterIdle?.inventoryCertificates ?? '?'} after idle ` +
            `(Secrets' ${r.secrets.expectedInventoryEntries} plus the issued Certificates')`,
        ]),
    `reconciles       ${reconcileText(r.reconcilesUntilReady).replace('reconciles: ', '')} until all Ready`,
    `control plane    CPU while issuing: kube-apiserver ${fixed(r.controlPlaneCpuSeconds.kubeApiserver)} s, etcd ${fixed(r.controlPlaneCpuSeconds.etcd)} s; this bench (watch, LIST) ${fixed(r.benchCpuSeconds)} s`,
    stackLine(r),
    `API requests     ${r.apiRequests.total} by the operator until all Ready (${fixed(perCert, 2)} per Certificate); by status ${Object.entries(r.apiRequests.byCode)
      .map(([code, n]) => `${code}: ${n}`)
      .join(', ')}`,
    ...requestLines(r.apiRequests.byVerbResource, '                 '),
    ...phaseLine('settle', r.settle),
    ...phaseLine('idle', r.idle),
    '',
    `targets          all Ready <= ${TARGETS.readySeconds} s: ${met(r.readySeconds <= TARGETS.readySeconds)} (${fixed(r.readySeconds)} s); ` +
      `CPU per issuance <= ${TARGETS.cpuPerIssuanceMs} ms: ${met((r.cpuPerIssuanceMs ?? Infinity) <= TARGETS.cpuPerIssuanceMs)} (${fixed(r.cpuPerIssuanceMs, 2)} ms); ` +
      `peak RSS <= ${TARGETS.peakRssMB} MB: ${met(r.peakRssMB <= TARGETS.peakRssMB)} (${fixed(r.peakRssMB)} MB)` +
      (r.count === 1000 ? '' : ` [targets are for 1000]`),
  ];
  return lines.join('\n');
}

/** ` with MALLOC_ARENA_MAX=1`: the environment the operator ran with, as the report's header gives it. */
function environmentText(env: Record<string, string>): string {
  const entries = Object.entries(env);
  return entries.length === 0 ? '' : ` with ${entries.map(([k, v]) => `${k}=${v}`).join(' ')}`;
}

/** Others' CPU: a difference of two clocks read apart, so "none measurable" rather than a negative figure. */
export function otherCpu(seconds: number | undefined): string {
  if (seconds === undefined) return '? s';
  return seconds <= 0 ? 'none measurable' : `${fixed(seconds)} s`;
}
