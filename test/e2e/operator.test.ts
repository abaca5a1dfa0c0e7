import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHART_DIR } from '../../hack/chart.js';
import {
  certkeeper,
  condition,
  createNamespace,
  getJson,
  helm,
  kubectl,
  kubectlApply,
  kubectlJson,
  makeCa,
  pods,
  run,
  waitFor,
  waitForCondition,
  waitForReadyPods,
  type CertificateObject,
  type PodObject,
} from './support.js';

// certkeeper the way its users run it: `helm install` into a real cluster
// (kubelet, containerd, kube-proxy, CoreDNS, controller-manager), two replicas
// electing a leader with in-cluster credentials, checking a real nginx
// Deployment behind a Service. The steps build on one release, in order.

const RELEASE = 'certkeeper';
const NS = 'certkeeper';
const SELECTOR = 'app.kubernetes.io/name=certkeeper,app.kubernetes.io/instance=certkeeper';
const LEASE = 'certkeeper-operator';
const CA_SECRET = 'e2e-internal-ca';
const ACME_CA_SECRET = 'e2e-pebble-ca';
const POLICY = 'e2e-internal-ca';
const ACME_POLICY = 'e2e-pebble';
const ISSUER_LABEL = 'certkeeper.dev/e2e-issuer';

interface Lease {
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string };
}
interface SecretObject {
  metadata: { resourceVersion: string };
  data?: Record<string, string>;
}

const installArgs = (): string[] => {
  const [repository, tag] = inject('e2e').operatorImage.split(':');
  return [
    'upgrade', '--install', RELEASE, CHART_DIR, '--namespace', NS, '--create-namespace', '--wait', '--timeout', '5m',
    '--set', `image.repository=${repository ?? ''}`, '--set', `image.tag=${tag ?? ''}`,
    // Imported into containerd; there is no registry to pull from.
    '--set', 'image.pullPolicy=Never',
    // Re-probe quickly after a renewal, so the stale pod shows within seconds.
    '--set', 'operator.endpointRecheckInterval=3s',
    // Pebble's HTTPS is signed by the cluster CA; its validator dials the solver
    // Service's port, and the self-check asks the same DNS server Pebble does.
    '--set', `acme.caSecret.name=${ACME_CA_SECRET}`, '--set', 'acme.caSecret.key=ca.crt',
    '--set', 'acme.http01SelfCheckPort=8089', '--set', `acme.selfCheckNameserver=${inject('e2e').acme.dnsServer}`,
  ];
};

/** Several objects for one `kubectl apply`. */
const list = (...items: object[]): string => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

async function leaderOf(): Promise<string> {
  const lease = await kubectlJson<Lease>('get', 'lease', LEASE, '-n', NS);
  const holder = lease.spec.holderIdentity;
  if (holder === undefined || holder === '') throw new Error('the Lease has no holder');
  return holder;
}

async function secretOf(namespace: string, name: string): Promise<SecretObject> {
  return kubectlJson<SecretObject>('get', 'secret', name, '-n', namespace);
}

/** A namespace governed by the e2e CA policy, and a Certificate in it that is Ready. */
async function issuedCertificate(prefix: string, spec: Record<string, unknown> = {}): Promise<{ namespace: string; cert: CertificateObject }> {
  const { name: namespace } = await createNamespace(prefix, { [ISSUER_LABEL]: 'internal-ca' });
  await kubectlApply(
    JSON.stringify({
      apiVersion: 'certkeeper.dev/v1alpha1',
      kind: 'Certificate',
      metadata: { name: 'web', namespace },
      spec: { secretName: 'web-tls', dnsNames: [`web.${namespace}.svc.cluster.local`], privateKey: { algorithm: 'ECDSA' }, ...spec },
    }),
  );
  const cert = await waitForCondition(namespace, 'web', 'Ready', 'True');
  return { namespace, cert };
}

beforeAll(async () => {
  await kubectlApply(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }));
  await kubectlApply(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: ACME_CA_SECRET, namespace: NS },
      stringData: { 'ca.crt': await readFile(inject('e2e').acme.caFile, 'utf8') },
    }),
  );
  await helm(...installArgs());
  const ca = await makeCa('certkeeper e2e internal CA');
  // The key goes to the API server on stdin; it is never on a command line or in a log.
  await kubectlApply(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name: CA_SECRET, namespace: NS },
      stringData: { 'tls.crt': ca.cert, 'tls.key': ca.key },
    }),
  );
  await kubectlApply(
    JSON.stringify({
      apiVersion: 'certkeeper.dev/v1alpha1',
      kind: 'TLSPolicy',
      metadata: { name: POLICY },
      spec: {
        namespaceSelector: { matchLabels: { [ISSUER_LABEL]: 'internal-ca' } },
        issuer: { ca: { secretName: CA_SECRET } },
        certificates: { allowedDomains: ['**.svc.cluster.local'], defaultDuration: '720h' },
      },
    }),
  );
});

