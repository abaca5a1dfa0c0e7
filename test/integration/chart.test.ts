import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { CHART_DIR, helmOk, OPERATOR_DIR, PLAIN_NAMESPACE, renderPlainManifests, runHelm } from '../../hack/chart.js';
import { ensureTools, REPO_ROOT } from '../../hack/env/tools.js';
import { API_VERSION } from '../../src/api/meta.js';
import type { LabelSelector } from '../../src/api/meta.js';
import { matchesLabelSelector } from '../../src/api/label-selector.js';
import { loadOperatorConfig } from '../../src/config.js';
import { REVOKE_FINALIZER } from '../../src/controllers/certificate/acme/revocation.js';
import { domainMatchesGlob } from '../../src/policy/domain-glob.js';
import { effectiveSpec } from '../../src/policy/effective-spec.js';
import { guardrailViolations } from '../../src/policy/guardrails.js';
import type { CertificateGuardrails } from '../../src/api/tlspolicy.js';
import { deletePolicy, ensureOperatorNamespace, uniqueSuffix } from '../support/certkeeper.js';
import { createTestNamespace, testKube, waitFor } from '../support/kube.js';
import { objectStatus, parseManifests, serverApply, type Manifest } from '../support/manifests.js';
import { installStandInCrds, standInCrd } from '../support/stand-in-crds.js';

// The Helm chart against the real kube-apiserver: lint, render, schema,
// install, the plain manifests of operator/, the examples, and the
// ValidatingAdmissionPolicy held to the operator's own glob and selector code.

const ALL_ON = join(REPO_ROOT, 'test', 'fixtures', 'values-all-on.yaml');
const INVALID = join(REPO_ROOT, 'test', 'fixtures', 'values-invalid.yaml');
const EXAMPLES = join(CHART_DIR, 'examples');

let helm: string;
const kubeconfig = () => inject('kubeconfigPath');
const kc = () => testKube().kubeconfig;

/** The Prometheus Operator's CRDs are not part of the test control plane: stand-ins let the all-on install create its ServiceMonitor and PrometheusRule. */
const MONITORING_CRDS = (['ServiceMonitor', 'PrometheusRule'] as const).map((kind) => standInCrd('monitoring.coreos.com', kind));

async function installMonitoringCrds(): Promise<void> {
  await installStandInCrds(MONITORING_CRDS, 'monitoring.coreos.com stand-in CRDs');
}

async function template(args: string[]): Promise<Manifest[]> {
  return parseManifests(await helmOk(helm, ['template', 'certkeeper', CHART_DIR, '--namespace', 'certkeeper', ...args]), 'helm template');
}

function deploymentOf(objects: Manifest[]): V1Deployment {
  const d = objects.find((o) => o.kind === 'Deployment');
  if (d === undefined) throw new Error('no Deployment rendered');
  return d;
}

beforeAll(async () => {
  ({ helm } = await ensureTools());
});

