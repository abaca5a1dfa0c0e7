import { z } from 'zod';
import { GO_DURATION_PATTERN } from './duration.js';

export const GROUP = 'certkeeper.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Upper bounds keep CEL rules inside the API server's cost budget. */
export const MAX_NAMES = 100;

export const durationString = (description: string) =>
  z
    .string()
    .max(32)
    .regex(new RegExp(GO_DURATION_PATTERN))
    .meta({
      description,
      // Guarded by the pattern so a malformed value gets the pattern's message, not a CEL conversion error.
      'x-kubernetes-validations': [
        { rule: `!self.matches('${GO_DURATION_PATTERN.replaceAll('\\.', '[.]')}') || duration(self) > duration("0s")`, message: 'must be a positive duration such as "2160h" or "90m"' },
      ],
    });

export const dnsLabelName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);

export const labelMap = z.record(z.string().max(317), z.string().max(63));
export const annotationMap = z.record(z.string().max(317), z.string().max(262144));

export const labelSelectorRequirement = z.object({
  key: z.string().max(317),
  operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
  values: z.array(z.string().max(63)).max(64).optional(),
});

export const labelSelector = z
  .object({
    matchLabels: labelMap.optional(),
    matchExpressions: z.array(labelSelectorRequirement).max(32).optional(),
  })
  .meta({ description: 'A Kubernetes label selector; an empty selector ({}) matches everything.' });
export type LabelSelector = z.infer<typeof labelSelector>;

export const secretKeySelector = z.object({
  name: dnsLabelName.meta({ description: "Secret name, in the operator's namespace." }),
  key: z.string().max(253).optional().meta({ description: 'Key within the Secret.' }),
});

export const condition = z.object({
  type: z.string().max(316),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().max(1024),
  message: z.string().max(32768),
  lastTransitionTime: z.string().max(64),
  observedGeneration: z.int().min(0).optional(),
});
export type ApiCondition = z.infer<typeof condition>;

export const conditionList = z
  .array(condition)
  .max(16)
  .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });

/** The parts of ObjectMeta the operator reads. */
export const objectMeta = z.object({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.union([z.string(), z.date()]).optional(),
  deletionTimestamp: z.union([z.string(), z.date()]).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ObjectMeta = z.infer<typeof objectMeta>;