afterAll(async () => {
  await kubectl('delete', 'tlspolicy', POLICY, ACME_POLICY, '--ignore-not-found');
});

describe.sequential('certkeeper installed with Helm in a real cluster', () => {
  it('runs two Ready replicas with in-cluster credentials, exactly one of them leading, and issues from a CA', async () => {
    const replicas = await waitForReadyPods(NS, SELECTOR, 2);
    const names = replicas.map((p) => p.metadata.name).sort();

    // Ready means /readyz answered: ask it directly too, from the node, at each pod's address.
    for (const pod of replicas) {
      const response = await fetch(`http://${pod.status.podIP ?? ''}:9402/readyz`);
      expect(response.status, `${pod.metadata.name} /readyz`).toBe(200);
    }

    // In-cluster config: no kubeconfig anywhere, only the projected ServiceAccount token.
    for (const pod of replicas) {
      const container = pod.spec.containers[0];
      expect(container?.env?.map((e) => e.name) ?? []).not.toContain('KUBECONFIG');
      const volumes = (pod.spec.volumes ?? []).map((v) => v.name);
      // tmp (emptyDir) and acme-ca (Pebble's CA bundle) are the chart's own; nothing else is mounted.
      expect(volumes.filter((v) => v !== 'tmp' && v !== 'acme-ca' && !v.startsWith('kube-api-access-'))).toEqual([]);
      expect(container?.args?.some((a) => a.startsWith('--kubeconfig'))).toBe(false);
      expect(container?.volumeMounts?.map((m) => m.mountPath)).toContain('/var/run/secrets/kubernetes.io/serviceaccount');
    }

    const leader = await waitFor('a Lease holder', () => leaderOf());
    expect(names).toContain(leader);
    const leading: string[] = [];
    for (const name of names) {
      const logs = await kubectl('logs', '-n', NS, name);
      if (logs.includes('"msg":"became leader"')) leading.push(name);
    }
    expect(leading).toEqual([leader]);

    const { namespace } = await issuedCertificate('e2e-ca');
    const secret = await secretOf(namespace, 'web-tls');
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
  });

  it('issues through ACME HTTP-01 from Pebble running as a pod, validated through the solver Service ClusterIP', async () => {
    const solver = await kubectlJson<{ spec: { clusterIP: string; ports: { port: number }[] } }>('get', 'service', 'certkeeper-acme-solver', '-n', NS);
    const { challtestsrvUrl, directoryUrl } = inject('e2e').acme;
    // Pebble resolves every challenge name through challtestsrv: point them all
    // at the ClusterIP, so the only way to the operator is kube-proxy's.
    const set = await fetch(`${challtestsrvUrl}/set-default-ipv4`, { method: 'POST', body: JSON.stringify({ ip: solver.spec.clusterIP }) });
    expect(set.status).toBe(200);
    expect(solver.spec.ports.map((p) => p.port)).toEqual([8089]);

    const { name: namespace } = await createNamespace('e2e-acme', { [ISSUER_LABEL]: 'pebble' });
    await kubectlApply(
      JSON.stringify({
        apiVersion: 'certkeeper.dev/v1alpha1',
        kind: 'TLSPolicy',
        metadata: { name: ACME_POLICY },
        spec: {
          namespaceSelector: { matchLabels: { [ISSUER_LABEL]: 'pebble' } },
          issuer: {
            acme: {
              server: directoryUrl,
              email: 'e2e@example.com',
              privateKeySecretRef: { name: 'e2e-pebble-account' },
              // No Ingress controller runs here: the Ingress is created and removed, Pebble reaches the Service directly.
              solvers: [{ http01: { ingress: { ingressClassName: 'e2e' } } }],
            },
          },
          certificates: { allowedDomains: ['**.e2e.example'] },
        },
      }),
    );
    await kubectlApply(
      JSON.stringify({
        apiVersion: 'certkeeper.dev/v1alpha1',
        kind: 'Certificate',
        metadata: { name: 'shop', namespace },
        spec: { secretName: 'shop-tls', dnsNames: ['shop.e2e.example', 'www.shop.e2e.example'], privateKey: { algorithm: 'ECDSA' } },
      }),
    );
    const cert = await waitForCondition(namespace, 'shop', 'Ready', 'True');
    expect(cert.status?.serialNumber).toBeDefined();
    const secret = await secretOf(namespace, 'shop-tls');
    const leaf = Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64').toString('utf8');
    const subject = await run('openssl', ['x509', '-noout', '-issuer', '-ext', 'subjectAltName'], { input: leaf });
    expect(subject.stdout).toContain('Pebble');
    expect(subject.stdout).toContain('DNS:www.shop.e2e.example');
  });

  it('names the pod that still serves the old certificate after a renewal, until the Deployment is restarted', async () => {
    const { namespace } = await issuedCertificate('e2e-web', { endpoints: [{ service: 'web', port: 443 }] });
    const nginxConf = [
      'server {',
      '  listen 8443 ssl;',
      '  ssl_certificate /etc/tls/tls.crt;',
      '  ssl_certificate_key /etc/tls/tls.key;',
      '  location / { return 200 "ok\\n"; }',
      '}',
    ].join('\n');
    await kubectlApply(
      list(
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-nginx' }, data: { 'web.conf': nginxConf } },
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web' },
          spec: {
            replicas: 3,
            selector: { matchLabels: { app: 'web' } },
            template: {
              metadata: { labels: { app: 'web' } },
              spec: {
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
                  { name: 'tls', secret: { secretName: 'web-tls' } },
                  { name: 'conf', configMap: { name: 'web-nginx' } },
                ],
              },
            },
          },
        },
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web' },
          spec: { selector: { app: 'web' }, ports: [{ name: 'https', port: 443, targetPort: 'https' }] },
        },
      ),
      namespace,
    );
    const webPods = await waitForReadyPods(namespace, 'app=web', 3);
    const before = await waitForCondition(namespace, 'web', 'EndpointsVerified', 'True', 'CurrentCertificateServed');
    const oldFingerprint = before.status?.fingerprintSHA256;

    await certkeeper('renew', 'web', '-n', namespace);
    const renewed = await waitFor('a new certificate in status', async () => {
      const cert = await kubectlJson<CertificateObject>('get', 'certificates.certkeeper.dev', 'web', '-n', namespace);
      return cert.status?.fingerprintSHA256 !== oldFingerprint && condition(cert, 'Ready')?.status === 'True' ? cert : undefined;
    });
    expect(renewed.status?.fingerprintSHA256).toBeDefined();

    // kubelet updates Secret volumes on its own schedule; reload only once the new files are in each pod.
    const newCert = Buffer.from((await secretOf(namespace, 'web-tls')).data?.['tls.crt'] ?? '', 'base64').toString('utf8');
    for (const pod of webPods) {
      await waitFor(`the renewed Secret in pod ${pod.metadata.name}`, async () =>
        (await kubectl('exec', '-n', namespace, pod.metadata.name, '--', 'cat', '/etc/tls/tls.crt')) === newCert ? true : undefined,
      );
    }
    const [first, second, stale] = webPods.map((p) => p.metadata.name) as [string, string, string];
    for (const name of [first, second]) await kubectl('exec', '-n', namespace, name, '--', 'nginx', '-s', 'reload');

    const staleCert = await waitFor(`StaleCertificate naming only pod ${stale}`, async () => {
      const cert = await kubectlJson<CertificateObject>('get', 'certificates.certkeeper.dev', 'web', '-n', namespace);
      const c = condition(cert, 'EndpointsVerified');
      const message = c?.message ?? '';
      if (c?.reason === 'StaleCertificate' && message.includes(`pod ${stale} `) && !message.includes(first) && !message.includes(second)) return c;
      throw new Error(`EndpointsVerified ${c?.status ?? '?'} ${c?.reason ?? ''}: ${message}`);
    });
    expect(staleCert.status).toBe('False');
    expect(staleCert.message).toContain('1 of 3 addresses serve a stale certificate');

    await kubectl('rollout', 'restart', 'deployment/web', '-n', namespace);
    await kubectl('rollout', 'status', 'deployment/web', '-n', namespace, '--timeout=180s');
    const verified = await waitForCondition(namespace, 'web', 'EndpointsVerified', 'True', 'CurrentCertificateServed');
    expect(condition(verified, 'EndpointsVerified')?.message).toContain('all 3 ready addresses serve the current certificate');
  });

  it('hands leadership to another replica within the lease duration when the leader pod is deleted, issuing nothing twice', async () => {
    const { namespace, cert } = await issuedCertificate('e2e-lease');
    const secretBefore = await secretOf(namespace, 'web-tls');
    const leader = await leaderOf();
    const standby = (await pods(NS, SELECTOR)).map((p) => p.metadata.name).find((n) => n !== leader);
    expect(standby).toBeDefined();

    await kubectl('delete', 'pod', leader, '-n', NS, '--wait=false');
    const deleted = await getJson<PodObject & { metadata: { deletionTimestamp?: string; deletionGracePeriodSeconds?: number } }>('pod', leader, '-n', NS);
    const newLeader = await waitFor('another Lease holder', async () => {
      const holder = await leaderOf();
      return holder !== leader ? holder : undefined;
    });
    // The old leader frees the Lease on SIGTERM; whichever replica asks next gets it: usually the
    // standby (it retries every ~2 s), sometimes the ReplicaSet's replacement, which asks the moment it starts.
    const current = (await pods(NS, SELECTOR)).map((p) => p.metadata.name);
    expect(current).toContain(newLeader);
    process.stderr.write(`[e2e] new leader: ${newLeader === standby ? 'the standby' : 'the replacement pod'} ${newLeader}\n`);

    // Times from the API server's own clock: when the delete was asked for, and when the standby took the Lease.
    const lease = await kubectlJson<Lease>('get', 'lease', LEASE, '-n', NS);
    const duration = lease.spec.leaseDurationSeconds ?? 0;
    if (deleted?.metadata.deletionTimestamp !== undefined) {
      const deleteRequested = Date.parse(deleted.metadata.deletionTimestamp) - (deleted.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
      const acquired = Date.parse(lease.spec.acquireTime ?? '');
      process.stderr.write(`[e2e] the new leader took the Lease ${((acquired - deleteRequested) / 1000).toFixed(1)}s after the leader's deletion (lease duration ${duration}s)\n`);
      // Whole seconds on the deletion timestamp: allow for its rounding.
      expect(acquired - deleteRequested).toBeLessThanOrEqual((duration + 1) * 1000);
    }

    await waitForReadyPods(NS, SELECTOR, 2);
    const after = await waitForCondition(namespace, 'web', 'Ready', 'True');
    expect(after.status?.revision).toBe(cert.status?.revision);
    expect(after.status?.serialNumber).toBe(cert.status?.serialNumber);
    expect((await secretOf(namespace, 'web-tls')).data?.['tls.crt']).toBe(secretBefore.data?.['tls.crt']);
    const all = await kubectlJson<{ items: CertificateObject[] }>('get', 'certificates.certkeeper.dev', '-A');
    expect(all.items.filter((c) => condition(c, 'Ready')?.status !== 'True').map((c) => `${c.metadata.namespace}/${c.metadata.name}`)).toEqual([]);
  });

  it('garbage-collects by owner reference: a deleted Deployment takes its ReplicaSets and pods along', async () => {
    const { name: namespace } = await createNamespace('e2e-gc');
    await kubectl('create', 'deployment', 'gc', '-n', namespace, `--image=${inject('e2e').nginxImage}`, '--replicas=1');
    await kubectl('patch', 'deployment', 'gc', '-n', namespace, '--type=json', '-p', '[{"op":"add","path":"/spec/template/spec/containers/0/imagePullPolicy","value":"Never"}]');
    await waitForReadyPods(namespace, 'app=gc', 1);
    await kubectl('delete', 'deployment', 'gc', '-n', namespace, '--cascade=background');
    await waitFor('ReplicaSets and pods of the deleted Deployment to be collected', async () => {
      const left = await kubectl('get', 'replicasets,pods', '-n', namespace, '-o', 'name');
      if (left.trim() === '') return true;
      throw new Error(`still there: ${left.trim().split('\n').join(', ')}`);
    });
  });

  it('rolls the pods on helm upgrade without re-issuing, and helm uninstall leaves the Secrets and the CRDs', async () => {
    const { namespace, cert } = await issuedCertificate('e2e-upgrade');
    const secretBefore = await secretOf(namespace, 'web-tls');
    const podsBefore = (await pods(NS, SELECTOR)).map((p) => p.metadata.name);

    await helm(...installArgs(), '--set', 'operator.logLevel=debug');
    const podsAfter = await waitFor('the upgraded pods, none of the old ones', async () => {
      const now = await waitForReadyPods(NS, SELECTOR, 2);
      const names = now.map((p) => p.metadata.name);
      return names.some((n) => podsBefore.includes(n)) ? undefined : names;
    });
    expect(podsAfter).toHaveLength(2);
    const after = await waitForCondition(namespace, 'web', 'Ready', 'True');
    expect(after.status?.revision).toBe(cert.status?.revision);
    expect((await secretOf(namespace, 'web-tls')).data?.['tls.crt']).toBe(secretBefore.data?.['tls.crt']);

    await helm('uninstall', RELEASE, '--namespace', NS, '--wait');
    await waitFor('the operator pods to be gone', async () => ((await pods(NS, SELECTOR)).length === 0 ? true : undefined));
    expect((await secretOf(namespace, 'web-tls')).data?.['tls.crt']).toBe(secretBefore.data?.['tls.crt']);
    for (const crd of ['certificates.certkeeper.dev', 'tlspolicies.certkeeper.dev']) {
      expect(await getJson('crd', crd), crd).toBeDefined();
    }
  });
});
