import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHART_DIR } from '../../hack/chart.js';
import {
  certkeeper,
  condition,
  createNamespace,
  helm,
  kubectl,
  kubectlApply,
  kubectlJson,
  makeCa,
  run,
  waitFor,
  waitForCondition,
  waitForReadyPods,
  type CertificateObject,
  type PodObject,
} from './support.js';

// spec.reload on real Deployments: after a renewal, nginx keeps serving the
// certificate it loaded at start. certkeeper restarts the Deployment of the
// stale pods (as kubectl rollout restart does) and says whether that fixed
// them: for pods that read the mounted Secret it does; for pods serving a copy
// of an older certificate (a Secret of their own), it does not, which is
// reported as ReloadDidNotFix, and nothing is restarted a second time.

const RELEASE = 'certkeeper';
const NS = 'certkeeper';
const CA_SECRET = 'e2e-reload-ca';
const POLICY = 'e2e-reload';
const LABEL = 'certkeeper.dev/e2e-reload';
const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
const METRICS_READER = 'e2e-reload-metrics';

interface ReloadStatusObject {
  serialNumber: string;
  state: string;
  time: string;
  workloads?: string[];
  message: string;
}
type ReloadingCertificate = CertificateObject & { status?: CertificateObject['status'] & { serialNumber?: string; reload?: ReloadStatusObject } };
interface DeploymentObject {
  spec: { template: { metadata?: { annotations?: Record<string, string> } } };
}
interface EventList {
  items: { reason?: string; message?: string; note?: string; regarding?: { name?: string } }[];
}

const installArgs = (): string[] => {
  const [repository, tag] = inject('e2e').operatorImage.split(':');
  return [
    'upgrade', '--install', RELEASE, CHART_DIR, '--namespace', NS, '--create-namespace', '--wait', '--timeout', '5m',
    '--set', `image.repository=${repository ?? ''}`, '--set', `image.tag=${tag ?? ''}`, '--set', 'image.pullPolicy=Never',
    '--set', 'operator.endpointRecheckInterval=3s',
    '--set', 'reload.enabled=true',
    '--set', `metrics.readers[0].kind=ServiceAccount`, '--set', `metrics.readers[0].name=${METRICS_READER}`, '--set', `metrics.readers[0].namespace=${NS}`,
  ];
};

const list = (...items: object[]): string => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

/** nginx behind a Service, serving whatever `secretName` holds (read once, at start). */
function nginx(name: string, secretName: string, replicas: number): object[] {
  const conf = ['server {', '  listen 8443 ssl;', '  ssl_certificate /etc/tls/tls.crt;', '  ssl_certificate_key /etc/tls/tls.key;', '  location / { return 200 "ok\\n"; }', '}'].join('\n');
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${name}-nginx` }, data: { 'web.conf': conf } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [
              {
                name: 'nginx',
                image: inject('e2e').nginxImage,
                imagePullPolicy: 'Never',
                ports: [{ name: 'https', containerPort: 8443 }],
                readinessProbe: { tcpSocket: { port: 8443 }, periodSeconds: 2 },
                volumeMounts: [
                  { name: 'tls', mountPath: '/etc/tls', readOnly: true },
                  { name: 'conf', mountPath: '/etc/nginx/conf.d', readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: 'tls', secret: { secretName } },
              { name: 'conf', configMap: { name: `${name}-nginx` } },
            ],
          },
        },
      },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ports: [{ name: 'https', port: 443, targetPort: 'https' }] } },
  ];
}

function certificateFor(name: string, namespace: string, services: string[] = [name]): object {
  return {
    apiVersion: 'certkeeper.dev/v1alpha1',
    kind: 'Certificate',
    metadata: { name, namespace },
    spec: {
      secretName: `${name}-tls`,
      dnsNames: [`${name}.${namespace}.svc.cluster.local`],
      privateKey: { algorithm: 'ECDSA' },
      endpoints: services.map((service) => ({ service, port: 443 })),
      reload: { strategy: 'RolloutRestart', after: '10s' },
    },
  };
}

const getCertificate = (namespace: string, name: string) => kubectlJson<ReloadingCertificate>('get', 'certificates.certkeeper.dev', name, '-n', namespace);
const restartedAt = async (namespace: string, name: string) =>
  (await kubectlJson<DeploymentObject>('get', 'deployment', name, '-n', namespace)).spec.template.metadata?.annotations?.[RESTARTED_AT];

async function eventsFor(namespace: string, name: string, reason: string): Promise<string[]> {
  const events = await kubectlJson<EventList>('get', 'events.events.k8s.io', '-n', namespace, '-o', 'json');
  return events.items.filter((e) => e.reason === reason && e.regarding?.name === name).map((e) => e.note ?? e.message ?? '');
}

async function renewAndWait(namespace: string, name: string): Promise<ReloadingCertificate> {
  const before = (await getCertificate(namespace, name)).status?.fingerprintSHA256;
  await certkeeper('renew', name, '-n', namespace);
  return waitFor(`Certificate ${name} renewed`, async () => {
    const c = await getCertificate(namespace, name);
    return c.status?.fingerprintSHA256 !== before && condition(c, 'Ready')?.status === 'True' ? c : undefined;
  });
}

/** The leader's /metrics, read with the token of a ServiceAccount bound to the chart's metrics-reader role. */
async function leaderMetrics(): Promise<string> {
  const lease = await kubectlJson<{ spec: { holderIdentity?: string } }>('get', 'lease', 'certkeeper-operator', '-n', NS);
  const pod = await kubectlJson<PodObject>('get', 'pod', lease.spec.holderIdentity ?? '', '-n', NS);
  const token = (await kubectl('create', 'token', METRICS_READER, '-n', NS)).trim();
  const response = await fetch(`http://${pod.status.podIP ?? ''}:9402/metrics`, { headers: { authorization: `Bearer ${token}` } });
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return response.text();
}

