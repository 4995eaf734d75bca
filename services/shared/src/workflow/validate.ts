/**
 * Checks a workflow beyond its shape: node references, cycles, and the template paths its
 * prompts and parameters use. Every problem is reported at once, each naming the node.
 */
import * as z from 'zod';
import { isClaimReference } from '../claim-check.js';
import { parsePath, TemplateError, templateReferences } from '../template.js';
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

// Names listed in an issue: a few, so a workflow with thousands of nodes or an input with
// thousands of keys cannot make each of its issues thousands of names long.
function listNames(names: readonly string[]): string {
  const MAX_LISTED = 10;
  if (names.length <= MAX_LISTED) return names.join(', ') || 'none';
  return `${names.slice(0, MAX_LISTED).join(', ')} and ${names.length - MAX_LISTED} more`;
}

/**
 * A depth-first walk over `dependsOn`: the node IDs in dependency order (each after the nodes
 * it depends on) and the first cycle met, as a path `a -> b -> a`. Without recursion, so a long
 * dependency chain cannot overflow the stack; unknown dependencies are skipped.
 */
function walkDependencies(nodes: readonly WorkflowNode[]): { order: string[]; cycle: string[] | undefined } {
  const deps = new Map<string, string[]>();
  for (const node of nodes) if (!deps.has(node.id)) deps.set(node.id, node.dependsOn ?? []);
  const state = new Map<string, 'visiting' | 'done'>();
  const order: string[] = [];
  let cycle: string[] | undefined;
  for (const node of nodes) {
    if (state.has(node.id)) continue;
    state.set(node.id, 'visiting');
    const path = [{ id: node.id, next: 0 }];
    for (let top = path.at(-1); top !== undefined; top = path.at(-1)) {
      const dep = deps.get(top.id)?.[top.next++];
      if (dep === undefined) {
        state.set(top.id, 'done');
        order.push(top.id);
        path.pop();
      } else if (!deps.has(dep) || state.get(dep) === 'done') {
        continue;
      } else if (state.get(dep) === 'visiting') {
        if (cycle === undefined) {
          const ids = path.map((p) => p.id);
          cycle = [...ids.slice(ids.indexOf(dep)), dep];
        }
      } else {
        state.set(dep, 'visiting');
        path.push({ id: dep, next: 0 });
      }
    }
  }
  return { order, cycle };
}

function checkReferences(
  where: string,
  value: unknown,
  roots: { input: Record<string, WorkflowInputField> | undefined; parents: string[]; tools?: string[] },
  issues: string[],
): void {
  let paths: string[];
  try {
    paths = templateReferences(value);
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    issues.push(`${where}: ${err.message}`);
    return;
  }
  for (const path of paths) {
    let steps;
    try {
      steps = parsePath(path);
    } catch (err) {
      issues.push(`${where}: ${(err as Error).message}`);
      continue;
    }
    const [root, first] = steps;
    if (root === 'input') {
      if (roots.input !== undefined && typeof first === 'string' && !Object.hasOwn(roots.input, first)) {
        issues.push(`${where}: "{{${path}}}" uses input "${first}", which the workflow does not declare (declared: ${listNames(Object.keys(roots.input))})`);
      }
    } else if (root === 'parents') {
      if (typeof first !== 'string' || !roots.parents.includes(first)) {
        issues.push(`${where}: "{{${path}}}" uses parent "${String(first)}", which is not in dependsOn (${listNames(roots.parents)})`);
      }
    } else if (root === 'tools' && roots.tools !== undefined) {
      if (typeof first !== 'string' || !roots.tools.includes(first)) {
        issues.push(`${where}: "{{${path}}}" uses tool result "${String(first)}", which is not one of this agent's tools (${listNames(roots.tools)})`);
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
      else if (!seen.has(dep)) issues.push(`node "${node.id}": dependsOn "${dep}" is not a node of this workflow (nodes: ${listNames(ids)})`);
    }
    const parents = node.dependsOn ?? [];
    if (node.type === 'agent') {
      const tools = (node.tools ?? []).map((t) => t.as);
      if (new Set(tools).size !== tools.length) issues.push(`node "${node.id}": two tools share one "as" name`);
      const modelTools = (node.modelTools ?? []).map((t) => t.tool);
      if (new Set(modelTools).size !== modelTools.length) issues.push(`node "${node.id}": a tool is listed twice in modelTools`);
      checkReferences(`node "${node.id}" prompt`, node.prompt, { input: workflow.input, parents, tools }, issues);
      for (const call of node.tools ?? []) {
        checkReferences(`node "${node.id}" tool "${call.as}" params`, call.params, { input: workflow.input, parents }, issues);
      }
    } else {
      checkReferences(`node "${node.id}" params`, node.params, { input: workflow.input, parents }, issues);
    }
  }
  const { cycle } = walkDependencies(workflow.nodes);
  if (cycle !== undefined) issues.push(`the nodes form a cycle: ${cycle.join(' -> ')}`);
  if (workflow.output !== undefined && !seen.has(workflow.output)) {
    issues.push(`output "${workflow.output}" is not a node of this workflow (nodes: ${listNames(ids)})`);
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
  // Own keys only: `constructor` or `toString` is an input name like any other, not Object.prototype's.
  const accepted: [string, unknown][] = [];
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(declared, key)) issues.push(`input "${key}" is not declared by workflow "${workflow.id}" (declared: ${listNames(Object.keys(declared))})`);
  }
  for (const [key, field] of Object.entries(declared)) {
    const v = Object.hasOwn(given, key) ? given[key] : field.default;
    if (v === undefined) {
      if (field.required === true) issues.push(`input "${key}" is required (${field.type})`);
      continue;
    }
    // A claim-checked value is checked by the type recorded when it was stored.
    const matches = isClaimReference(v) ? v.$claimCheck.type === field.type : typeChecks[field.type].safeParse(v).success;
    if (!matches) issues.push(`input "${key}" must be a ${field.type}`);
    else accepted.push([key, v]);
  }
  // fromEntries defines each key as an own property: a `__proto__` key stays data.
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: Object.fromEntries(accepted) };
}

/** Node IDs in an order where every node comes after the nodes it depends on. */
export function topologicalOrder(workflow: WorkflowDefinition): string[] {
  return walkDependencies(workflow.nodes).order;
}
