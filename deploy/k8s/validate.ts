/**
 * Validation of rendered objects against the Kubernetes API schemas (`kubernetes-models`),
 * and of KEDA ScaledObjects against KEDA's CRD schema plus what the nats-jetstream scaler
 * needs in its trigger metadata (the CRD types metadata as free-form strings).
 */
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import type { K8sObject } from './render.js';

interface Model {
  validate(): void;
}
type ModelClass = new (data: never) => Model;

const MODELS: Record<string, ModelClass> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

/** Metadata keys of KEDA's nats-jetstream trigger this platform relies on, all required. */
export const NATS_JETSTREAM_TRIGGER_KEYS = ['natsServerMonitoringEndpoint', 'account', 'stream', 'consumer', 'lagThreshold', 'activationLagThreshold'];

function checkScaledObject(object: K8sObject): void {
  const spec = object.spec as { maxReplicaCount?: number; minReplicaCount?: number; triggers: { type: string; metadata: Record<string, unknown> }[] };
  if (spec.maxReplicaCount === undefined) throw new Error('maxReplicaCount is required (KEDA defaults it to 100)');
  if ((spec.minReplicaCount ?? 0) > spec.maxReplicaCount) throw new Error('minReplicaCount exceeds maxReplicaCount');
  for (const trigger of spec.triggers) {
    if (trigger.type !== 'nats-jetstream') throw new Error(`unexpected trigger type ${trigger.type}`);
    const keys = Object.keys(trigger.metadata);
    const missing = NATS_JETSTREAM_TRIGGER_KEYS.filter((k) => !keys.includes(k));
    const unknown = keys.filter((k) => !NATS_JETSTREAM_TRIGGER_KEYS.includes(k) && k !== 'useHttps');
    if (missing.length > 0 || unknown.length > 0) throw new Error(`trigger metadata: missing ${missing.join(', ')}; unknown ${unknown.join(', ')}`);
    for (const k of ['lagThreshold', 'activationLagThreshold']) {
      if (typeof trigger.metadata[k] !== 'string' || !/^\d+$/.test(trigger.metadata[k])) throw new Error(`${k} must be a quoted integer`);
    }
  }
}

/**
 * Validates one object.
 *
 * @throws Error naming the object and the first schema violation, or its kind when no schema is known
 */
export function validateObject(object: K8sObject): void {
  const id = `${object.kind}/${object.metadata.name}`;
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (Model === undefined) throw new Error(`${id}: no schema for ${object.apiVersion} ${object.kind}`);
  try {
    new Model(structuredClone(object) as never).validate();
    if (object.kind === 'ScaledObject') checkScaledObject(object);
  } catch (err) {
    throw new Error(`${id}: ${(err as Error).message}`, { cause: err });
  }
}