beforeAll(async () => {
  await kubectlApply(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }));
  await kubectlApply(JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: METRICS_READER, namespace: NS } }));
  await helm(...installArgs());
  const ca = await makeCa('certkeeper e2e reload CA');
  await kubectlApply(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: CA_SECRET, namespace: NS }, stringData: { 'tls.crt': ca.cert, 'tls.key': ca.key } }));
  await kubectlApply(
    JSON.stringify({
      apiVersion: 'certkeeper.dev/v1alpha1',
      kind: 'TLSPolicy',
      metadata: { name: POLICY },
      spec: { namespaceSelector: { matchLabels: { [LABEL]: 'true' } }, issuer: { ca: { secretName: CA_SECRET } }, certificates: { allowedDomains: ['**.svc.cluster.local'] } },
    }),
  );
}, 400_000);

afterAll(async () => {
  await kubectl('delete', 'tlspolicy', POLICY, '--ignore-not-found');
  await kubectl('delete', 'secret', CA_SECRET, '-n', NS, '--ignore-not-found');
});

interface RoleRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
}
interface ClusterRoleObject {
  metadata: Record<string, unknown>;
  rules: RoleRule[];
}

/** Runs `body` while the operator's ClusterRole lacks the rules `drop` picks, then puts the role back as it was. */
async function withoutRule(drop: (r: RoleRule) => boolean, body: () => Promise<void>): Promise<void> {
  const role = await kubectlJson<ClusterRoleObject & { apiVersion: string; kind: string }>('get', 'clusterrole', RELEASE);
  const { resourceVersion: _rv, ...metadata } = role.metadata;
  const replace = async (rules: RoleRule[]) => {
    const result = await run(inject('e2e').kubectl, ['replace', '-f', '-'], { input: JSON.stringify({ ...role, metadata, rules }) });
    if (result.code !== 0) throw new Error(`kubectl replace clusterrole: ${result.stderr}`);
  };
  expect(role.rules.filter(drop)).toHaveLength(1);
  await replace(role.rules.filter((r) => !drop(r)));
  try {
    await body();
  } finally {
    await replace(role.rules);
  }
}

