/**
 * Checks a workflow beyond its shape: node references, cycles, and the template paths its
 * prompts and parameters use. Every problem is reported at once, each naming the node.
 */
import * as z from 'zod';
import { isClaimReference } from '../claim-check.js';
import { parsePath, templateReferences } from '../template.js';
import { workflowDefinitionSchema } from './schema.js';
import type { WorkflowDefinition, WorkflowInputField, WorkflowNode } from './schema.js';

/** A workflow file is invalid. `issues` lists every problem, one line each. */
export class WorkflowDefinitionError extends Error {
  readonly code = 'WORKFLOW_DEFINITION';
  constructor(
    /** Where the definition came from (a file path), when known. */
    readonly source: string,
    readonly issues: string[],
  ) {
    super(`invalid workflow ${source}:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'WorkflowDefinitionError';
  }
}

function formatZodPath(path: readonly PropertyKey[], value: unknown): string {
  let out = '';
  let current: unknown = value;
  for (const step of path) {
    if (typeof step === 'number') {
      const nodeId = (current as unknown[] | undefined)?.[step] as { id?: unknown } | undefined;
      out += typeof nodeId?.id === 'string' && out.endsWith('nodes') ? `[${step}] (id "${nodeId.id}")` : `[${step}]`;
    } else {
      out += out === '' ? String(step) : `.${String(step)}`;
    }
    current = (current as Record<PropertyKey, unknown> | undefined)?.[step];
  }
  return out === '' ? '(top level)' : out;
}

/** Finds one cycle as a path `a -> b -> a`, or undefined. */
function findCycle(nodes: WorkflowNode[]): string[] | undefined {
  const deps = new Map(nodes.map((n) => [n.id, n.dependsOn ?? []]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of deps.get(id) ?? []) {
      if (!deps.has(dep)) continue;
      const cycle = visit(dep);
      if (cycle !== undefined) return cycle;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const node of nodes) {
    const cycle = visit(node.id);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

function checkReferences(
  where: string,
  value: unknown,
  roots: { input: Record<string, WorkflowInputField> | undefined; parents: string[]; tools?: string[] },
  issues: string[],
): void {
  for (const path of templateReferences(value)) {
    let steps;
    try {
      steps = parsePath(path);
    } catch (err) {
      issues.push(`${where}: ${(err as Error).message}`);
      continue;
    }
    const [root, first] = steps;
    if (root === 'input') {
      if (roots.input !== undefined && typeof first === 'string' && !(first in roots.input)) {
        issues.push(`${where}: "{{${path}}}" uses input "${first}", which the workflow does not declare (declared: ${Object.keys(roots.input).join(', ') || 'none'})`);
      }
    } else if (root === 'parents') {
      if (typeof first !== 'string' || !roots.parents.includes(first)) {
        issues.push(`${where}: "{{${path}}}" uses parent "${String(first)}", which is not in dependsOn (${roots.parents.join(', ') || 'none'})`);
      }
    } else if (root === 'tools' && roots.tools !== undefined) {
      if (typeof first !== 'string' || !roots.tools.includes(first)) {
        issues.push(`${where}: "{{${path}}}" uses tool result "${String(first)}", which is not one of this agent's tools (${roots.tools.join(', ') || 'none'})`);
      }
    } else {
      const allowed = roots.tools === undefined ? 'input, parents' : 'input, parents, tools';
      issues.push(`${where}: "{{${path}}}" must start with one of: ${allowed}`);
    }
  }
}

/**
 * Validates a parsed workflow document.
 *
 * @param value - the parsed JSON/YAML
 * @param source - named in the error (usually the file path)
 * @throws WorkflowDefinitionError listing every problem: shape, duplicate or unknown node
 *   references, cycles, template paths that name an undeclared input, a non-parent node or an
 *   undeclared tool result
 */
