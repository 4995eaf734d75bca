/**
 * The `{{ path }}` templates of workflow nodes: agent prompts and tool parameters are filled
 * from the node input (`input.*` = workflow input, `parents.<nodeId>.*` = parent outputs,
 * `tools.<name>.*` = an agent's tool results). No code runs in a template: a path is looked
 * up, nothing else, and a missing value is an error rather than an empty string, so a typo
 * fails the node loudly instead of sending the model a half-empty prompt.
 */

/** A template could not be rendered (or parsed). `code` is `TEMPLATE`. */
export class TemplateError extends Error {
  readonly code = 'TEMPLATE';
  /** The path that failed, when one did. */
  readonly path: string | undefined;
  constructor(message: string, path?: string) {
    super(message);
    this.name = 'TemplateError';
    this.path = path;
  }
}

// The path is trimmed after matching: `\s*([^{}]*?)\s*` inside the braces backtracks in cubic
// time over an unclosed `{{` followed by spaces.
const EXPRESSION = /\{\{([^{}]*)\}\}/g;
const WHOLE_EXPRESSION = /^\{\{([^{}]*)\}\}$/;
const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** How deep a templated value (tool parameters) may nest: each level costs a stack frame to render. */
export const MAX_TEMPLATE_DEPTH = 64;

/** One step of a path: an object key or an array index. */
export type PathStep = string | number;

/**
 * Splits `parents.research.text` or `input.items[0].name` into steps.
 *
 * @throws TemplateError for an empty or malformed path
 */
export function parsePath(path: string): PathStep[] {
  const steps: PathStep[] = [];
  for (const part of path.split('.')) {
    const match = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    const key = match?.[1];
    if (match === null || key === undefined || !SEGMENT.test(key)) {
      throw new TemplateError(`invalid template path "${path}": use dot-separated names and [index], e.g. parents.research.text`, path);
    }
    steps.push(key);
    for (const index of (match[2] ?? '').matchAll(/\[(\d+)\]/g)) steps.push(Number(index[1]));
  }
  return steps;
}

function tooDeep(): TemplateError {
  return new TemplateError(`a templated value nests deeper than ${MAX_TEMPLATE_DEPTH} levels`);
}

/**
 * The paths a template string (or every string inside a value) refers to, in order.
 *
 * @throws TemplateError when the value nests deeper than {@link MAX_TEMPLATE_DEPTH}
 */
export function templateReferences(value: unknown): string[] {
  const references: string[] = [];
  const collect = (item: unknown, depth: number): void => {
    if (depth > MAX_TEMPLATE_DEPTH) throw tooDeep();
    if (typeof item === 'string') for (const m of item.matchAll(EXPRESSION)) references.push((m[1] ?? '').trim());
    else if (typeof item === 'object' && item !== null) for (const child of Object.values(item)) collect(child, depth + 1);
  };
  collect(value, 0);
  return references;
}

/**
 * Looks a path up in `scope`.
 *
 * @throws TemplateError when a step is missing
 */
export function lookupPath(scope: unknown, path: string): unknown {
  let current: unknown = scope;
  for (const step of parsePath(path)) {
    const container = current as Record<string | number, unknown> | null | undefined;
    const has =
      typeof step === 'number'
        ? Array.isArray(container) && step < container.length
        : typeof container === 'object' && container !== null && Object.prototype.hasOwnProperty.call(container, step);
    if (!has || container === null || container === undefined) throw new TemplateError(`template value "${path}" is missing (no "${String(step)}")`, path);
    current = container[step];
  }
  return current;
}

function toText(value: unknown, path: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null || value === undefined) return '';
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    // Too deep for JSON.stringify's stack, cyclic, or holding a BigInt.
    throw new TemplateError(`template value "${path}" cannot be written as JSON text`, path);
  }
}

/**
 * Replaces every `{{ path }}` in `template` by the value at that path (objects as JSON).
 *
 * @throws TemplateError when a path is malformed or missing
 */
export function renderTemplate(template: string, scope: unknown): string {
  return template.replace(EXPRESSION, (_all, raw: string) => {
    const path = raw.trim();
    return toText(lookupPath(scope, path), path);
  });
}

/**
 * Renders every string inside `value`. A string that is exactly one `{{ path }}` becomes the
 * value itself (a number stays a number, an object stays an object), so tool parameters keep
 * their types.
 *
 * @throws TemplateError when a path is malformed or missing, or `value` nests deeper than
 *   {@link MAX_TEMPLATE_DEPTH}
 */
export function renderValue(value: unknown, scope: unknown): unknown {
  const render = (item: unknown, depth: number): unknown => {
    if (depth > MAX_TEMPLATE_DEPTH) throw tooDeep();
    if (typeof item === 'string') {
      const whole = WHOLE_EXPRESSION.exec(item);
      return whole === null ? renderTemplate(item, scope) : lookupPath(scope, (whole[1] ?? '').trim());
    }
    if (Array.isArray(item)) return item.map((child) => render(child, depth + 1));
    if (typeof item === 'object' && item !== null) {
      return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, render(v, depth + 1)]));
    }
    return item;
  };
  return render(value, 0);
}