describe.sequential('verified reload (spec.reload: RolloutRestart)', () => {
  it('restarts the Deployment whose pods keep serving the old certificate after a renewal, once, and verifies they then serve the new one', async () => {
    const { name: namespace } = await createNamespace('e2e-reload', { [LABEL]: 'true' });
    await kubectlApply(JSON.stringify(certificateFor('web', namespace)));
    await waitForCondition(namespace, 'web', 'Ready', 'True');
    await kubectlApply(list(...nginx('web', 'web-tls', 2)), namespace);
    await waitForReadyPods(namespace, 'app=web', 2);
    await waitForCondition(namespace, 'web', 'EndpointsVerified', 'True', 'CurrentCertificateServed');
    expect(await restartedAt(namespace, 'web')).toBeUndefined();

    const renewed = await renewAndWait(namespace, 'web');
    // nginx read its certificate at start: both pods are stale until restarted.
    await waitForCondition(namespace, 'web', 'EndpointsVerified', 'False', 'StaleCertificate');
    const restarted = await waitFor('status.reload Restarted', async () => {
      const c = await getCertificate(namespace, 'web');
      return c.status?.reload?.serialNumber === renewed.status?.serialNumber ? c.status?.reload : undefined;
    });
    expect(restarted.workloads).toEqual(['Deployment/web']);
    const stamp = await restartedAt(namespace, 'web');
    expect(stamp).toBeDefined();
    expect((await eventsFor(namespace, 'web', 'WorkloadsRestarted'))[0]).toMatch(/^restarting Deployment\/web: /);

    await kubectl('rollout', 'status', 'deployment/web', '-n', namespace, '--timeout=180s');
    await waitForCondition(namespace, 'web', 'EndpointsVerified', 'True', 'CurrentCertificateServed');
    const verified = await waitFor('status.reload Verified', async () => {
      const c = await getCertificate(namespace, 'web');
      return c.status?.reload?.state === 'Verified' ? c.status.reload : undefined;
    });
    expect(verified.message).toContain('every address serves the current certificate');
    expect(await eventsFor(namespace, 'web', 'ReloadVerified')).toHaveLength(1);
    expect(await restartedAt(namespace, 'web')).toBe(stamp);
  });

  it('reports, and alerts on, a restart that did not help: pods serving a copy of an older certificate stay stale, and are not restarted again', async () => {
    const { name: namespace } = await createNamespace('e2e-reload-copy', { [LABEL]: 'true' });
    // Also listed: a Service whose pods serve a certificate this Certificate never issued. Stale as far as
    // the Certificate can tell, but not its to restart.
    await kubectlApply(JSON.stringify(certificateFor('baked', namespace, ['baked', 'other'])));
    await waitForCondition(namespace, 'baked', 'Ready', 'True');
    // A copy of the first certificate, which the pods serve whatever the Certificate's Secret holds.
    const issued = await kubectlJson<{ data: Record<string, string> }>('get', 'secret', 'baked-tls', '-n', namespace);
    await kubectlApply(
      JSON.stringify({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'baked-copy' }, data: { 'tls.crt': issued.data['tls.crt'], 'tls.key': issued.data['tls.key'] } }),
      namespace,
    );
    await kubectlApply(list(...nginx('baked', 'baked-copy', 1)), namespace);
    const other = await makeCa('not a certificate of Certificate baked');
    await kubectlApply(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'other-tls' }, stringData: { 'tls.crt': other.cert, 'tls.key': other.key } }), namespace);
    await kubectlApply(list(...nginx('other', 'other-tls', 1)), namespace);
    await waitForReadyPods(namespace, 'app=baked', 1);
    await waitForReadyPods(namespace, 'app=other', 1);
    await waitForCondition(namespace, 'baked', 'EndpointsVerified', 'False', 'StaleCertificate');

    await renewAndWait(namespace, 'baked');
    await waitFor('a restart of Deployment baked', async () => ((await restartedAt(namespace, 'baked')) === undefined ? undefined : true));
    const stamp = await restartedAt(namespace, 'baked');
    await kubectl('rollout', 'status', 'deployment/baked', '-n', namespace, '--timeout=180s');

    const stillStale = await waitFor('status.reload StillStale', async () => {
      const c = await getCertificate(namespace, 'baked');
      return c.status?.reload?.state === 'StillStale' ? c : undefined;
    });
    expect(condition(stillStale, 'EndpointsVerified')?.reason).toBe('StaleCertificate');
    expect(stillStale.status?.reload?.workloads).toEqual(['Deployment/baked']);
    expect(stillStale.status?.reload?.message).toMatch(/^restarting Deployment\/baked did not help: pod baked-/);
    const warnings = await waitFor('a ReloadDidNotFix event', async () => {
      const e = await eventsFor(namespace, 'baked', 'ReloadDidNotFix');
      return e.length > 0 ? e : undefined;
    });
    expect(warnings[0]).toContain('still serve a stale certificate');

    // The alert's source: the PrometheusRule fires on it, and the operator's own push on the same status.
    await waitFor('certkeeper_certificate_reload_failed 1', async () =>
      (await leaderMetrics()).includes(`certkeeper_certificate_reload_failed{namespace="${namespace}",name="baked"} 1`) ? true : undefined,
    );

    // Once per issued certificate: the recheck keeps finding the pod stale, and nothing is restarted again;
    // the workload serving someone else's certificate was never touched.
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    expect(await restartedAt(namespace, 'baked')).toBe(stamp);
    expect(await restartedAt(namespace, 'other')).toBeUndefined();
    expect((await getCertificate(namespace, 'baked')).status?.reload?.state).toBe('StillStale');
  });

  // Each rule reload.enabled adds is needed: without it, the reload does not happen and the Certificate says why.
  it.each<[string, (r: RoleRule) => boolean, RegExp]>([
    ['get pods', (r) => r.resources?.includes('pods') === true, /^cannot find the workload of pod web-.*forbidden/],
    ['get replicasets', (r) => r.resources?.includes('replicasets') === true, /^cannot find the workload of pod web-.*forbidden/],
    ['patch deployments', (r) => r.resources?.includes('deployments') === true, /^could not restart Deployment\/web: .*forbidden/],
  ])('without the rule to %s, nothing is restarted and a Warning says why', async (_rule, drop, said) => {
    const { name: namespace } = await createNamespace('e2e-reload-rbac', { [LABEL]: 'true' });
    await kubectlApply(JSON.stringify(certificateFor('web', namespace)));
    await waitForCondition(namespace, 'web', 'Ready', 'True');
    await kubectlApply(list(...nginx('web', 'web-tls', 1)), namespace);
    await waitForReadyPods(namespace, 'app=web', 1);
    await waitForCondition(namespace, 'web', 'EndpointsVerified', 'True', 'CurrentCertificateServed');
    await withoutRule(drop, async () => {
      await renewAndWait(namespace, 'web');
      const warnings = await waitFor('a ReloadNotPossible event', async () => {
        const e = await eventsFor(namespace, 'web', 'ReloadNotPossible');
        return e.length > 0 ? e : undefined;
      });
      expect(warnings[0]).toMatch(said);
      expect(await restartedAt(namespace, 'web')).toBeUndefined();
    });
  });
});
