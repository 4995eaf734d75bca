/**
 * The `json-path` tool: extracts values from a JSON document with a JSONPath subset:
 * `$` (root), `.name` and `['name']` (member), `[0]` and `[-1]` (index), `[*]` and `.*`
 * (every child), `..name` (every `name` at any depth).
 */
import * as z from 'zod';
import { itemAt } from '@multi-agent/service-kit';
import { ToolError } from './tool-error.js';

/**
 * Bounds of one json-path run. The path and document come from workflow data and model output:
 * past a bound the tool fails with `LIMIT_EXCEEDED` instead of holding the service's CPU.
 */
export const JSON_PATH_LIMITS = {
  /** Characters of the path. */
  maxPathLength: 500,
  /** Values the path may match. */
  maxMatches: 10_000,
  /** Document nodes the steps may look at, summed over all steps (`$..a..b` revisits subtrees). */
  maxVisitedNodes: 200_000,
} as const;

/** Input of `json-path`. */
export const jsonPathInputSchema = z.strictObject({
  /** The document; a string is parsed as JSON. */
  document: z.unknown(),
  path: z.string().min(1).max(JSON_PATH_LIMITS.maxPathLength),
});

/** Output of `json-path`: `value` is the single match, or every match for a wildcard path. */
export interface JsonPathOutput {
  path: string;
  value: unknown;
  matches: unknown[];
}

type Step = { kind: 'member'; name: string } | { kind: 'index'; index: number } | { kind: 'wildcard' } | { kind: 'descend'; name: string };

/**
 * Parses a path.
 *
 * @throws ToolError `INVALID_PATH`, or `LIMIT_EXCEEDED` for a path longer than {@link JSON_PATH_LIMITS}
 */
export function parseJsonPath(path: string): Step[] {
  if (path.length > JSON_PATH_LIMITS.maxPathLength) {
    throw new ToolError('LIMIT_EXCEEDED', `the JSON path is ${path.length} characters long (at most ${JSON_PATH_LIMITS.maxPathLength})`);
  }
  const bad = (why: string): ToolError => new ToolError('INVALID_PATH', `invalid JSON path "${path}": ${why}`);
  if (!path.startsWith('$')) throw bad('it must start with "$"');
  const steps: Step[] = [];
  let i = 1;
  while (i < path.length) {
    const rest = path.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^\.\.([A-Za-z_$][\w$-]*)/.exec(rest)) !== null) steps.push({ kind: 'descend', name: itemAt(m, 1) });
    else if ((m = /^\.\*/.exec(rest)) !== null || (m = /^\[\*\]/.exec(rest)) !== null) steps.push({ kind: 'wildcard' });
    else if ((m = /^\.([A-Za-z_$][\w$-]*)/.exec(rest)) !== null) steps.push({ kind: 'member', name: itemAt(m, 1) });
    else if ((m = /^\[(-?\d+)\]/.exec(rest)) !== null) steps.push({ kind: 'index', index: Number(m[1]) });
    else if ((m = /^\['((?:[^'\\]|\\.)*)'\]/.exec(rest)) !== null || (m = /^\["((?:[^"\\]|\\.)*)"\]/.exec(rest)) !== null) {
      steps.push({ kind: 'member', name: itemAt(m, 1).replace(/\\(.)/g, '$1') });
    } else throw bad(`cannot read "${rest}" at position ${i + 1}`);
    i += m[0].length;
  }
  return steps;
}

function children(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'object' && value !== null) return Object.values(value);
  return [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Counts the work of one run against {@link JSON_PATH_LIMITS}. */
class Walk {
  private visited = 0;
  constructor(private readonly path: string) {}

  /** Counts one more document node looked at. */
  visit(): void {
    if (++this.visited > JSON_PATH_LIMITS.maxVisitedNodes) {
      throw new ToolError('LIMIT_EXCEEDED', `"${this.path}" looks at more than ${JSON_PATH_LIMITS.maxVisitedNodes} nodes of the document`);
    }
  }

  /** Adds a match to `out`. */
  match(out: unknown[], value: unknown): void {
    out.push(value);
    if (out.length > JSON_PATH_LIMITS.maxMatches) {
      throw new ToolError('LIMIT_EXCEEDED', `"${this.path}" matches more than ${JSON_PATH_LIMITS.maxMatches} values`);
    }
  }

  /** Every `name` member at any depth under `root`, in document order. Iterative: deep documents cannot overflow the stack. */
  descend(root: unknown, name: string, out: unknown[]): void {
    const pending: unknown[] = [root];
    while (pending.length > 0) {
      const value = pending.pop();
      this.visit();
      if (isRecord(value) && Object.prototype.hasOwnProperty.call(value, name)) this.match(out, value[name]);
      const next = children(value);
      for (let i = next.length - 1; i >= 0; i--) pending.push(next[i]);
    }
  }

  apply(nodes: unknown[], step: Step): unknown[] {
    const out: unknown[] = [];
    for (const node of nodes) {
      this.visit();
      switch (step.kind) {
        case 'member':
          if (isRecord(node) && Object.prototype.hasOwnProperty.call(node, step.name)) this.match(out, node[step.name]);
          break;
        case 'index':
          if (Array.isArray(node)) {
            const i = step.index < 0 ? node.length + step.index : step.index;
            if (i >= 0 && i < node.length) this.match(out, node[i]);
          }
          break;
        case 'wildcard':
          for (const child of children(node)) this.match(out, child);
          break;
        case 'descend':
          this.descend(node, step.name, out);
          break;
      }
    }
    return out;
  }
}

/**
 * Runs the json-path tool.
 *
 * @throws ToolError `INVALID_PATH`, `INVALID_DOCUMENT` (a string that is not JSON),
 *   `PATH_NOT_FOUND` when nothing matches, or `LIMIT_EXCEEDED` past a bound of {@link JSON_PATH_LIMITS}
 */
export function jsonPath(input: z.output<typeof jsonPathInputSchema>): JsonPathOutput {
  let document = input.document;
  if (typeof document === 'string') {
    try {
      document = JSON.parse(document);
    } catch {
      throw new ToolError('INVALID_DOCUMENT', 'document is a string that is not valid JSON');
    }
  }
  const steps = parseJsonPath(input.path);
  const walk = new Walk(input.path);
  const matches = steps.reduce<unknown[]>((nodes, step) => walk.apply(nodes, step), [document]);
  if (matches.length === 0) throw new ToolError('PATH_NOT_FOUND', `nothing in the document matches "${input.path}"`);
  const single = steps.every((s) => s.kind === 'member' || s.kind === 'index');
  return { path: input.path, value: single ? matches[0] : matches, matches };
}
