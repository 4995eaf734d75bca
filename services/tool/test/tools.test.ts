import { describe, expect, it } from 'vitest';
import { NonRetryableError } from '@multi-agent/nats-client';
import { builtinTools, clock, evaluate, jsonPath, ToolError, ToolRegistry } from '@multi-agent/tool-service';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ToolError);
    return (err as ToolError).code;
  }
  throw new Error('expected a ToolError');
}

describe('calculator', () => {
  it('follows precedence, associativity and unary minus', () => {
    expect(evaluate('1 + 2 * 3')).toBe(7);
    expect(evaluate('(1 + 2) * 3')).toBe(9);
    expect(evaluate('2 ^ 3 ^ 2')).toBe(512);
    expect(evaluate('2 ** 3')).toBe(8);
    expect(evaluate('-2 ^ 2')).toBe(-4);
    expect(evaluate('10 % 4 - -1')).toBe(3);
    expect(evaluate('0.1 + 0.2')).toBe(0.3);
    expect(evaluate('1.5e3 / 3')).toBe(500);
  });

  it('knows constants and functions', () => {
    expect(evaluate('round(pi, 2)')).toBe(3.14);
    expect(evaluate('max(1, 7, 3) + min(4, 2) + abs(-1) + sqrt(16) + floor(2.7) + ceil(2.1)')).toBe(7 + 2 + 1 + 4 + 2 + 3);
    expect(evaluate('round(120 * (1 + 10 / 100) / 4, 2)')).toBe(33);
  });

  it('fails with typed codes', () => {
    expect(codeOf(() => evaluate('1 / 0'))).toBe('DIVISION_BY_ZERO');
    expect(codeOf(() => evaluate('5 % (2 - 2)'))).toBe('DIVISION_BY_ZERO');
    expect(codeOf(() => evaluate('sqrt(-1)'))).toBe('MATH_ERROR');
    expect(codeOf(() => evaluate('10 ^ 400'))).toBe('MATH_ERROR');
    expect(codeOf(() => evaluate('1 +'))).toBe('INVALID_EXPRESSION');
    expect(codeOf(() => evaluate('2 (3)'))).toBe('INVALID_EXPRESSION');
    expect(codeOf(() => evaluate('process.exit(1)'))).toBe('INVALID_EXPRESSION');
    expect(codeOf(() => evaluate('max()'))).toBe('INVALID_EXPRESSION');
    expect(codeOf(() => evaluate(''))).toBe('INVALID_EXPRESSION');
    expect(() => evaluate('1 + $')).toThrow('unexpected character "$" at position 5');
  });

  it('finds only its own functions and constants, never Object.prototype members', () => {
    for (const hostile of ['constructor(1)', '__proto__', '__proto__(1)', 'toString()', 'hasOwnProperty(1)', 'valueOf()', 'constructor']) {
      expect(codeOf(() => evaluate(hostile)), hostile).toBe('INVALID_EXPRESSION');
    }
  });

  it('bounds the length and the nesting of an expression', () => {
    expect(evaluate(`${'-'.repeat(63)}1`)).toBe(-1);
    expect(codeOf(() => evaluate(`${'-'.repeat(64)}1`))).toBe('LIMIT_EXCEEDED');
    expect(codeOf(() => evaluate(`${'('.repeat(100)}1${')'.repeat(100)}`))).toBe('LIMIT_EXCEEDED');
    expect(codeOf(() => evaluate(`${'2^'.repeat(100)}1`))).toBe('LIMIT_EXCEEDED');
    expect(codeOf(() => evaluate(`${'abs('.repeat(100)}1${')'.repeat(100)}`))).toBe('LIMIT_EXCEEDED');
    expect(codeOf(() => evaluate('1+'.repeat(600) + '1'))).toBe('LIMIT_EXCEEDED');
  });

  it('throws tool errors that the bus client never retries', () => {
    let err: unknown;
    try {
      evaluate('1 / 0');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonRetryableError);
    expect(err).toMatchObject({ name: 'ToolError', code: 'DIVISION_BY_ZERO' });
  });
});

describe('clock', () => {
  const now = new Date('2024-02-29T23:30:05.000Z');

  it('splits the time in UTC and in a time zone', () => {
    expect(clock({}, now)).toEqual({ iso: '2024-02-29T23:30:05.000Z', epochMs: now.getTime(), timeZone: 'UTC', date: '2024-02-29', time: '23:30:05', weekday: 'Thursday', year: 2024 });
    expect(clock({ timeZone: 'Europe/Paris' }, now)).toMatchObject({ date: '2024-03-01', time: '00:30:05', weekday: 'Friday' });
  });

  it('rejects an unknown zone', () => {
    expect(codeOf(() => clock({ timeZone: 'Mars/Olympus' }, now))).toBe('INVALID_TIMEZONE');
  });
});

