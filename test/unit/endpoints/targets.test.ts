import { describe, expect, it } from 'vitest';
import { MAX_BACKENDS_PER_PORT, MAX_TARGETS_PER_NAMESPACE, planTargets, readyBackends, selectedPorts, certificateServerName, type EndpointTarget } from '../../../src/endpoints/targets.js';
import { certificate, inNamespace, tlsPolicy, withPolicySpec, withSpec } from '../../support/builders.js';
import { summarizeEndpointSlice } from '../../../src/endpoints/summaries.js';
import { addresses, inputs, service, slice } from './fixtures.js';

const web = (ports = [{ name: 'https', port: 443 }]) => service('default', 'web', ports);
const webCert = (...endpoints: { service: string; port: number; serverName?: string }[]) =>
  certificate('web', withSpec({ endpoints, dnsNames: ['web.example.com', 'www.example.com'] }), (c) => {
    c.status = { fingerprintSHA256: 'aa'.repeat(32) };
  });
const targetsOf = (plan: ReturnType<typeof planTargets>): EndpointTarget[] => [...plan.targets.values()];

describe('readyBackends', () => {
  const port = { name: 'https', port: 443, protocol: 'TCP' };
  it.each([
    ['matching port name', [slice('default', 'web', [{ name: 'https', port: 8443 }], [{ addresses: ['10.0.0.1'] }])], ['10.0.0.1:8443']],
    ['a slice port of another name is not this port', [slice('default', 'web', [{ name: 'http', port: 8080 }], [{ addresses: ['10.0.0.1'] }])], []],
    ['a slice port without a number serves nothing', [slice('default', 'web', [{ name: 'https', port: undefined }], [{ addresses: ['10.0.0.1'] }])], []],
    ['not-ready addresses are skipped', [slice('default', 'web', [{ name: 'https', port: 443 }], [{ addresses: ['10.0.0.1'], ready: false }, { addresses: ['10.0.0.2'] }])], ['10.0.0.2:443']],
    [
      'several slices, an address in two of them once, numeric order',
      [
        slice('default', 'web', [{ name: 'https', port: 443 }], [{ addresses: ['10.0.0.10'] }, { addresses: ['10.0.0.9'] }]),
        slice('default', 'web', [{ name: 'https', port: 443 }], [{ addresses: ['10.0.0.9'] }, { addresses: ['10.0.0.2'] }]),
      ],
      ['10.0.0.2:443', '10.0.0.9:443', '10.0.0.10:443'],
    ],
    ['FQDN slices are not probed', [slice('default', 'web', [{ name: 'https', port: 443 }], [{ addresses: ['db.example.com'] }], 's', 'FQDN')], []],
    ['UDP slice ports are not this port', [slice('default', 'web', [{ name: 'https', port: 443, protocol: 'UDP' }], [{ addresses: ['10.0.0.1'] }])], []],
  ])('%s', (_what, slices, expected) => {
    expect(readyBackends(port, slices).backends.map((b) => `${b.address}:${b.targetPort}`)).toEqual(expected);
  });
});

describe('pod names from EndpointSlice targetRefs', () => {
  it('keeps the name of a Pod target and nothing for other kinds', () => {
    const summary = summarizeEndpointSlice({
      addressType: 'IPv4',
      metadata: { namespace: 'default', name: 'web-abcde', labels: { 'kubernetes.io/service-name': 'web' } },
      ports: [{ name: 'https', port: 8443, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['10.244.0.7'], targetRef: { kind: 'Pod', name: 'web-7d9f-x2x4q', namespace: 'default' } },
        { addresses: ['10.244.0.8'], targetRef: { kind: 'Node', name: 'node-1' } },
        { addresses: ['10.244.0.9'] },
      ],
    });
    // A hand-written slice (no managed-by label): only the Pod of the namespace is vouched for, unless trusted.
    const { backends } = readyBackends({ name: 'https', port: 443, protocol: 'TCP' }, [summary], true);
    expect(backends.map((b) => [b.address, b.pod])).toEqual([
      ['10.244.0.7', 'web-7d9f-x2x4q'],
      ['10.244.0.8', undefined],
      ['10.244.0.9', undefined],
    ]);
  });
});