export function validateWorkflow(value: unknown, source = 'workflow'): WorkflowDefinition {
  const parsed = workflowDefinitionSchema.safeParse(value);
  if (!parsed.success) {
    throw new WorkflowDefinitionError(
      source,
      parsed.error.issues.map((issue) => `${formatZodPath(issue.path, value)}: ${issue.message}`),
    );
  }
  const workflow = parsed.data;
  const issues: string[] = [];
  const ids = workflow.nodes.map((n) => n.id);
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) issues.push(`node "${id}" is defined more than once`);
    seen.add(id);
  }
  for (const node of workflow.nodes) {
    for (const dep of node.dependsOn ?? []) {
      if (dep === node.id) issues.push(`node "${node.id}" depends on itself`);
      else if (!seen.has(dep)) issues.push(`node "${node.id}": dependsOn "${dep}" is not a node of this workflow (nodes: ${ids.join(', ')})`);
    }
    const parents = node.dependsOn ?? [];
    if (node.type === 'agent') {
      const tools = (node.tools ?? []).map((t) => t.as);
      if (new Set(tools).size !== tools.length) issues.push(`node "${node.id}": two tools share one "as" name`);
      checkReferences(`node "${node.id}" prompt`, node.prompt, { input: workflow.input, parents, tools }, issues);
      for (const call of node.tools ?? []) {
        checkReferences(`node "${node.id}" tool "${call.as}" params`, call.params, { input: workflow.input, parents }, issues);
      }
    } else {
      checkReferences(`node "${node.id}" params`, node.params, { input: workflow.input, parents }, issues);
    }
  }
  const cycle = findCycle(workflow.nodes);
  if (cycle !== undefined) issues.push(`the nodes form a cycle: ${cycle.join(' -> ')}`);
  if (workflow.output !== undefined && !seen.has(workflow.output)) {
    issues.push(`output "${workflow.output}" is not a node of this workflow (nodes: ${ids.join(', ')})`);
  }
  if (issues.length > 0) throw new WorkflowDefinitionError(source, issues);
  return workflow;
}

const typeChecks: Record<WorkflowInputField['type'], z.ZodType> = {
  string: z.string(),
  number: z.number(),
  boolean: z.boolean(),
  object: z.record(z.string(), z.unknown()),
  array: z.array(z.unknown()),
};

/** The result of {@link validateWorkflowInput}. */
export type InputCheck = { ok: true; value: Record<string, unknown> } | { ok: false; issues: string[] };

/**
 * Checks an execution's input against the workflow's declared fields and fills defaults.
 * A workflow that declares no input accepts any object.
 */
export function validateWorkflowInput(workflow: WorkflowDefinition, input: Record<string, unknown> | undefined): InputCheck {
  const given = input ?? {};
  const declared = workflow.input;
  if (declared === undefined) return { ok: true, value: { ...given } };
  const issues: string[] = [];
  const value: Record<string, unknown> = {};
  for (const key of Object.keys(given)) {
    if (!(key in declared)) issues.push(`input "${key}" is not declared by workflow "${workflow.id}" (declared: ${Object.keys(declared).join(', ') || 'none'})`);
  }
  for (const [key, field] of Object.entries(declared)) {
    const v = key in given ? given[key] : field.default;
    if (v === undefined) {
      if (field.required === true) issues.push(`input "${key}" is required (${field.type})`);
      continue;
    }
    // A claim-checked value is checked by the type recorded when it was stored.
    const matches = isClaimReference(v) ? v.$claimCheck.type === field.type : typeChecks[field.type].safeParse(v).success;
    if (!matches) issues.push(`input "${key}" must be a ${field.type}`);
    else value[key] = v;
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value };
}

/** Node IDs in an order where every node comes after the nodes it depends on. */
export function topologicalOrder(workflow: WorkflowDefinition): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  const visit = (node: WorkflowNode): void => {
    if (done.has(node.id)) return;
    done.add(node.id);
    for (const dep of node.dependsOn ?? []) {
      const parent = workflow.nodes.find((n) => n.id === dep);
      if (parent !== undefined) visit(parent);
    }
    order.push(node.id);
  };
  workflow.nodes.forEach(visit);
  return order;
}
