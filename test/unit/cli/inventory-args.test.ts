import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config.js';
import { parseInventoryArgs } from '../../../src/cli/inventory.js';
import { renderInventoryTable } from '../../../src/cli/inventory-table.js';
import { buildInventory } from '../../../src/inventory/build.js';
import { ConsumerIndex, ingressConsumer, podConsumer } from '../../../src/inventory/sources/consumers.js';
import { ThresholdResolver } from '../../../src/inventory/thresholds.js';
import { TEST_NOW } from '../../support/pki.js';
import { secretOf, testWorld } from '../inventory/world.js';

describe('certkeeper inventory arguments', () => {
  it('takes --consumers, --configmap-selector and -o cyclonedx', () => {
    expect(parseInventoryArgs([])).toMatchObject({ output: 'table', consumers: false, configMapSelector: undefined });
    expect(parseInventoryArgs(['--consumers', '--configmap-selector', 'trust=yes', '-o', 'cyclonedx'])).toMatchObject({ output: 'cyclonedx', consumers: true, configMapSelector: 'trust=yes' });
    expect(() => parseInventoryArgs(['-o', 'xml'])).toThrow(ConfigError);
    expect(() => parseInventoryArgs(['-o', 'xml'])).toThrow(/table, json or cyclonedx/);
  });
});

describe('the inventory table with consumers', () => {
  it('adds a USED BY column naming the first two users and how many more', async () => {
    const w = await testWorld();
    const users = [
      ingressConsumer({ metadata: { name: 'front', namespace: 'shop' }, spec: { tls: [{ secretName: 'web-tls' }] } }),
      podConsumer({ metadata: { name: 'web-1', namespace: 'shop' }, spec: { volumes: [{ secret: { secretName: 'web-tls' } }] } }),
      podConsumer({ metadata: { name: 'web-2', namespace: 'shop' }, spec: { volumes: [{ secret: { secretName: 'web-tls' } }] } }),
    ].filter((u) => u !== undefined);
    const inventory = buildInventory({
      now: TEST_NOW,
      secrets: [secretOf(w.fine, { namespace: 'shop', name: 'web-tls' })],
      certificates: [],
      thresholds: new ThresholdResolver({ policies: [], namespaceLabels: () => ({}) }),
      consumers: new ConsumerIndex(users),
    });
    const table = renderInventoryTable(inventory, { consumers: true });
    expect(table.split('\n')[0]).toMatch(/LOCATION\s+USED BY$/);
    expect(table).toContain('Ingress shop/front, Pod shop/web-1 (+1)');
    expect(renderInventoryTable(inventory)).not.toContain('USED BY');
  });
});
