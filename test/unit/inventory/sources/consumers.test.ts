import { describe, expect, it } from 'vitest';
import { buildInventory } from '../../../../src/inventory/build.js';
import {
  ConsumerIndex,
  describeConsumers,
  gatewayConsumer,
  ingressConsumer,
  MAX_CONSUMERS_PER_LOCATION,
  MAX_REFS_PER_OBJECT,
  podConsumer,
  type ConsumerSummary,
} from '../../../../src/inventory/sources/consumers.js';
import { configMapSource } from '../../../../src/inventory/sources/read.js';
import { ThresholdResolver } from '../../../../src/inventory/thresholds.js';
import { TEST_NOW } from '../../../support/pki.js';
import { secretOf, testWorld } from '../world.js';

describe('consumers', () => {
  it('finds every way a Pod uses a Secret or ConfigMap, once per way', () => {
    const pod = podConsumer({
      metadata: { name: 'web-1', namespace: 'shop' },
      spec: {
        volumes: [{ secret: { secretName: 'web-tls' } }, { configMap: { name: 'trust' } }, { projected: { sources: [{ secret: { name: 'client' } }, { configMap: { name: 'trust' } }] } }],
        containers: [{ env: [{ valueFrom: { secretKeyRef: { name: 'db' } } }, { valueFrom: { secretKeyRef: { name: 'db' } } }], envFrom: [{ configMapRef: { name: 'settings' } }] }],
        initContainers: [{ envFrom: [{ secretRef: { name: 'init' } }] }],
      },
    });
    expect(pod?.refs).toEqual([
      { target: 'Secret/shop/web-tls', via: 'volume' },
      { target: 'ConfigMap/shop/trust', via: 'volume' },
      { target: 'Secret/shop/client', via: 'projected' },
      { target: 'ConfigMap/shop/trust', via: 'projected' },
      { target: 'Secret/shop/db', via: 'env' },
      { target: 'ConfigMap/shop/settings', via: 'env' },
      { target: 'Secret/shop/init', via: 'env' },
    ]);
    expect(podConsumer({ metadata: { name: 'bare', namespace: 'shop' }, spec: { containers: [{}] } })).toBeUndefined();
  });

  it('reads Ingress tls and Gateway certificateRefs (core Secrets only, across namespaces)', () => {
    expect(ingressConsumer({ metadata: { name: 'web', namespace: 'shop' }, spec: { tls: [{ secretName: 'web-tls' }, {}] } })?.refs).toEqual([{ target: 'Secret/shop/web-tls', via: 'tls' }]);
    const gw = gatewayConsumer({
      metadata: { name: 'public', namespace: 'gateways' },
      spec: { listeners: [{ tls: { certificateRefs: [{ name: 'wild' }, { name: 'shop-tls', namespace: 'shop' }, { group: 'example.com', kind: 'Vault', name: 'x' }] } }, {}] },
    });
    expect(gw?.refs).toEqual([
      { target: 'Secret/gateways/wild', via: 'certificateRef' },
      { target: 'Secret/shop/shop-tls', via: 'certificateRef' },
    ]);
  });

  it('is bounded per object and per location', () => {
    const volumes = Array.from({ length: 10_000 }, (_, i) => ({ secret: { secretName: `s${i}` } }));
    expect(podConsumer({ metadata: { name: 'greedy', namespace: 'x' }, spec: { volumes } })?.refs).toHaveLength(MAX_REFS_PER_OBJECT);
    const many: ConsumerSummary[] = Array.from({ length: 30 }, (_, i) => ({ kind: 'Pod', namespace: 'x', name: `p${String(i).padStart(2, '0')}`, refs: [{ target: 'Secret/x/shared', via: 'volume' }] }));
    many.push({ kind: 'Ingress', namespace: 'x', name: 'front', refs: [{ target: 'Secret/x/shared', via: 'tls' }] });
    const found = new ConsumerIndex(many).of('Secret', 'x', 'shared');
    expect(found?.consumers).toHaveLength(MAX_CONSUMERS_PER_LOCATION);
    expect(found?.consumers[0]).toEqual({ kind: 'Ingress', namespace: 'x', name: 'front', via: 'tls' });
    expect(found?.omitted).toBe(31 - MAX_CONSUMERS_PER_LOCATION);
    expect(describeConsumers(found)).toBe('Ingress x/front (tls), Pod x/p00 (volume), Pod x/p01 (volume), Pod x/p02 (volume), Pod x/p03 (volume) and 26 more');
  });

  it('are attached to Secret and ConfigMap locations in the inventory', async () => {
    const w = await testWorld();
    const index = new ConsumerIndex(
      [
        ingressConsumer({ metadata: { name: 'web', namespace: 'shop' }, spec: { tls: [{ secretName: 'web-tls' }] } }),
        podConsumer({ metadata: { name: 'web-1', namespace: 'shop' }, spec: { volumes: [{ configMap: { name: 'trust' } }] } }),
      ].filter((c) => c !== undefined),
    );
    const inventory = buildInventory({
      now: TEST_NOW,
      secrets: [secretOf(w.fine, { namespace: 'shop', name: 'web-tls' })],
      certificates: [],
      thresholds: new ThresholdResolver({ policies: [], namespaceLabels: () => ({}) }),
      sources: [configMapSource({ metadata: { name: 'trust', namespace: 'shop' }, data: { 'ca.crt': w.ca['tls.crt'] } })].filter((s) => s !== undefined),
      consumers: index,
    });
    const consumers = inventory.entries.flatMap((e) => e.locations.flatMap((l) => ((l.type === 'secret' || l.type === 'bundle') && l.consumers !== undefined ? [[l.name, l.consumers.consumers.map((c) => `${c.kind}/${c.name}`)]] : [])));
    expect(consumers).toEqual(expect.arrayContaining([['web-tls', ['Ingress/web']], ['trust', ['Pod/web-1']]]));
  });
});
