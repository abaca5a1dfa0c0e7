import { z } from 'zod';
import { certificateSpec, certificateStatus } from './certificate.js';
import { GROUP, VERSION } from './meta.js';
import { tlsPolicySpec, tlsPolicyStatus } from './tlspolicy.js';

// The CRDs are derived from the same zod schemas that type the code, so the
// API server's validation and the operator's parsing cannot drift apart.

type JsonSchema = { [key: string]: unknown };

interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date' | 'boolean' | 'number';
  jsonPath: string;
  description?: string;
  priority?: number;
}

interface CrdInput {
  kind: string;
  plural: string;
  singular: string;
  scope: 'Namespaced' | 'Cluster';
  shortNames: string[];
  spec: z.ZodType;
  status: z.ZodType;
  columns: PrinterColumn[];
  description: string;
}

/** OpenAPI v3 as the API server wants it: structural, no JSON-Schema-only keywords. */
export function toOpenApi(schema: z.ZodType): JsonSchema {
  const raw = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'throw' }) as JsonSchema;
  return clean(raw) as JsonSchema;
}

function clean(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clean);
  if (value === null || typeof value !== 'object') return value;
  const out: JsonSchema = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === '$schema' || key === 'id') continue;
    // zod marks every integer with the JS safe range; the API server needs no such noise.
    if (key === 'maximum' && inner === Number.MAX_SAFE_INTEGER) continue;
    if (key === 'minimum' && inner === Number.MIN_SAFE_INTEGER) continue;
    out[key] = clean(inner);
  }
  // int-or-string (a port by number or name): the API server types it itself and
  // forbids typed alternatives, so the alternatives' bounds move up to the field —
  // minimum/maximum only ever apply to a number, maxLength/pattern to a string. (A
  // CEL rule would do, but an int-or-string has no length bound for CEL's cost
  // estimate, and the rule blew the CRD's budget.)
  if (out['x-kubernetes-int-or-string'] === true && Array.isArray(out.anyOf)) {
    for (const branch of out.anyOf as JsonSchema[]) {
      for (const [key, inner] of Object.entries(branch)) if (key !== 'type' && !(key in out)) out[key] = inner;
    }
    delete out.anyOf;
  }
  // An empty object in the schema (selfSigned: {}) would prune every field the
  // user sets; keep it an object with no fields, which is what it means.
  if (out.type === 'object' && out.properties === undefined && out.additionalProperties === undefined) {
    out.properties = {};
  }
  return out;
}

function crd(input: CrdInput): JsonSchema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${input.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'certkeeper', 'app.kubernetes.io/part-of': 'certkeeper' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: input.kind,
        listKind: `${input.kind}List`,
        plural: input.plural,
        singular: input.singular,
        shortNames: input.shortNames,
        categories: ['certkeeper'],
      },
      scope: input.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: input.columns,
          schema: {
            openAPIV3Schema: {
              description: input.description,
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: toOpenApi(input.spec),
                status: toOpenApi(input.status),
              },
            },
          },
        },
      ],
    },
  };
}

const readyColumns = (jsonPath: string): PrinterColumn[] => [
  { name: 'Ready', type: 'string', jsonPath: `${jsonPath}[?(@.type=="Ready")].status` },
  { name: 'Reason', type: 'string', jsonPath: `${jsonPath}[?(@.type=="Ready")].reason`, priority: 1 },
];

export function certkeeperCrds(): JsonSchema[] {
  return [
    crd({
      kind: 'Certificate',
      plural: 'certificates',
      singular: 'certificate',
      scope: 'Namespaced',
      shortNames: ['ckcert', 'ckcerts'],
      spec: certificateSpec,
      status: certificateStatus,
      description: 'A certificate certkeeper issues into a kubernetes.io/tls Secret and renews forever.',
      columns: [
        ...readyColumns('.status.conditions'),
        { name: 'Secret', type: 'string', jsonPath: '.spec.secretName' },
        // EndpointsVerified: blank for a Certificate that lists no endpoints.
        { name: 'Endpoints', type: 'string', jsonPath: '.status.conditions[?(@.type=="EndpointsVerified")].status' },
        { name: 'Policy', type: 'string', jsonPath: '.status.policy', priority: 1 },
        { name: 'Issuer', type: 'string', jsonPath: '.status.issuer', priority: 1 },
        { name: 'Expires', type: 'string', jsonPath: '.status.notAfter' },
        { name: 'Renewal', type: 'string', jsonPath: '.status.renewalTime', priority: 1 },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
    }),
    crd({
      kind: 'TLSPolicy',
      plural: 'tlspolicies',
      singular: 'tlspolicy',
      scope: 'Cluster',
      shortNames: ['tlspol'],
      spec: tlsPolicySpec,
      status: tlsPolicyStatus,
      description: 'Which CA issues for which namespaces, what certificates may look like, and when to alert.',
      columns: [
        ...readyColumns('.status.conditions'),
        { name: 'Issuer', type: 'string', jsonPath: '.status.issuerKind' },
        { name: 'Priority', type: 'integer', jsonPath: '.spec.priority' },
        { name: 'Certificates', type: 'integer', jsonPath: '.status.certificates' },
        { name: 'Endpoints', type: 'integer', jsonPath: '.status.endpoints.total', priority: 1 },
        { name: 'Violating', type: 'integer', jsonPath: '.status.endpoints.violating' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
    }),
  ];
}
