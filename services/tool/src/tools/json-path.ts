/**
 * The `json-path` tool: extracts values from a JSON document with a JSONPath subset:
 * `$` (root), `.name` and `['name']` (member), `[0]` and `[-1]` (index), `[*]` and `.*`
 * (every child), `..name` (every `name` at any depth).
 */
import * as z from 'zod';
import { ToolError } from './tool-error.js';

/** Input of `json-path`. */
export const jsonPathInputSchema = z.strictObject({
  /** The document; a string is parsed as JSON. */
  document: z.unknown(),
  path: z.string().min(1).max(500),
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
 * @throws ToolError `INVALID_PATH`
 */
export function parseJsonPath(path: string): Step[] {
  const bad = (why: string): ToolError => new ToolError('INVALID_PATH', `invalid JSON path "${path}": ${why}`);
  if (!path.startsWith('$')) throw bad('it must start with "$"');
  const steps: Step[] = [];
  let i = 1;
  while (i < path.length) {
    const rest = path.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^\.\.([A-Za-z_$][\w$-]*)/.exec(rest)) !== null) steps.push({ kind: 'descend', name: m[1]! });
    else if ((m = /^\.\*/.exec(rest)) !== null || (m = /^\[\*\]/.exec(rest)) !== null) steps.push({ kind: 'wildcard' });
    else if ((m = /^\.([A-Za-z_$][\w$-]*)/.exec(rest)) !== null) steps.push({ kind: 'member', name: m[1]! });
    else if ((m = /^\[(-?\d+)\]/.exec(rest)) !== null) steps.push({ kind: 'index', index: Number(m[1]) });
    else if ((m = /^\['((?:[^'\\]|\\.)*)'\]/.exec(rest)) !== null || (m = /^\["((?:[^"\\]|\\.)*)"\]/.exec(rest)) !== null) {
      steps.push({ kind: 'member', name: m[1]!.replace(/\\(.)/g, '$1') });
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

function descend(value: unknown, name: string, out: unknown[]): void {
  if (typeof value !== 'object' || value === null) return;
  if (!Array.isArray(value) && Object.prototype.hasOwnProperty.call(value, name)) out.push((value as Record<string, unknown>)[name]);
  for (const child of children(value)) descend(child, name, out);
}

function apply(nodes: unknown[], step: Step): unknown[] {
  const out: unknown[] = [];
  for (const node of nodes) {
    switch (step.kind) {
      case 'member':
        if (typeof node === 'object' && node !== null && !Array.isArray(node) && Object.prototype.hasOwnProperty.call(node, step.name)) {
          out.push((node as Record<string, unknown>)[step.name]);
        }
        break;
      case 'index':
        if (Array.isArray(node)) {
          const i = step.index < 0 ? node.length + step.index : step.index;
          if (i >= 0 && i < node.length) out.push(node[i]);
        }
        break;
      case 'wildcard':
        out.push(...children(node));
        break;
      case 'descend':
        descend(node, step.name, out);
        break;
    }
  }
  return out;
}

/**
 * Runs the json-path tool.
 *
 * @throws ToolError `INVALID_PATH`, `INVALID_DOCUMENT` (a string that is not JSON), or
 *   `PATH_NOT_FOUND` when nothing matches
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
  const matches = steps.reduce<unknown[]>(apply, [document]);
  if (matches.length === 0) throw new ToolError('PATH_NOT_FOUND', `nothing in the document matches "${input.path}"`);
  const single = steps.every((s) => s.kind === 'member' || s.kind === 'index');
  return { path: input.path, value: single ? matches[0] : matches, matches };
}
