/**
 * The `calculator` tool: evaluates an arithmetic expression with a small recursive-descent
 * parser. Never `eval`: the input comes from workflow data and model output.
 *
 * Grammar: `+ - * / %`, `^` or `**` (power, right-associative), parentheses, unary `+`/`-`,
 * numbers (`1`, `2.5`, `1e3`), constants `pi` and `e`, and the functions `abs sqrt round floor
 * ceil min max log log10 exp sin cos tan`.
 */
import * as z from 'zod';
import { ToolError } from './tool-error.js';

/** Bounds of one expression: past one the calculator fails with `LIMIT_EXCEEDED`. */
export const CALCULATOR_LIMITS = {
  /** Characters of the expression. */
  maxLength: 1000,
  /** Nested parentheses, function calls, unary signs and powers: each costs a stack frame. */
  maxDepth: 64,
} as const;

/** Input of `calculator`. */
export const calculatorInputSchema = z.strictObject({
  expression: z.union([z.string().min(1).max(CALCULATOR_LIMITS.maxLength), z.number()]),
});

/** Output of `calculator`. */
export interface CalculatorOutput {
  expression: string;
  value: number;
}

interface MathFunction {
  arity: [number, number];
  fn: (...args: number[]) => number;
}

// Maps, not object literals: a name such as `constructor` or `__proto__` must not find
// Object.prototype's members.
const CONSTANTS = new Map<string, number>(Object.entries({ pi: Math.PI, e: Math.E }));

const FUNCTIONS = new Map<string, MathFunction>(Object.entries({
  abs: { arity: [1, 1], fn: Math.abs },
  sqrt: { arity: [1, 1], fn: Math.sqrt },
  round: {
    arity: [1, 2],
    fn: (x, digits = 0) => {
      const f = 10 ** digits;
      return Math.round(x * f) / f;
    },
  },
  floor: { arity: [1, 1], fn: Math.floor },
  ceil: { arity: [1, 1], fn: Math.ceil },
  min: { arity: [1, 100], fn: Math.min },
  max: { arity: [1, 100], fn: Math.max },
  log: { arity: [1, 1], fn: Math.log },
  log10: { arity: [1, 1], fn: Math.log10 },
  exp: { arity: [1, 1], fn: Math.exp },
  sin: { arity: [1, 1], fn: Math.sin },
  cos: { arity: [1, 1], fn: Math.cos },
  tan: { arity: [1, 1], fn: Math.tan },
} satisfies Record<string, MathFunction>));