describe('json-path', () => {
  const document = { order: { id: 7, items: [{ sku: 'a', price: 2 }, { sku: 'b', price: 3 }], 'ship to': { city: 'Lyon' } } };

  it('extracts members, indexes, quoted keys, wildcards and recursive matches', () => {
    expect(jsonPath({ document, path: '$.order.id' }).value).toBe(7);
    expect(jsonPath({ document, path: '$.order.items[-1].sku' }).value).toBe('b');
    expect(jsonPath({ document, path: "$.order['ship to'].city" }).value).toBe('Lyon');
    expect(jsonPath({ document, path: '$.order.items[*].price' }).value).toEqual([2, 3]);
    expect(jsonPath({ document, path: '$..sku' }).matches).toEqual(['a', 'b']);
    expect(jsonPath({ document: JSON.stringify(document), path: '$.order.items[0]' }).value).toEqual({ sku: 'a', price: 2 });
  });

  it('fails with typed codes', () => {
    expect(codeOf(() => jsonPath({ document, path: '$.order.missing' }))).toBe('PATH_NOT_FOUND');
    expect(codeOf(() => jsonPath({ document, path: 'order.id' }))).toBe('INVALID_PATH');
    expect(codeOf(() => jsonPath({ document, path: '$.order[' }))).toBe('INVALID_PATH');
    expect(codeOf(() => jsonPath({ document: '{not json', path: '$' }))).toBe('INVALID_DOCUMENT');
  });

  it('reads own members only: prototype names match nothing unless the document has them', () => {
    expect(codeOf(() => jsonPath({ document: {}, path: '$.constructor' }))).toBe('PATH_NOT_FOUND');
    expect(codeOf(() => jsonPath({ document: { a: [1] }, path: "$.a['length']" }))).toBe('PATH_NOT_FOUND');
    expect(codeOf(() => jsonPath({ document: {}, path: '$..__proto__' }))).toBe('PATH_NOT_FOUND');
    expect(jsonPath({ document: '{"__proto__": {"polluted": true}}', path: '$.__proto__.polluted' }).value).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('walks a very deep document without growing the stack', () => {
    const depth = 150_000;
    let deep: unknown = 'bottom';
    for (let i = 0; i < depth; i++) deep = { next: deep };
    expect(codeOf(() => jsonPath({ document: deep, path: '$..missing' }))).toBe('PATH_NOT_FOUND');
    expect(codeOf(() => jsonPath({ document: `${'['.repeat(depth)}${']'.repeat(depth)}`, path: '$..a' }))).toBe('PATH_NOT_FOUND');
  });

  it('fails with LIMIT_EXCEEDED past its bounds on path length, matches and visited nodes', () => {
    const wide = Array.from({ length: 20_000 }, (_, i) => i);
    expect(jsonPath({ document: wide.slice(0, 10_000), path: '$[*]' }).matches).toHaveLength(10_000);
    expect(codeOf(() => jsonPath({ document: wide, path: '$[*]' }))).toBe('LIMIT_EXCEEDED');
    expect(codeOf(() => jsonPath({ document: {}, path: `$${'.a'.repeat(300)}` }))).toBe('LIMIT_EXCEEDED');
    // Each `..a` step re-walks every subtree the previous one matched: quadratic without a budget.
    let chain: unknown = 0;
    for (let i = 0; i < 5_000; i++) chain = { a: chain };
    expect(codeOf(() => jsonPath({ document: chain, path: '$..a..a..a' }))).toBe('LIMIT_EXCEEDED');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(codeOf(() => jsonPath({ document: cyclic, path: '$..missing' }))).toBe('LIMIT_EXCEEDED');
  });
});

describe('tool registry', () => {
  const registry = new ToolRegistry(builtinTools({ now: () => new Date(0) }));

  it('validates input before running a tool', async () => {
    await expect(registry.run('calculator', { expression: '6 * 7' })).resolves.toEqual({ expression: '6 * 7', value: 42 });
    await expect(registry.run('calculator', { expresion: '1' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(registry.run('calculator', {})).rejects.toThrow('invalid input for tool "calculator": expression:');
    await expect(registry.run('clock', { timeZone: 5 })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(registry.run('nope', {})).rejects.toMatchObject({ code: 'UNKNOWN_TOOL', message: 'unknown tool "nope" (available: calculator, clock, json-path)' });
  });
});