describe('helm lint and template', () => {
  it.each([
    ['default values', []],
    ['every option on', ['-f', ALL_ON]],
  ])('lints cleanly with %s', async (_what, args) => {
    const out = await helmOk(helm, ['lint', '--strict', CHART_DIR, ...args]);
    expect(out).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it('renders a hardened, highly available operator with default values', async () => {
    const objects = await template([]);
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        'ClusterRole',
        'ClusterRole',
        'ClusterRole',
        // /metrics and /inventory need a reader's token (http.auth kubernetes): the reader role, the auth-delegator binding.
        'ClusterRole',
        'ClusterRoleBinding',
        'ClusterRoleBinding',
        // The inventory sources' read-only ClusterRole (caBundles, consumers) and its binding.
        'ClusterRole',
        'ClusterRoleBinding',
        // On by default: ingress to the pods only on their ports.
        'NetworkPolicy',
        'Deployment',
        'PodDisruptionBudget',
        'Role',
        'RoleBinding',
        'Service',
        'Service',
        'ServiceAccount',
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicyBinding',
      ].sort(),
    );
    const deployment = deploymentOf(objects);
    const pod = deployment.spec?.template.spec;
    const container = pod?.containers[0];
    expect(deployment.spec?.replicas).toBe(2);
    expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container?.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container?.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'http' });
    expect(container?.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
    expect(container?.ports?.find((p) => p.name === 'http')?.containerPort).toBe(9402);
    expect(container?.resources?.requests).toBeDefined();
    expect(pod?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
    expect(container?.args).toContain('--leader-elect=true');
    // The solver Service has the operator's default name, on the responder's port.
    const solver = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'certkeeper-acme-solver') as { spec?: { ports?: { port: number }[] } } | undefined;
    expect(solver?.spec?.ports?.[0]?.port).toBe(8089);
    expect(container?.args).toContain('--acme-http01-service=certkeeper-acme-solver');
    expect(container?.args).toContain('--acme-http01-port=8089');
  });

  it.each([
    ['default values', []],
    ['every option on', ['-f', ALL_ON]],
  ])('passes the operator only flags it knows, with values it accepts (%s)', async (_what, args) => {
    const container = deploymentOf(await template(args)).spec?.template.spec?.containers[0];
    const [command, ...flags] = container?.args ?? [];
    expect(command).toBe('operator');
    // The operator's own parser: an unknown flag or a bad value throws here, not in a crash-looping pod.
    const config = loadOperatorConfig(flags, {});
    expect(config.namespace).toBe('certkeeper');
    if (args.length > 0) {
      expect(config).toMatchObject({
        logLevel: 'debug',
        workers: 8,
        httpPort: 9500,
        acmeHttp01Port: 8090,
        acmeCaFile: '/etc/certkeeper/acme-ca/ca.pem',
        alertmanagerUrl: ['https://alertmanager-0.monitoring:9093', 'https://alertmanager-1.monitoring:9093'],
        alertmanagerPasswordFile: '/etc/certkeeper/alertmanager/password',
        alertmanagerBearerTokenFile: '/etc/certkeeper/alertmanager/token',
        alertmanagerCaFile: '/etc/certkeeper/alertmanager/ca.crt',
        alertNotReadyAfter: 15 * 60_000,
        inventorySources: ['webhooks', 'apiservices', 'crds', 'secrets'],
        inventoryConfigmapSelector: 'trust.example.com/bundle=true',
        inventoryConsumers: ['pods', 'ingresses', 'gateways'],
        alertApiServerCaSeverity: 'warning',
      });
    }
  });

  it('renders every optional object when every option is on', async () => {
    const objects = await template(['-f', ALL_ON]);
    const kinds = new Set(objects.map((o) => o.kind));
    for (const kind of ['ServiceMonitor', 'PrometheusRule', 'NetworkPolicy', 'PodDisruptionBudget', 'ValidatingAdmissionPolicy']) expect(kinds).toContain(kind);
    // The PrometheusRule carries the rules file verbatim: its Prometheus templates reach Prometheus untouched.
    const rule = objects.find((o) => o.kind === 'PrometheusRule');
    const rulesFile: unknown = parseYaml(readFileSync(join(CHART_DIR, 'rules', 'certkeeper-alerts.rules.yaml'), 'utf8'));
    expect(rule?.spec).toEqual(rulesFile);
    // The Grafana dashboard, labelled for the sidecar, carrying dashboards/certkeeper.json verbatim.
    const dashboard = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1') as { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }; data?: Record<string, string> } | undefined;
    expect(dashboard?.metadata.labels?.release).toBe('prometheus');
    expect(dashboard?.metadata.annotations?.grafana_folder).toBe('Certificates');
    expect(JSON.parse(dashboard?.data?.['certkeeper.json'] ?? '{}')).toEqual(JSON.parse(readFileSync(join(CHART_DIR, 'dashboards', 'certkeeper.json'), 'utf8')));
    expect((await template([])).some((o) => o.metadata.labels?.grafana_dashboard !== undefined)).toBe(false);
    const pod = deploymentOf(objects).spec?.template.spec;
    expect(pod?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
    expect(pod?.volumes?.find((v) => v.name === 'alertmanager-credentials')?.secret?.items?.map((i) => i.key)).toEqual(['password', 'token', 'ca.crt']);
    // Watched namespaces: the flag, and a Role with its binding in each (rbac.test.ts proves what they hold).
    expect(pod?.containers[0]?.args).toEqual(expect.arrayContaining(['--watch-namespaces=team-a', '--watch-namespaces=team-b']));
    for (const kind of ['Role', 'RoleBinding']) {
      expect(objects.filter((o) => o.kind === kind && o.metadata.name === 'ck-all').map((o) => o.metadata.namespace).sort()).toEqual(['team-a', 'team-b']);
    }
  });

  it('grants reading pods and patching workloads only with reload.enabled, and turns the operator flag on with it', async () => {
    // Reading a pod and its owner, patching a workload: not the inventory's list/watch of Pods (its consumers).
    // With every option on, namespaces are watched: the rules are in each watched namespace's Role.
    const reloadRules = (objects: Awaited<ReturnType<typeof template>>) => [
      ...new Set(
        objects
          .filter((o) => (o.kind === 'ClusterRole' || o.kind === 'Role') && o.metadata?.name?.endsWith('-edit') !== true && o.metadata?.name?.endsWith('-view') !== true)
          .flatMap((o) => (o as unknown as { rules?: { apiGroups?: string[]; resources?: string[]; verbs?: string[] }[] }).rules ?? [])
          .filter((r) => (r.resources ?? []).some((x) => ['pods', 'replicasets', 'deployments', 'statefulsets', 'daemonsets'].includes(x)) && !(r.verbs ?? []).includes('list'))
          .map((r) => JSON.stringify(r)),
      ),
    ].map((r) => JSON.parse(r) as unknown);
    const off = await template([]);
    expect(reloadRules(off)).toEqual([]);
    expect(deploymentOf(off).spec?.template.spec?.containers[0]?.args).not.toContain('--reload-enabled=true');
    const on = await template(['-f', ALL_ON]);
    expect(reloadRules(on)).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
      { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get'] },
      { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['patch'] },
    ]);
    expect(deploymentOf(on).spec?.template.spec?.containers[0]?.args).toContain('--reload-enabled=true');
  });

  it('refuses invalid values, naming each wrong field', async () => {
    const result = await runHelm(helm, ['template', 'certkeeper', CHART_DIR, '-f', INVALID]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("values don't meet the specifications of the schema");
    expect(result.stderr).toContain("at '/replicas': minimum: got -1, want 0");
    expect(result.stderr).toContain("at '/operator/logLevel': value must be one of 'fatal', 'error', 'warn', 'info', 'debug', 'trace'");
    expect(result.stderr).toContain("at '/operator/probeConcurrency': minimum: got 0, want 1");
    expect(result.stderr).toContain("additional properties 'workerz' not allowed");
    // helm lint and helm install refuse the same file with the same words.
    const lint = await runHelm(helm, ['lint', CHART_DIR, '-f', INVALID]);
    expect(lint.code).not.toBe(0);
    expect(`${lint.stdout}${lint.stderr}`).toContain("at '/operator/probeConcurrency': minimum: got 0, want 1");
    const install = await runHelm(helm, ['install', `refused-${uniqueSuffix()}`, CHART_DIR, '--namespace', 'default', '-f', INVALID, '--kubeconfig', kubeconfig()]);
    expect(install.code).not.toBe(0);
    expect(install.stderr).toContain("at '/replicas': minimum: got -1, want 0");
    // And with --set, as people type them.
    const typo = await runHelm(helm, ['template', 'certkeeper', CHART_DIR, '--set', 'replicas=3', '--set', 'leaderElection.enabled=false']);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toContain("at '/leaderElection/enabled': value must be true");
  });
});