type Token = { kind: 'number'; value: number; at: number } | { kind: 'name'; value: string; at: number } | { kind: 'op'; value: string; at: number };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source.charAt(i);
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const number = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(source.slice(i));
    if (number !== null) {
      tokens.push({ kind: 'number', value: Number(number[0]), at: i });
      i += number[0].length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i));
    if (name !== null) {
      tokens.push({ kind: 'name', value: name[0].toLowerCase(), at: i });
      i += name[0].length;
      continue;
    }
    if (source.startsWith('**', i)) {
      tokens.push({ kind: 'op', value: '^', at: i });
      i += 2;
      continue;
    }
    if ('+-*/%^(),'.includes(ch)) {
      tokens.push({ kind: 'op', value: ch, at: i });
      i++;
      continue;
    }
    throw new ToolError('INVALID_EXPRESSION', `unexpected character ${JSON.stringify(ch)} at position ${i + 1}`);
  }
  return tokens;
}

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {}

  parse(): number {
    if (this.tokens.length === 0) throw new ToolError('INVALID_EXPRESSION', 'the expression is empty');
    const value = this.expression();
    const extra = this.tokens[this.pos];
    if (extra !== undefined) throw this.error(extra, `unexpected ${JSON.stringify(String(extra.value))}`);
    return value;
  }

  private expression(): number {
    let left = this.term();
    for (let op = this.peekOp('+', '-'); op !== undefined; op = this.peekOp('+', '-')) {
      this.pos++;
      const right = this.term();
      left = op === '+' ? left + right : left - right;
    }
    return left;
  }

  private term(): number {
    let left = this.unary();
    for (let op = this.peekOp('*', '/', '%'); op !== undefined; op = this.peekOp('*', '/', '%')) {
      this.pos++;
      const right = this.unary();
      if ((op === '/' || op === '%') && right === 0) throw new ToolError('DIVISION_BY_ZERO', `division by zero in "${this.source}"`);
      left = op === '*' ? left * right : op === '/' ? left / right : left % right;
    }
    return left;
  }

  // Every recursion of the grammar passes through here, so this is where depth is bounded.
  private unary(): number {
    if (++this.depth > CALCULATOR_LIMITS.maxDepth) {
      throw new ToolError('LIMIT_EXCEEDED', `the expression nests deeper than ${CALCULATOR_LIMITS.maxDepth} levels`);
    }
    let value: number;
    const op = this.peekOp('+', '-');
    if (op === undefined) value = this.power();
    else {
      this.pos++;
      value = this.unary();
      if (op === '-') value = -value;
    }
    this.depth--;
    return value;
  }

  private power(): number {
    const base = this.primary();
    if (this.peekOp('^') !== undefined) {
      this.pos++;
      return base ** this.unary();
    }
    return base;
  }

  private primary(): number {
    const token = this.tokens[this.pos];
    if (token === undefined) throw new ToolError('INVALID_EXPRESSION', `"${this.source}" ends too early`);
    this.pos++;
    if (token.kind === 'number') return token.value;
    if (token.kind === 'op' && token.value === '(') {
      const value = this.expression();
      this.expectOp(')');
      return value;
    }
    if (token.kind === 'name') {
      const fn = FUNCTIONS.get(token.value);
      if (fn !== undefined) return this.call(token.value, fn);
      const constant = CONSTANTS.get(token.value);
      if (constant !== undefined) return constant;
      throw this.error(token, `unknown name "${token.value}" (constants: ${[...CONSTANTS.keys()].join(', ')}; functions: ${[...FUNCTIONS.keys()].join(', ')})`);
    }
    throw this.error(token, `unexpected ${JSON.stringify(token.value)}`);
  }

  private call(name: string, fn: MathFunction): number {
    this.expectOp('(');
    const args: number[] = [];
    if (this.peekOp(')') === undefined) {
      args.push(this.expression());
      while (this.peekOp(',') !== undefined) {
        this.pos++;
        args.push(this.expression());
      }
    }
    this.expectOp(')');
    const [min, max] = fn.arity;
    if (args.length < min || args.length > max) {
      throw new ToolError('INVALID_EXPRESSION', `${name}() takes ${min === max ? min : `${min} to ${max}`} argument(s), got ${args.length}`);
    }
    return fn.fn(...args);
  }

  private peekOp(...ops: string[]): string | undefined {
    const token = this.tokens[this.pos];
    return token?.kind === 'op' && ops.includes(token.value) ? token.value : undefined;
  }

  private expectOp(op: string): void {
    const token = this.tokens[this.pos];
    if (token?.kind !== 'op' || token.value !== op) {
      throw token === undefined ? new ToolError('INVALID_EXPRESSION', `expected "${op}" at the end of "${this.source}"`) : this.error(token, `expected "${op}"`);
    }
    this.pos++;
  }

  private error(token: Token, message: string): ToolError {
    return new ToolError('INVALID_EXPRESSION', `${message} at position ${token.at + 1} of "${this.source}"`);
  }
}

/**
 * Evaluates an expression.
 *
 * @throws ToolError `INVALID_EXPRESSION` (also for an unknown name), `DIVISION_BY_ZERO`,
 *   `MATH_ERROR` (a result that is not a finite number, such as `sqrt(-1)` or an overflow), or
 *   `LIMIT_EXCEEDED` past a bound of {@link CALCULATOR_LIMITS}
 */
export function evaluate(expression: string): number {
  if (expression.length > CALCULATOR_LIMITS.maxLength) {
    throw new ToolError('LIMIT_EXCEEDED', `the expression is ${expression.length} characters long (at most ${CALCULATOR_LIMITS.maxLength})`);
  }
  const value = new Parser(tokenize(expression), expression).parse();
  if (!Number.isFinite(value)) throw new ToolError('MATH_ERROR', `"${expression}" has no finite result (${value})`);
  // Keep `0.1 + 0.2` readable: 15 significant digits are all a double reliably has.
  return Number(value.toPrecision(15));
}

/** Runs the calculator tool. */
export function calculator(input: z.output<typeof calculatorInputSchema>): CalculatorOutput {
  const expression = String(input.expression);
  return { expression, value: evaluate(expression) };
}
