/**
 * A Kustomize renderer for the subset of features this repository's kustomizations use, so
 * the tests render the overlays offline with no binary: `resources` (files and
 * directories), `components`, `namespace`, `images`, and `patches` written as JSON patches
 * (inline or from a file) with a `target` by kind, name and label selector. Anything else in
 * a kustomization is an error rather than silently ignored, so what the tests check is what
 * `kubectl apply -k` would apply.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

/** A rendered Kubernetes object. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

interface PatchTarget {
  kind?: string;
  name?: string;
  labelSelector?: string;
}

interface Kustomization {
  apiVersion: string;
  kind: 'Kustomization' | 'Component';
  namespace?: string;
  resources?: string[];
  components?: string[];
  patches?: { path?: string; patch?: string; target?: PatchTarget }[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

const KNOWN_FIELDS = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'components', 'patches', 'images']);
const CLUSTER_SCOPED = new Set(['Namespace']);

/** The directory of `deploy/k8s`. */
const k8sDir = fileURLToPath(new URL('.', import.meta.url));

/** An overlay's directory. */
export const overlayDir = (name: string): string => join(k8sDir, 'overlays', name);

function readKustomization(dir: string): Kustomization {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  const unknown = Object.keys(k).filter((key) => !KNOWN_FIELDS.has(key));
  if (unknown.length > 0) throw new Error(`${dir}/kustomization.yaml: fields this renderer does not implement: ${unknown.join(', ')}`);
  return k;
}

function readObjects(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).flatMap((doc) => {
    const [error] = doc.errors;
    if (error !== undefined) throw new Error(`${file}: ${error.message}`);
    const value = doc.toJS() as K8sObject | null;
    return value === null ? [] : [value];
  });
}

function matches(object: K8sObject, target: PatchTarget = {}): boolean {
  if (target.kind !== undefined && object.kind !== target.kind) return false;
  if (target.name !== undefined && object.metadata.name !== target.name) return false;
  for (const term of target.labelSelector?.split(',') ?? []) {
    // `split` returns at least one element, so `key` is always set (to '' for an empty term).
    const [key = '', value] = term.split('=').map((s) => s.trim());
    if (object.metadata.labels?.[key] !== value) return false;
  }
  return true;
}

function unescape(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Applies RFC 6902 add/replace/remove to `document` in place. */
function applyJsonPatch(document: unknown, ops: JsonPatchOp[]): void {
  for (const { op, path, value } of ops) {
    const tokens = path.split('/').slice(1).map(unescape);
    const last = tokens.pop();
    if (last === undefined) throw new Error(`JSON patch: path "${path}" names the whole document`);
    let parent = document as Record<string, unknown> | unknown[];
    for (const token of tokens) {
      const next = (parent as Record<string, unknown>)[token];
      if (typeof next !== 'object' || next === null) throw new Error(`JSON patch ${op} ${path}: "${token}" does not exist`);
      parent = next as Record<string, unknown> | unknown[];
    }
    const copy = value === undefined ? undefined : structuredClone(value);
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length) throw new Error(`JSON patch ${op} ${path}: bad index`);
      if (op === 'add') parent.splice(index, 0, copy);
      else if (index >= parent.length) throw new Error(`JSON patch ${op} ${path}: no element ${index}`);
      else if (op === 'replace') parent[index] = copy;
      else parent.splice(index, 1);
    } else {
      if (op !== 'add' && !(last in parent)) throw new Error(`JSON patch ${op} ${path}: "${last}" does not exist`);
      // In place, like the other operations: the document is a parsed YAML object, not a dictionary we chose.
      if (op === 'remove') Reflect.deleteProperty(parent, last);
      else parent[last] = copy;
    }
  }
}

function applyKustomization(dir: string, k: Kustomization, objects: K8sObject[]): K8sObject[] {
  for (const entry of k.resources ?? []) {
    const path = join(dir, entry);
    objects.push(...(statSync(path).isDirectory() ? render(path) : readObjects(path)));
  }
  for (const entry of k.components ?? []) {
    const path = join(dir, entry);
    const component = readKustomization(path);
    if (component.kind !== 'Component') throw new Error(`${path} is listed as a component but is a ${component.kind}`);
    applyKustomization(path, component, objects);
  }
  for (const { path, patch, target } of k.patches ?? []) {
    const text = path === undefined ? patch : readFileSync(join(dir, path), 'utf8');
    const ops = parse(text ?? '') as unknown;
    if (!Array.isArray(ops)) throw new Error(`${dir}: only JSON patches (a list of operations) are implemented`);
    const hits = objects.filter((o) => matches(o, target));
    if (hits.length === 0) throw new Error(`${dir}: a patch matches no object (${JSON.stringify(target)})`);
    for (const object of hits) applyJsonPatch(object, ops as JsonPatchOp[]);
  }
  for (const { name, newName, newTag } of k.images ?? []) {
    for (const container of podContainers(objects)) {
      const [image, tag] = splitImage(container.image);
      if (image === name) container.image = `${newName ?? image}${newTag !== undefined ? `:${newTag}` : tag !== undefined ? `:${tag}` : ''}`;
    }
  }
  if (k.namespace !== undefined) {
    for (const object of objects) if (!CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = k.namespace;
  }
  return objects;
}

function splitImage(image: string): [string, string | undefined] {
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? [image.slice(0, at), image.slice(at + 1)] : [image, undefined];
}

/** A container of a pod template, as far as the renderer and the checks need it. */
export interface ContainerSpec {
  name: string;
  image: string;
  [field: string]: unknown;
}

/** The pod template spec of a workload (Deployment, StatefulSet), or undefined for other kinds. */
export function podSpec(object: K8sObject): { containers: ContainerSpec[]; [field: string]: unknown } | undefined {
  const spec = object.spec as { template?: { spec?: { containers: ContainerSpec[] } } } | undefined;
  return spec?.template?.spec;
}

function podContainers(objects: K8sObject[]): ContainerSpec[] {
  return objects.flatMap((o) => podSpec(o)?.containers ?? []);
}

/** Renders the kustomization in `dir`, like `kubectl kustomize dir`. */
export function render(dir: string): K8sObject[] {
  const k = readKustomization(dir);
  if (k.kind === 'Component') throw new Error(`${dir} is a component: render a kustomization that lists it`);
  return applyKustomization(dir, k, []);
}

/** The JetStream consumers the KEDA ScaledObjects of an overlay watch. */
export function scaledConsumers(objects: K8sObject[] = render(overlayDir('prod'))): { service: string; stream: string; consumer: string }[] {
  return objects
    .filter((o) => o.kind === 'ScaledObject')
    .flatMap((o) => {
      const spec = o.spec as { scaleTargetRef: { name: string }; triggers: { type: string; metadata: Record<string, string> }[] };
      return spec.triggers
        .filter((t) => t.type === 'nats-jetstream')
        .map((t) => {
          const { stream, consumer } = t.metadata;
          if (stream === undefined || consumer === undefined) {
            throw new Error(`ScaledObject ${o.metadata.name}: a nats-jetstream trigger without metadata.stream and metadata.consumer`);
          }
          return { service: spec.scaleTargetRef.name, stream, consumer };
        });
    });
}