describe('helm install into the API server', () => {
  it('installs with every option on, and the API server accepts every object', async () => {
    await installMonitoringCrds();
    const ns = await createTestNamespace('chart-all-on');
    const release = `ck-${uniqueSuffix()}`;
    const rendered = parseManifests(
      await helmOk(helm, ['template', release, CHART_DIR, '--namespace', ns.name, '-f', ALL_ON, '--set', `fullnameOverride=${release}`, '--set', `operator.watchNamespaces={${ns.name}}`]),
    );
    // A watched namespace that exists (its Role lives there): the release's own.
    await helmOk(helm, ['install', release, CHART_DIR, '--namespace', ns.name, '-f', ALL_ON, '--set', `fullnameOverride=${release}`, '--set', `operator.watchNamespaces={${ns.name}}`, '--kubeconfig', kubeconfig()]);
    try {
      for (const m of rendered) expect(await objectStatus(kc(), m, ns.name), `${m.kind} ${m.metadata.name}`).toBe(200);
      const status = await helmOk(helm, ['status', release, '--namespace', ns.name, '--kubeconfig', kubeconfig()]);
      expect(status).toContain('STATUS: deployed');
      expect(status).toContain('kubectl -n');
    } finally {
      await helmOk(helm, ['uninstall', release, '--namespace', ns.name, '--kubeconfig', kubeconfig()]);
    }
  });

  it('installs with default values (helm install --dry-run=server first)', async () => {
    const ns = await createTestNamespace('chart-default');
    const release = `ck-${uniqueSuffix()}`;
    const dry = await helmOk(helm, ['install', release, CHART_DIR, '--namespace', ns.name, '--dry-run=server', '--kubeconfig', kubeconfig()]);
    expect(dry).toContain('STATUS: pending-install');
    await helmOk(helm, ['install', release, CHART_DIR, '--namespace', ns.name, '--kubeconfig', kubeconfig()]);
    try {
      const { rbac } = testKube();
      const role = await rbac.readClusterRole({ name: `${release}-certkeeper` });
      expect(role.rules?.length).toBeGreaterThan(5);
    } finally {
      await helmOk(helm, ['uninstall', release, '--namespace', ns.name, '--kubeconfig', kubeconfig()]);
    }
  });
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('operator/ (kubectl apply -k operator/)', () => {
  it('is exactly what hack/render-manifests.ts renders from the chart', async () => {
    const rendered = await renderPlainManifests(helm);
    const onDisk = filesUnder(OPERATOR_DIR).map((f) => relative(OPERATOR_DIR, f)).sort();
    expect(onDisk).toEqual([...rendered.keys()].sort());
    for (const [name, text] of rendered) {
      expect(readFileSync(join(OPERATOR_DIR, name), 'utf8'), `operator/${name} is stale: run npx tsx hack/render-manifests.ts`).toBe(text);
    }
  });

  it('lists every file in kustomization.yaml, and the API server accepts every object (server-side dry run)', async () => {
    const kustomization: { resources: string[] } = parseYaml(readFileSync(join(OPERATOR_DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    expect(kustomization.resources.sort()).toEqual(filesUnder(OPERATOR_DIR).map((f) => relative(OPERATOR_DIR, f)).filter((f) => f !== 'kustomization.yaml').sort());
    await ensureOperatorNamespace();
    const results = [];
    for (const file of kustomization.resources) {
      for (const m of parseManifests(readFileSync(join(OPERATOR_DIR, file), 'utf8'), file)) {
        // The CRDs are installed already (global setup); applying them again as a dry run checks they are accepted.
        results.push(await serverApply(kc(), m, { namespace: PLAIN_NAMESPACE }));
      }
    }
    expect(results.filter((r) => r.status >= 300)).toEqual([]);
    expect(results.map((r) => r.object)).toContain('Deployment certkeeper/certkeeper');
    expect(results.map((r) => r.object)).toContain('ValidatingAdmissionPolicy certkeeper-allowed-domains');
  });
});

describe('examples/', () => {
  it('every example is accepted by the API server (server-side dry run)', async () => {
    await ensureOperatorNamespace();
    const ns = await createTestNamespace('chart-examples');
    const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));
    expect(files.sort()).toEqual(['certificates.yaml', 'tlspolicy-ca.yaml', 'tlspolicy-letsencrypt-staging.yaml', 'tlspolicy-rfc2136.yaml']);
    const results = [];
    for (const file of files) {
      for (const m of parseManifests(readFileSync(join(EXAMPLES, file), 'utf8'), file)) results.push(await serverApply(kc(), m, { namespace: ns.name }));
    }
    expect(results.filter((r) => r.status >= 300)).toEqual([]);
    expect(results.filter((r) => r.object.startsWith('Certificate '))).toHaveLength(3);
    expect(results.filter((r) => r.object.startsWith('TLSPolicy '))).toHaveLength(3);
  });

  it("each example Certificate's names are allowed by the policy it names", () => {
    const docs = files('tlspolicy-').flatMap((f) => parseManifests(readFileSync(join(EXAMPLES, f), 'utf8')));
    const policies = new Map(docs.filter((d) => d.kind === 'TLSPolicy').map((p) => [p.metadata.name, p as unknown as { spec: { certificates: { allowedDomains: string[] } } }]));
    for (const c of parseManifests(readFileSync(join(EXAMPLES, 'certificates.yaml'), 'utf8'))) {
      const spec = (c as unknown as { spec: { dnsNames: string[]; policyRef: { name: string } } }).spec;
      const globs = policies.get(spec.policyRef.name)?.spec.certificates.allowedDomains ?? [];
      for (const name of spec.dnsNames) expect(globs.some((g) => domainMatchesGlob(name, g)), `${c.metadata.name}: ${name}`).toBe(true);
    }
  });
});

function files(prefix: string): string[] {
  return readdirSync(EXAMPLES).filter((f) => f.startsWith(prefix) && f.endsWith('.yaml'));
}

// ---------------------------------------------------------------------------
// The ValidatingAdmissionPolicy. Installed once for this block with a param
// selector of its own, so only the TLSPolicies made here are its parameters
// (other test files leave policies behind in the shared API server).

describe('ValidatingAdmissionPolicy (allowedDomains at admission)', () => {
  const suffix = uniqueSuffix();
  const release = `vap-${suffix}`;
  const paramLabel = { 'certkeeper.dev/vap-test': suffix };
  const policies: string[] = [];
  let releaseNs: string;
  let certNs: string;
  let cleanups: (() => Promise<void>)[] = [];

  /** A parameter policy; unless the spec says otherwise it selects the namespace the Certificates here are made in. */
  async function policy(name: string, spec: Record<string, unknown>): Promise<string> {
    policies.push(name);
    const selecting = 'namespaceSelector' in spec ? spec : { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': certNs } }, ...spec };
    await testKube().customObjects.createClusterCustomObject({
      group: 'certkeeper.dev',
      version: 'v1alpha1',
      plural: 'tlspolicies',
      body: { apiVersion: API_VERSION, kind: 'TLSPolicy', metadata: { name, labels: paramLabel }, spec: selecting },
    });
    return name;
  }

  function certificate(name: string, spec: Record<string, unknown>): Manifest {
    return { apiVersion: API_VERSION, kind: 'Certificate', metadata: { name }, spec: { secretName: `${name}-tls`, ...spec } };
  }

  /**
   * Server-side dry-run create: the VAP judges it like a real one, nothing is
   * stored. A refusal by a ValidatingAdmissionPolicy with reason Forbidden is
   * HTTP 403; anything else but success is a broken test, not a verdict.
   */
  async function admit(namespace: string, c: Manifest, dryRun = true): Promise<{ admitted: boolean; message: string }> {
    const r = await serverApply(kc(), c, { namespace, dryRun });
    if (r.status >= 300 && r.status !== 403) throw new Error(`${r.object}: unexpected HTTP ${r.status}: ${r.message}`);
    return { admitted: r.status < 300, message: r.message };
  }

  beforeAll(async () => {
    ({ helm } = await ensureTools());
    const a = await createTestNamespace('vap-release');
    const b = await createTestNamespace('vap-certs');
    cleanups = [a.cleanup, b.cleanup];
    releaseNs = a.name;
    certNs = b.name;
    const dir = await mkdtemp(join(tmpdir(), 'certkeeper-vap-'));
    const values = join(dir, 'values.yaml');
    await writeFile(values, JSON.stringify({ admissionPolicy: { policySelector: { matchLabels: paramLabel } } }));
    await helmOk(helm, ['install', release, CHART_DIR, '--namespace', releaseNs, '-f', values, '--kubeconfig', kubeconfig()]);
    await rm(dir, { recursive: true, force: true });
    // The API server loads a new policy and binding asynchronously: wait until a known-bad Certificate is refused.
    // Refused by this release's policy, not by one an earlier test uninstalled a moment ago (the API server drops it with a lag).
    const gate = await policy(`vap-gate-${suffix}`, { certificates: { allowedDomains: ['allowed.example'] } });
    await waitFor(
      async ({ observe }) => {
        const r = await admit(certNs, certificate('gate', { dnsNames: ['refused.example'], policyRef: { name: gate } }));
        observe(r);
        return !r.admitted && r.message.includes(`'${release}-certkeeper-allowed-domains'`) ? r : undefined;
      },
      { description: 'the ValidatingAdmissionPolicy to be in force', timeoutMs: 30_000, intervalMs: 250 },
    );
  });

  afterAll(async () => {
    // Uninstalled, so Certificates of later test files are judged by nobody's policy.
    if (releaseNs !== undefined) await runHelm(helm, ['uninstall', release, '--namespace', releaseNs, '--kubeconfig', kubeconfig()]);
    for (const p of policies) await deletePolicy(p);
    for (const c of cleanups) await c();
  });

  it('refuses an out-of-policy Certificate with a message naming the policy, and admits an in-policy one', async () => {
    const p = await policy(`team-web-${suffix}`, { certificates: { allowedDomains: ['**.web.example.com', 'web.example.com'] } });
    // A new parameter reaches the admission policy with a short lag: wait for its refusal.
    const refused = await waitFor(
      async ({ observe }) => {
        const r = await admit(certNs, certificate('out', { dnsNames: ['www.web.example.com', 'api.other.example.com'], policyRef: { name: p } }));
        observe(r);
        return !r.admitted && r.message.includes(`'${release}-certkeeper-allowed-domains'`) ? r : undefined;
      },
      { description: `TLSPolicy ${p} to be judged by this release's admission policy`, timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(refused.admitted).toBe(false);
    expect(refused.message).toContain(`ValidatingAdmissionPolicy '${release}-certkeeper-allowed-domains'`);
    expect(refused.message).toContain(`TLSPolicy "${p}" does not allow "api.other.example.com": allowedDomains is [**.web.example.com, web.example.com]`);
    expect(refused.message).not.toContain('"www.web.example.com"');
    const admitted = await admit(certNs, certificate('in', { dnsNames: ['web.example.com', 'a.b.web.example.com'], commonName: 'web.example.com', policyRef: { name: p } }));
    expect(admitted).toEqual({ admitted: true, message: '' });
    // A DNS-looking commonName is judged too, as the operator's guardrail does.
    const cn = await admit(certNs, certificate('cn', { commonName: 'intranet.example.org', policyRef: { name: p } }));
    expect(cn.message).toContain('does not allow "intranet.example.org"');
  });

  it('judges a Certificate only by a policy that selects its namespace; policyRef chooses among those', async () => {
    const ns = await createTestNamespace('vap-selected', testKube());
    await testKube().core.patchNamespace(
      { name: ns.name, body: { metadata: { labels: { [`vap-${suffix}/team`]: 'shop' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const shopSelector = { matchLabels: { [`vap-${suffix}/team`]: 'shop' } };
    const strict = await policy(`strict-${suffix}`, { namespaceSelector: shopSelector, certificates: { allowedDomains: ['shop.example.com'] } });
    const broad = await policy(`broad-${suffix}`, { namespaceSelector: shopSelector, priority: -1, certificates: { allowedDomains: ['**.example.com'] } });
    const elsewhere = await policy(`elsewhere-${suffix}`, { namespaceSelector: { matchLabels: { [`vap-${suffix}/team`]: 'other' } }, certificates: { allowedDomains: ['**'] } });
    const unselecting = await policy(`unselecting-${suffix}`, { namespaceSelector: undefined, certificates: { allowedDomains: ['**.example.com'] } });
    // Without a policyRef every policy selecting the namespace judges it (the operator picks one; admission cannot).
    const bySelector = await admit(ns.name, certificate('by-selector', { dnsNames: ['blog.example.com'] }));
    expect(bySelector.message).toContain(`TLSPolicy "${strict}" does not allow "blog.example.com"`);
    // policyRef to "broad", which selects the namespace: only it judges, so it is admitted.
    expect(await admit(ns.name, certificate('by-ref', { dnsNames: ['blog.example.com'], policyRef: { name: broad } }))).toMatchObject({ admitted: true });
    // policyRef to a policy of other namespaces, to one that selects none, to one that does not exist: none of them
    // judges it, and each is answered alike (the operator reports PolicyNotFound for all three).
    for (const name of [elsewhere, unselecting, `missing-${suffix}`]) {
      expect(await admit(ns.name, certificate(`ref-${name}`, { dnsNames: ['any.thing.example.net'], policyRef: { name } }))).toMatchObject({ admitted: true });
    }
    // A selecting policy without allowedDomains restricts nothing.
    const open = await policy(`open-${suffix}`, { namespaceSelector: shopSelector, issuer: { selfSigned: {} } });
    expect(await admit(ns.name, certificate('open', { dnsNames: ['any.thing.example.net'], policyRef: { name: open } }))).toMatchObject({ admitted: true });
  });

  it('lets the operator update a Certificate admitted under an older policy; a changed spec is judged again', async () => {
    const p = await policy(`tightened-${suffix}`, { certificates: { allowedDomains: ['**.example.com'] } });
    const c = certificate('older', { dnsNames: ['old.example.com'], policyRef: { name: p } });
    expect(await admit(certNs, c, false)).toMatchObject({ admitted: true });
    const { customObjects } = testKube();
    await customObjects.patchClusterCustomObject(
      { group: 'certkeeper.dev', version: 'v1alpha1', plural: 'tlspolicies', name: p, body: { spec: { certificates: { allowedDomains: ['new.example.com'] } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    // Once the tightened policy is in force, a spec change is refused...
    const changed = { ...c, spec: { ...(c.spec as Record<string, unknown>), dnsNames: ['old.example.com', 'new.example.com'] } };
    const refused = await waitFor(
      async () => {
        const r = await admit(certNs, changed);
        return r.admitted ? undefined : r;
      },
      { description: 'the tightened policy to refuse a spec change', timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(refused.message).toContain(`TLSPolicy "${p}" does not allow "old.example.com"`);
    // ...but what the operator does to it (the revokeOnDelete finalizer, labels) is not.
    const finalizer = { ...c, metadata: { ...c.metadata, finalizers: [REVOKE_FINALIZER] } };
    expect(await admit(certNs, finalizer, false)).toMatchObject({ admitted: true });
    const released = { ...c, metadata: { ...c.metadata, finalizers: [] } };
    expect(await admit(certNs, released, false)).toMatchObject({ admitted: true });
  });

  // The identity guardrails: the operator's verdict (src/policy/guardrails.ts)
  // and the admission policy's, case by case, as the globs are compared below.
  const IDENTITY_CASES: [what: string, guardrails: CertificateGuardrails, spec: Record<string, unknown>][] = [
    ['DNS-only policy, DNS name inside', { allowedDomains: ['**.a.example'] }, { dnsNames: ['x.a.example'] }],
    ['DNS-only policy, an IP', { allowedDomains: ['**.a.example'] }, { dnsNames: ['x.a.example'], ipAddresses: ['10.0.0.1'] }],
    ['DNS-only policy, another team\'s SPIFFE ID', { allowedDomains: ['**.a.example'] }, { dnsNames: ['x.a.example'], uris: ['spiffe://td/ns/b/sa/api'] }],
    ['DNS-only policy, a mailbox', { allowedDomains: ['**.a.example'] }, { dnsNames: ['x.a.example'], emailAddresses: ['ceo@b.example'] }],
    ['DNS-only policy, a subject', { allowedDomains: ['**.a.example'] }, { dnsNames: ['x.a.example'], subject: { organizations: ['Team B'] } }],
    ['DNS-only policy, a subject it allows', { allowedDomains: ['**.a.example'], allowSubject: true }, { dnsNames: ['x.a.example'], subject: { organizations: ['Team A'] } }],
    ['DNS-only policy, a plain commonName', { allowedDomains: ['**.a.example'] }, { dnsNames: ['x.a.example'], commonName: 'Team B admin' }],
    ['IP-only policy, a DNS name', { allowedIPRanges: ['10.0.0.0/8'] }, { ipAddresses: ['10.1.1.1'], dnsNames: ['x.example'] }],
    ['IP ranges, v4 and v6 inside', { allowedIPRanges: ['10.0.0.0/8', 'fd00::/8'] }, { ipAddresses: ['10.1.1.1', 'fd00::5'] }],
    ['IP ranges, one outside', { allowedIPRanges: ['10.0.0.0/8', 'fd00::/8'] }, { ipAddresses: ['10.1.1.1', '192.168.0.1'] }],
    // (IPv4-mapped IPv6 addresses never get this far: the CRD's isIP refuses them.)
    ['IP ranges, v6 against a v4 range', { allowedIPRanges: ['10.0.0.0/8'] }, { ipAddresses: ['fd00::a01:101'] }],
    ['URIs, ** across segments', { allowedURIs: ['spiffe://td/ns/a/**'] }, { uris: ['spiffe://td/ns/a/sa/web'] }],
    ['URIs, * within a segment', { allowedURIs: ['spiffe://td/ns/a/*'] }, { uris: ['spiffe://td/ns/a/sa/web'] }],
    ['URIs, a dot is literal', { allowedURIs: ['https://a.example/**'] }, { uris: ['https://aXexample/x'] }],
    ['URI commonName repeating a URI', { allowedURIs: ['spiffe://td/ns/a/**'] }, { uris: ['spiffe://td/ns/a/sa/web'], commonName: 'spiffe://td/ns/a/sa/web' }],
    ['mailbox at an allowed domain', { allowedEmailDomains: ['**.a.example', 'a.example'] }, { emailAddresses: ['ops@a.example', 'x@y.a.example'] }],
    ['mailbox at a look-alike domain', { allowedEmailDomains: ['a.example'] }, { emailAddresses: ['ops@a.example.evil'] }],
    ['a CA without allowCA', {}, { dnsNames: ['x.example'], isCA: true }],
    ['a CA with allowCA', { allowCA: true }, { dnsNames: ['x.example'], isCA: true, usages: ['cert sign', 'digital signature'] }],
    ['a CA without allowCA, asking for cert sign', {}, { dnsNames: ['x.example'], isCA: true, usages: ['cert sign'] }],
    ['code signing by default', {}, { dnsNames: ['x.example'], usages: ['digital signature', 'code signing'] }],
    ['code signing when listed', { allowedUsages: ['digital signature', 'code signing'] }, { dnsNames: ['x.example'], usages: ['digital signature', 'code signing'] }],
    ['usage aliases', { allowedUsages: ['signing', 's/mime'] }, { dnsNames: ['x.example'], usages: ['digital signature', 'email protection'] }],
    ['cert sign for a leaf without allowCA', {}, { dnsNames: ['x.example'], usages: ['cert sign'] }],
    ['unrestricted policy, every identity', { maxDuration: '2160h' }, { dnsNames: ['x.example'], ipAddresses: ['10.0.0.1'], uris: ['urn:x'], emailAddresses: ['a@b.example'], commonName: 'Anything', subject: { organizations: ['O'] } }],
  ];

  it('judges the identity guardrails (IPs, URIs, mailboxes, subject, CA, usages) as the operator does', async () => {
    const suffixes = IDENTITY_CASES.map((_, i) => `${suffix}-id${i}`);
    const names = await Promise.all(IDENTITY_CASES.map(([, guardrails], i) => policy(`identity-${suffixes[i] ?? i}`, { certificates: guardrails })));
    const verdicts: string[] = [];
    for (const [i, [what, guardrails, spec]] of IDENTITY_CASES.entries()) {
      const operator = guardrailViolations({
        policyName: names[i] ?? '',
        spec: effectiveSpec({ secretName: 'x', ...spec }, undefined),
        guardrails,
      });
      // The policy may take a moment to be known as a parameter: ask until the verdicts agree or time runs out.
      const admitted = await waitFor(
        async ({ observe }) => {
          const r = await admit(certNs, certificate(`id-${i}`, { ...spec, policyRef: { name: names[i] } }));
          observe(r);
          return r.admitted === (operator.length === 0) ? r : undefined;
        },
        { description: `${what}: admission to agree with the operator (${operator.map((v) => v.reason).join(', ') || 'allowed'})`, timeoutMs: 15_000, intervalMs: 250 },
      ).catch(() => undefined);
      verdicts.push(`${what}: operator ${operator.length === 0 ? 'allows' : operator.map((v) => v.reason).join('+')}, admission ${admitted === undefined ? 'DISAGREES' : admitted.admitted ? 'allows' : 'refuses'}`);
    }
    expect(verdicts.filter((v) => v.includes('DISAGREES'))).toEqual([]);
    // Both refuse what they should: the table is not all "allows".
    expect(verdicts.filter((v) => v.includes('admission refuses')).length).toBeGreaterThan(10);
  });

  it('judges a large policy against a large Certificate in full, within the API server\'s CEL cost limit', async () => {
    // 64 globs, 64 names, each allowed name matching only the last glob: every name is tried against every glob.
    const n = 64;
    const globs = Array.from({ length: n }, (_, i) => `**.team${i}-*.sub${i}.large-example.com`);
    const names = [...Array.from({ length: n - 1 }, (_, i) => `host${i}.x.team${n - 1}-a.sub${n - 1}.large-example.com`), 'nope.example.org'];
    const p = await policy(`large-${suffix}`, { certificates: { allowedDomains: globs } });
    const verdict = await waitFor(
      async () => {
        const r = await admit(certNs, certificate('large', { dnsNames: names, policyRef: { name: p } }));
        return r.admitted ? undefined : r;
      },
      { description: `TLSPolicy ${p} to refuse the one name it does not allow`, timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(verdict.message).toContain(`TLSPolicy "${p}" does not allow "nope.example.org": allowedDomains is [`);
    expect(verdict.message).not.toContain('cost limit');
  });

  // The globs of src/policy/domain-glob.ts, and names that tell their
  // meanings apart: "*" vs "**", partial labels, requested wildcards, case,
  // and globs holding RE2 metacharacters that must stay literal.
  const GLOBS = [
    'example.com',
    '*.example.com',
    '**.example.com',
    'web-*.example.com',
    '*web.example.com',
    '*-api.*.example.com',
    'a.**.example.com',
    '*.*.example.com',
    '**',
    '*',
    'WWW.Example.COM',
    'a+.example.com',
    'w?b.example.com',
    '(a|q).example.com',
    '[a-z].example.com',
    'x{2}.example.com',
    'a\\d.example.com',
    '^a$.example.com',
  ];
  const NAMES: { name: string; as: 'dnsNames' | 'commonName' }[] = [
    ...[
      'example.com',
      'www.example.com',
      'a.b.example.com',
      '*.example.com',
      '*.b.example.com',
      'web-1.example.com',
      'web.example.com',
      'myweb.example.com',
      'webby.example.com',
      'sub.web-2.example.com',
      'x-api.eu.example.com',
      'x-api.example.com',
      'a.x.example.com',
      'a.x.y.example.com',
      'a.example.com',
      'aa.example.com',
      'wb.example.com',
      'q.example.com',
      'xx.example.com',
      'a1.example.com',
      'ad.example.com',
      'localhost',
      'example.org',
    ].map((name) => ({ name, as: 'dnsNames' as const })),
    // The CRD allows upper case only in commonName; the operator compares case-insensitively.
    ...['WWW.EXAMPLE.COM', 'Web-2.Example.Com', 'A.X.Y.Example.com'].map((name) => ({ name, as: 'commonName' as const })),
  ];

  it('agrees with src/policy on every glob and name of the table', async () => {
    const globPolicies: string[] = [];
    for (const [i, g] of GLOBS.entries()) globPolicies.push(await policy(`glob-${i}-${suffix}`, { certificates: { allowedDomains: [g] } }));
    // Some globs ("**") refuse no name, so they cannot show by themselves that they are in force. The
    // API server's param informer takes TLSPolicies in order: once a policy created after all of
    // them refuses a Certificate, every one before it is in force too.
    const sentinel = await policy(`glob-sentinel-${suffix}`, { certificates: { allowedDomains: ['only.example'] } });
    await waitFor(
      async () => {
        const r = await admit(certNs, certificate('probe', { dnsNames: ['other.example'], policyRef: { name: sentinel } }));
        return r.admitted ? undefined : r;
      },
      { description: `TLSPolicy ${sentinel} to be a parameter in force`, timeoutMs: 30_000, intervalMs: 200 },
    );
    const cases = GLOBS.flatMap((glob, i) => NAMES.map((n) => ({ glob, policy: globPolicies[i] ?? '', ...n })));
    const disagreements: string[] = [];
    let allowed = 0;
    for (let i = 0; i < cases.length; i += 16) {
      await Promise.all(
        cases.slice(i, i + 16).map(async (c, j) => {
          const spec = c.as === 'dnsNames' ? { dnsNames: [c.name] } : { commonName: c.name };
          const r = await admit(certNs, certificate(`g-${i + j}`, { ...spec, policyRef: { name: c.policy } }));
          const expected = domainMatchesGlob(c.name, c.glob);
          if (expected) allowed++;
          if (r.admitted !== expected) disagreements.push(`${c.name} vs ${c.glob}: operator ${expected ? 'allows' : 'refuses'}, admission ${r.admitted ? 'allows' : `refuses (${r.message})`}`);
        }),
      );
    }
    expect(disagreements).toEqual([]);
    // Both verdicts occur plenty: the table can tell a broken translation from a working one.
    expect(allowed).toBeGreaterThan(40);
    expect(cases.length - allowed).toBeGreaterThan(200);
  });

  it('matches namespaces as the operator does: matchLabels and In / NotIn / Exists / DoesNotExist', async () => {
    const key = `vap-${suffix}/team`;
    const selectors: (LabelSelector | undefined)[] = [
      { matchLabels: { [key]: 'a' } },
      { matchExpressions: [{ key, operator: 'In', values: ['a', 'b'] }] },
      { matchExpressions: [{ key, operator: 'NotIn', values: ['a'] }] },
      { matchExpressions: [{ key, operator: 'Exists' }] },
      { matchExpressions: [{ key, operator: 'DoesNotExist' }] },
      { matchLabels: { [key]: 'b' }, matchExpressions: [{ key: `vap-${suffix}/env`, operator: 'In', values: ['prod'] }] },
      {},
      undefined,
    ];
    const labelSets: Record<string, string>[] = [{}, { [key]: 'a' }, { [key]: 'b' }, { [key]: 'c' }, { [key]: 'b', [`vap-${suffix}/env`]: 'prod' }];
    const disagreements: string[] = [];
    let governed = 0;
    for (const [i, selector] of selectors.entries()) {
      // Each case gets its own label, so a policy only ever sees the namespaces of its case.
      const caseLabel = { [`vap-${suffix}/case`]: String(i) };
      const full = selector === undefined ? undefined : { matchLabels: { ...caseLabel, ...selector.matchLabels }, ...(selector.matchExpressions ? { matchExpressions: selector.matchExpressions } : {}) };
      const p = await policy(`sel-${i}-${suffix}`, { ...(full === undefined ? {} : { namespaceSelector: full }), certificates: { allowedDomains: ['allowed.example.com'] } });
      const namespaces = [];
      for (const labels of labelSets) {
        const ns = await createTestNamespace(`vap-sel-${i}`);
        await testKube().core.patchNamespace({ name: ns.name, body: { metadata: { labels: { ...caseLabel, ...labels } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
        namespaces.push({ ns: ns.name, labels: { ...caseLabel, ...labels, 'certkeeper.dev/test': 'true', 'kubernetes.io/metadata.name': ns.name } });
      }
      // A known refusal first, in a namespace the policy selects, so it is in force before its verdicts count.
      // (A policy that selects none cannot be seen refusing; its verdicts are "admitted" either way.)
      const selected = namespaces.find((n) => full !== undefined && matchesLabelSelector(full, n.labels));
      if (selected !== undefined) {
        await waitFor(
          async () => {
            const r = await admit(selected.ns, certificate('probe', { dnsNames: ['refused.example.com'], policyRef: { name: p } }));
            return r.admitted ? undefined : r;
          },
          { description: `TLSPolicy ${p} in force`, timeoutMs: 30_000, intervalMs: 200 },
        );
      }
      for (const { ns, labels } of namespaces) {
        const r = await admit(ns, certificate('sel', { dnsNames: ['refused.example.com'] }));
        const expected = full !== undefined && matchesLabelSelector(full, labels);
        if (expected) governed++;
        const refusedByP = !r.admitted && r.message.includes(`TLSPolicy "${p}"`);
        if (refusedByP !== expected) disagreements.push(`selector ${JSON.stringify(selector)} on ${JSON.stringify(labels)}: operator ${expected ? 'governs' : 'does not'}, admission ${refusedByP ? 'refused' : `answered: ${r.admitted ? 'admitted' : r.message}`}`);
      }
    }
    expect(disagreements).toEqual([]);
    expect(governed).toBeGreaterThan(8);
    expect(selectors.length * labelSets.length - governed).toBeGreaterThan(8);
  });
});
