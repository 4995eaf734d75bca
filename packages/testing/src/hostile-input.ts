/**
 * Adversarial input for the property tests (`*.property.test.ts`): the values a hostile client,
 * a broken producer or a model's output can put on the bus, and the check every property
 * makes of them: the function returns, or throws its documented typed error, in bounded time.
 */
import fc from 'fast-check';
import { expect } from 'vitest';

/** Keys that reach `Object.prototype` when a lookup or a copy is careless. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__'] as const;

/** A prototype key or any string. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.string({ unit: 'binary', maxLength: 20 }));

/** A long run of one character: finds super-linear scanning (regex backtracking, repeated slicing). */
export const longRun: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('a', ' ', '{', '{{', '}', '[', ']', '.', '..', '(', '-', '*', '\\', "'", '"', '\u0000', '\uD800', '\u{1F600}', '9'), fc.integer({ min: 1_000, max: 50_000 }))
  .map(([unit, count]) => unit.repeat(count));

/** Strings a caller should never trust: any unicode (lone surrogates included), prototype keys, number-like words, long runs. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.constantFrom(...PROTOTYPE_KEYS, 'NaN', 'Infinity', '-Infinity', '1e999', '-0', '', ' ', '\r\n', '\u0085', '\u2028'),
  longRun,
);

/** An array or object nested `depth` levels deep (built without recursion). */
export function nested(depth: number, kind: 'array' | 'object', leaf: unknown = 0): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { a: value };
  return value;
}

/** Deeply nested values: deeper than any recursive walker's stack allows. */
export const deepValue: fc.Arbitrary<unknown> = fc
  .record({ depth: fc.integer({ min: 1_000, max: 100_000 }), kind: fc.constantFrom('array' as const, 'object' as const) })
  .map(({ depth, kind }) => nested(depth, kind));

/** The JSON text of a deeply nested array or object (JSON.stringify cannot write one that deep). */
export const deepJsonText: fc.Arbitrary<string> = fc
  .record({ depth: fc.integer({ min: 1_000, max: 100_000 }), kind: fc.constantFrom('array', 'object') })
  .map(({ depth, kind }) => (kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}0${'}'.repeat(depth)}`));

/** Very wide values: one array or object with up to 100 000 children. */
export const wideValue: fc.Arbitrary<unknown> = fc
  .record({ width: fc.integer({ min: 1_000, max: 100_000 }), kind: fc.constantFrom('array' as const, 'object' as const) })
  .map(({ width, kind }) => {
    const items = Array.from({ length: width }, (_, i) => ({ a: i }));
    return kind === 'array' ? items : Object.fromEntries(items.map((item, i) => [`k${i}`, item]));
  });

/** An object that contains itself (an in-process caller can pass one; JSON cannot). */
export const cyclicValue: fc.Arbitrary<unknown> = fc.constantFrom('self', 'pair', 'array').map((shape) => {
  const root: Record<string, unknown> = { a: 1 };
  if (shape === 'self') root.a = root;
  else if (shape === 'pair') root.a = { b: root };
  else root.a = [root, root];
  return root;
});

/**
 * Any JSON-like value with hostile keys and strings, NaN, infinities and -0; with `huge`, also
 * deep and wide values (slow to build: use few runs), with `cycles`, cyclic ones.
 */
export function hostileValue(options: { huge?: boolean; cycles?: boolean } = {}): fc.Arbitrary<unknown> {
  const values = [hostileString, fc.double(), fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, Number.MAX_VALUE), fc.boolean(), fc.constant(null)];
  return fc.oneof(
    { weight: 4, arbitrary: fc.anything({ key: hostileKey, values, maxDepth: 3, maxKeys: 6 }) },
    ...(options.huge === true ? [{ weight: 1, arbitrary: deepValue }, { weight: 1, arbitrary: wideValue }] : []),
    ...(options.cycles === true ? [{ weight: 1, arbitrary: cyclicValue }] : []),
  );
}

/** JSON text, valid or broken: a serialised hostile value or a deep document, cut short or with a byte flipped. */
export const jsonishText: fc.Arbitrary<string> = fc
  .tuple(fc.oneof(hostileValue().map((value) => JSON.stringify(value) ?? 'undefined'), deepJsonText), fc.constantFrom('as is', 'truncated', 'flipped'), fc.nat())
  .map(([text, damage, at]) => {
    const i = text.length === 0 ? 0 : at % text.length;
    if (damage === 'truncated') return text.slice(0, i);
    if (damage === 'flipped') return `${text.slice(0, i)}${String.fromCharCode(text.charCodeAt(i) ^ 0x5c)}${text.slice(i + 1)}`;
    return text;
  });

/** Milliseconds one call may take before it counts as a hang: generous, for a loaded 2-core machine. */
export const CALL_TIME_BOUND_MS = 1_500;

/** A class of error with a stable `code` (matched on class and code, never on message text). */
export type TypedErrorClass = abstract new (...args: never[]) => Error & { code: string };

function settle<T>(startedAt: number, outcome: { result: T } | { error: unknown }, errorClass: TypedErrorClass, codes: readonly string[] | undefined): T | undefined {
  const took = performance.now() - startedAt;
  expect(took, `one call took ${took.toFixed(0)} ms`).toBeLessThan(CALL_TIME_BOUND_MS);
  if ('result' in outcome) return outcome.result;
  expect(outcome.error).toBeInstanceOf(errorClass);
  if (codes !== undefined) expect(codes).toContain((outcome.error as { code: string }).code);
  return undefined;
}

/**
 * Runs `call` and checks it either returns or throws an instance of `errorClass` whose `code`
 * is one of `codes` (any code when omitted), within {@link CALL_TIME_BOUND_MS}.
 *
 * @returns what `call` returned, or undefined when it threw the typed error
 */
export function returnsOrThrowsTyped<T>(call: () => T, errorClass: TypedErrorClass, codes?: readonly string[]): T | undefined {
  const startedAt = performance.now();
  let outcome: { result: T } | { error: unknown };
  try {
    outcome = { result: call() };
  } catch (error) {
    outcome = { error };
  }
  return settle(startedAt, outcome, errorClass, codes);
}

/** {@link returnsOrThrowsTyped} for an async call. */
export async function resolvesOrRejectsTyped<T>(call: () => Promise<T>, errorClass: TypedErrorClass, codes?: readonly string[]): Promise<T | undefined> {
  const startedAt = performance.now();
  let outcome: { result: T } | { error: unknown };
  try {
    outcome = { result: await call() };
  } catch (error) {
    outcome = { error };
  }
  return settle(startedAt, outcome, errorClass, codes);
}