describe('which addresses the cluster vouches for', () => {
  const port = { name: 'https', port: 443, protocol: 'TCP' };
  const handWritten = (endpoints: NonNullable<Parameters<typeof summarizeEndpointSlice>[0]['endpoints']>, labels: Record<string, string> = {}) =>
    summarizeEndpointSlice({
      addressType: 'IPv4',
      metadata: { namespace: 'team-a', name: 'web-x', labels: { 'kubernetes.io/service-name': 'web', ...labels } },
      ports: [{ name: 'https', port: 8443, protocol: 'TCP' }],
      endpoints,
    });

  it.each<[string, ReturnType<typeof handWritten>, boolean, string[], number]>([
    [
      'a slice the EndpointSlice controller made: every ready address',
      handWritten([{ addresses: ['10.244.0.7'] }], { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' }),
      false,
      ['10.244.0.7'],
      0,
    ],
    // A tenant's slice pointing at the API server, a node, another team's pod: not probed.
    ['a hand-written slice: nothing', handWritten([{ addresses: ['10.96.0.1'] }, { addresses: ['192.168.1.10'] }]), false, [], 2],
    ['a hand-written slice naming a Pod of the namespace: that one', handWritten([{ addresses: ['10.244.0.7'], targetRef: { kind: 'Pod', name: 'web-1', namespace: 'team-a' } }, { addresses: ['10.96.0.1'] }]), false, ['10.244.0.7'], 1],
    ['a Pod of another namespace is not vouched for', handWritten([{ addresses: ['10.244.9.9'], targetRef: { kind: 'Pod', name: 'api-1', namespace: 'team-b' } }]), false, [], 1],
    ['another controller\'s slice (its own managed-by) is hand-written to us', handWritten([{ addresses: ['10.0.0.5'] }], { 'endpointslice.kubernetes.io/managed-by': 'mesh.example/controller' }), false, [], 1],
    ['a hand-written slice where a policy trusts them: every ready address', handWritten([{ addresses: ['10.96.0.1'] }]), true, ['10.96.0.1'], 0],
  ])('%s', (_what, summary, trusted, addresses, skipped) => {
    const { backends, unvouched } = readyBackends(port, [summary], trusted);
    expect(backends.map((b) => b.address)).toEqual(addresses);
    expect(unvouched).toBe(skipped);
  });

  it('samples at most MAX_BACKENDS_PER_PORT addresses of a huge Service, in address order', () => {
    const many = handWritten(Array.from({ length: MAX_BACKENDS_PER_PORT + 44 }, (_, i) => ({ addresses: [`10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`] })), {
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
    });
    const { backends, overPortCap } = readyBackends(port, [many]);
    expect(backends).toHaveLength(MAX_BACKENDS_PER_PORT);
    expect(overPortCap).toBe(44);
    expect(backends[0]?.address).toBe('10.1.0.1');
  });
});

describe('selectedPorts', () => {
  const svc = service('default', 'web', [
    { name: 'http', port: 80 },
    { name: 'https', port: 443 },
    { name: 'dns', port: 53, protocol: 'UDP' },
  ]);
  it.each([
    ['default: every TCP port', undefined, [80, 443]],
    ['by number', [443], [443]],
    ['by name', ['https'], [443]],
    ['by name and number', ['http', 443], [80, 443]],
    ['an unknown port selects nothing', [8443, 'admin'], []],
    ['never a UDP port', [53, 'dns'], []],
  ] as const)('%s', (_what, refs, expected) => {
    expect(selectedPorts(svc, refs === undefined ? undefined : [...refs]).map((p) => p.port)).toEqual(expected);
  });
});

describe('certificateServerName', () => {
  it.each([
    ['explicit serverName wins', withSpec({ dnsNames: ['a.example'] }), 'sni.example', 'sni.example'],
    ['else the first dnsName', withSpec({ dnsNames: ['a.example', 'b.example'] }), undefined, 'a.example'],
    ['else the commonName', withSpec({ dnsNames: undefined, commonName: 'cn.example' }), undefined, 'cn.example'],
    ['never an IP address', withSpec({ dnsNames: undefined, commonName: '10.0.0.1' }), undefined, undefined],
  ] as const)('%s', (_what, option, explicit, expected) => {
    expect(certificateServerName(certificate('c', option), explicit)).toBe(expected);
  });
});

describe('planTargets: Certificate endpoints', () => {
  it('probes every ready address of the Service port, with the first dnsName as SNI and the fingerprint to expect', () => {
    const plan = planTargets(
      inputs({
        services: [web()],
        slices: [slice('default', 'web', [{ name: 'https', port: 8443 }], [...addresses(10).map((a) => ({ addresses: [a] })), { addresses: ['10.250.1.99'], ready: false }])],
        certificates: [webCert({ service: 'web', port: 443 })],
      }),
    );
    const targets = targetsOf(plan);
    expect(targets).toHaveLength(10);
    expect(targets.map((t) => t.address)).toEqual(addresses(10));
    for (const t of targets) {
      expect(t).toMatchObject({ namespace: 'default', service: 'web', port: 443, targetPort: 8443, serverName: 'web.example.com', certificates: ['default/web'], judgements: [], intervalMs: 600_000 });
      expect(t.expected).toEqual({ 'default/web': 'aa'.repeat(32) });
      expect(t.trustSecrets).toEqual(['default/web-tls']);
    }
    expect(plan.certificates.get('default/web')).toEqual([
      { service: 'web', port: 443, serverName: 'web.example.com', resolution: { kind: 'targets', targets: targets.map((t) => t.key) } },
    ]);
  });

  it.each([
    ['a missing Service', { services: [], slices: [] }, { kind: 'service-not-found' }],
    ['a port the Service does not have', { services: [web([{ name: 'http', port: 80 }])], slices: [] }, { kind: 'port-not-found', ports: [80] }],
    ['no EndpointSlice at all', { services: [web()], slices: [] }, { kind: 'no-ready-endpoints' }],
    [
      'only not-ready addresses',
      { services: [web()], slices: [slice('default', 'web', [{ name: 'https', port: 443 }], [{ addresses: ['10.0.0.1'], ready: false }])] },
      { kind: 'no-ready-endpoints' },
    ],
  ])('resolves %s without targets', (_what, world, resolution) => {
    const plan = planTargets(inputs({ ...world, certificates: [webCert({ service: 'web', port: 443 })] }));
    expect(plan.targets.size).toBe(0);
    expect(plan.certificates.get('default/web')?.[0]?.resolution).toEqual(resolution);
  });

  it('uses an explicit serverName, and keeps one target per SNI on a shared address', () => {
    const other = certificate('api', withSpec({ dnsNames: ['api.example.com'], endpoints: [{ service: 'web', port: 443 }] }));
    const plan = planTargets(
      inputs({
        services: [web()],
        slices: [slice('default', 'web', [{ name: 'https', port: 443 }], [{ addresses: ['10.0.0.1'] }])],
        certificates: [webCert({ service: 'web', port: 443, serverName: 'sni.example.com' }), other],
      }),
    );
    expect(targetsOf(plan).map((t) => [t.serverName, t.certificates])).toEqual([
      ['api.example.com', ['default/api']],
      ['sni.example.com', ['default/web']],
    ]);
  });

  it('merges two Certificates expecting the same SNI at one address into one target', () => {
    const twin = certificate('twin', withSpec({ dnsNames: ['web.example.com'], endpoints: [{ service: 'web', port: 443 }] }));
    const plan = planTargets(
      inputs({ services: [web()], slices: [slice('default', 'web', [{ name: 'https', port: 443 }], [{ addresses: ['10.0.0.1'] }])], certificates: [webCert({ service: 'web', port: 443 }), twin] }),
    );
    const [only] = targetsOf(plan);
    expect(plan.targets.size).toBe(1);
    expect(only?.certificates).toEqual(['default/twin', 'default/web']);
    expect(only?.expected).toEqual({ 'default/twin': undefined, 'default/web': 'aa'.repeat(32) });
  });

  it('looks for the Service in the Certificate namespace only, and ignores Certificates being deleted or without endpoints', () => {
    const elsewhere = certificate('web', inNamespace('shop'), withSpec({ endpoints: [{ service: 'web', port: 443 }] }));
    const deleting = certificate('gone', withSpec({ endpoints: [{ service: 'web', port: 443 }] }), (c) => {
      c.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    });
    const plain = certificate('plain');
    const plan = planTargets(
      inputs({ services: [web()], slices: [slice('default', 'web', [{ name: 'https', port: 443 }], [{ addresses: ['10.0.0.1'] }])], certificates: [elsewhere, deleting, plain] }),
    );
    expect(plan.targets.size).toBe(0);
    expect([...plan.certificates.keys()]).toEqual(['shop/web']);
    expect(plan.certificates.get('shop/web')?.[0]?.resolution).toEqual({ kind: 'service-not-found' });
  });
});

describe('planTargets: hand-written EndpointSlices', () => {
  const web = service('default', 'web', [{ name: 'https', port: 443 }]);
  const handWritten = slice('default', 'web', [{ name: 'https', port: 8443 }], [{ addresses: ['10.96.0.1'] }], 'web-manual', 'IPv4', false);
  const cert = certificate('web', withSpec({ endpoints: [{ service: 'web', port: 443 }] }));
  const trusting = (trust: boolean, selector: Record<string, string> = {}) =>
    tlsPolicy('platform', withPolicySpec({ namespaceSelector: { matchLabels: selector }, trustUnmanagedEndpointSlices: trust }));

  it('are not probed, and the Certificate is told why, unless a policy governing the namespace trusts them', () => {
    const untrusted = planTargets(inputs({ services: [web], slices: [handWritten], certificates: [cert], policies: [trusting(false)] }));
    expect(untrusted.targets.size).toBe(0);
    expect(untrusted.certificates.get('default/web')?.[0]?.resolution).toEqual({ kind: 'no-ready-endpoints', unvouched: 1 });

    const trusted = planTargets(inputs({ services: [web], slices: [handWritten], certificates: [cert], policies: [trusting(true)] }));
    expect([...trusted.targets.values()].map((t) => t.address)).toEqual(['10.96.0.1']);

    // The operator's --probe-allowed-cidrs applies to every address, trusted or not.
    const outside = planTargets({ ...inputs({ services: [web], slices: [handWritten], certificates: [cert], policies: [trusting(true)] }), allowedCidrs: ['10.244.0.0/16'] });
    expect(outside.targets.size).toBe(0);
    expect(outside.certificates.get('default/web')?.[0]?.resolution).toEqual({ kind: 'no-ready-endpoints', outsideAllowed: 1 });

    // A trusting policy of other namespaces does not count here.
    const elsewhere = planTargets(inputs({ services: [web], slices: [handWritten], certificates: [cert], policies: [trusting(true, { team: 'other' })] }));
    expect(elsewhere.targets.size).toBe(0);
  });
});

describe('planTargets: one namespace cannot grow the plan without bound', () => {
  it('stops making targets for a namespace at MAX_TARGETS_PER_NAMESPACE, and says so', () => {
    // 9 Services of 256 addresses each in one namespace: 2,304 addresses, more than the namespace gets.
    const services = Array.from({ length: 9 }, (_, i) => service('default', `s${i}`, [{ name: 'https', port: 443 }]));
    const slices = services.map((svc, i) =>
      slice('default', svc.name, [{ name: 'https', port: 8443 }], Array.from({ length: 256 }, (_, j) => ({ addresses: [`10.${i + 1}.${Math.floor(j / 250)}.${(j % 250) + 1}`] }))),
    );
    const cert = certificate('many', withSpec({ endpoints: services.map((svc) => ({ service: svc.name, port: 443 })) }));
    const plan = planTargets(inputs({ services, slices, certificates: [cert] }));
    expect(plan.targets.size).toBe(MAX_TARGETS_PER_NAMESPACE);
    const resolutions = plan.certificates.get('default/many')?.map((p) => p.resolution.kind);
    expect(resolutions?.slice(0, 7)).toEqual(Array(7).fill('targets'));
    // The 8th Service is cut short; the 9th gets nothing, and its endpoint says why.
    expect(plan.certificates.get('default/many')?.[8]?.resolution).toEqual({ kind: 'no-ready-endpoints', overNamespaceCap: 256 });
  });
});

describe('planTargets: TLSPolicy endpoints', () => {
  const policy = (name: string, spec: Parameters<typeof withPolicySpec>[0]) => tlsPolicy(name, withPolicySpec(spec));
  const world = {
    namespaces: { shop: { team: 'shop' }, other: { team: 'other' } },
    services: [
      service('shop', 'web', [{ name: 'https', port: 443 }, { name: 'admin', port: 8443 }], { tls: 'checked' }),
      service('shop', 'internal', [{ name: 'https', port: 443 }], {}),
      service('other', 'web', [{ name: 'https', port: 443 }], { tls: 'checked' }),
    ],
    slices: [
      slice('shop', 'web', [{ name: 'https', port: 443 }, { name: 'admin', port: 9443 }], [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }]),
      slice('shop', 'internal', [{ name: 'https', port: 443 }], [{ addresses: ['10.0.0.3'] }]),
      slice('other', 'web', [{ name: 'https', port: 443 }], [{ addresses: ['10.0.0.4'] }]),
    ],
  };
  const endpoints = (extra: object = {}) => ({ serviceSelector: { matchLabels: { tls: 'checked' } }, interval: '15m', profile: 'intermediate' as const, ...extra });

  it('selects the matching Services of its namespaces, every TCP port and ready address, with the Service DNS name as SNI', () => {
    const plan = planTargets(inputs({ ...world, policies: [policy('shop', { namespaceSelector: { matchLabels: { team: 'shop' } }, endpoints: endpoints() })] }));
    const targets = targetsOf(plan);
    expect(targets.map((t) => `${t.service}:${t.port}@${t.address}:${t.targetPort}`).sort()).toEqual([
      'web:443@10.0.0.1:443',
      'web:443@10.0.0.2:443',
      'web:8443@10.0.0.1:9443',
      'web:8443@10.0.0.2:9443',
    ]);
    for (const t of targets) {
      expect(t.serverName).toBe('web.shop.svc');
      expect(t.judgements).toEqual([{ policy: 'shop', profile: 'intermediate' }]);
      expect(t.intervalMs).toBe(15 * 60_000);
      expect(t.certificates).toEqual([]);
    }
    expect(plan.policies.get('shop')).toHaveLength(4);
  });

  it('limits to the listed ports, by name or number', () => {
    const byName = planTargets(inputs({ ...world, policies: [policy('p', { namespaceSelector: {}, endpoints: endpoints({ ports: ['admin'] }) })] }));
    expect(new Set(targetsOf(byName).map((t) => t.port))).toEqual(new Set([8443]));
    const byNumber = planTargets(inputs({ ...world, policies: [policy('p', { namespaceSelector: {}, endpoints: endpoints({ ports: [443] }) })] }));
    expect(targetsOf(byNumber).map((t) => `${t.namespace}/${t.service}:${t.port}`).sort()).toEqual(['other/web:443', 'shop/web:443', 'shop/web:443']);
  });

  it('selects nothing without a namespaceSelector, and nothing for a policy without endpoints', () => {
    const plan = planTargets(inputs({ ...world, policies: [policy('none', { endpoints: endpoints() }), policy('issuing', { namespaceSelector: {} })] }));
    expect(plan.targets.size).toBe(0);
    expect([...plan.policies.keys()]).toEqual(['none']);
    expect(plan.policies.get('none')).toEqual([]);
  });

  it('sends the name of a Certificate served at the Service port, sharing its target (one probe per address)', () => {
    const cert = certificate('web', inNamespace('shop'), withSpec({ dnsNames: ['shop.example.com'], endpoints: [{ service: 'web', port: 443 }] }));
    const plan = planTargets(
      inputs({ ...world, certificates: [cert], policies: [policy('shop', { namespaceSelector: { matchLabels: { team: 'shop' } }, endpoints: endpoints({ ports: [443], interval: '1h' }) })] }),
    );
    const targets = targetsOf(plan);
    expect(targets).toHaveLength(2);
    for (const t of targets) {
      expect(t.serverName).toBe('shop.example.com');
      expect(t.certificates).toEqual(['shop/web']);
      expect(t.judgements.map((j) => j.policy)).toEqual(['shop']);
      // The Certificate's 10 minutes beat the policy's hour.
      expect(t.intervalMs).toBe(600_000);
    }
  });

  it('carries every policy that selects an address, each with its own profile', () => {
    const plan = planTargets(
      inputs({
        ...world,
        policies: [
          policy('a', { namespaceSelector: {}, endpoints: endpoints({ ports: [443], profile: 'modern' }) }),
          policy('b', { namespaceSelector: { matchLabels: { team: 'shop' } }, endpoints: endpoints({ ports: [443], overrides: { minVersion: 'TLSv1.3' } }) }),
        ],
      }),
    );
    const shop = targetsOf(plan).filter((t) => t.namespace === 'shop');
    expect(shop.map((t) => t.judgements)).toEqual([
      [{ policy: 'a', profile: 'modern' }, { policy: 'b', profile: 'intermediate', overrides: { minVersion: 'TLSv1.3' } }],
      [{ policy: 'a', profile: 'modern' }, { policy: 'b', profile: 'intermediate', overrides: { minVersion: 'TLSv1.3' } }],
    ]);
    expect(plan.policies.get('a')).toHaveLength(3);
    expect(plan.policies.get('b')).toHaveLength(2);
  });
});
