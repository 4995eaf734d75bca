import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { builtinTools, evaluate, JSON_PATH_LIMITS, jsonPath, ToolError, ToolRegistry } from '@multi-agent/tool-service';
import { deepJsonText, hostileString, hostileValue, jsonishText, PROTOTYPE_KEYS, resolvesOrRejectsTyped, returnsOrThrowsTyped } from '@multi-agent/testing/hostile-input';

const CALCULATOR_CODES = ['INVALID_EXPRESSION', 'DIVISION_BY_ZERO', 'MATH_ERROR', 'LIMIT_EXCEEDED'];
const JSON_PATH_CODES = ['INVALID_PATH', 'PATH_NOT_FOUND', 'INVALID_DOCUMENT', 'LIMIT_EXCEEDED'];

/** Expressions from the calculator's own alphabet plus prototype names: mostly well-formed enough to get past the tokenizer. */
const expression = fc.oneof(
  hostileString,
  fc
    .array(fc.constantFrom('1', '2.5', '0', '1e308', '.5', '(', ')', '+', '-', '*', '/', '%', '^', '**', ',', ' ', 'pi', 'e', 'sqrt', 'max', 'round', ...PROTOTYPE_KEYS), { maxLength: 1_200 })
    .map((parts) => parts.join('')),
  fc.tuple(fc.constantFrom('(', '-', 'abs(', '2^', '+'), fc.integer({ min: 50, max: 2_000 })).map(([unit, count]) => `${unit.repeat(count)}1`),
);

/** Paths from the json-path alphabet, with prototype names and long repetitions. */
const path = fc.oneof(
  hostileString,
  fc
    .array(fc.oneof(fc.constantFrom('.a', '..a', '[*]', '.*', '[0]', '[-1]', "['a']", '["a"]', '[', "['", '..', '.'), fc.constantFrom(...PROTOTYPE_KEYS).map((k) => `.${k}`)), { maxLength: 60 })
    .map((parts) => `$${parts.join('')}`),
);

/** Documents: hostile values (deep, wide, cyclic) and JSON text (valid, broken, deep). */
const documentArb = fc.oneof(hostileValue({ huge: true, cycles: true }), jsonishText, deepJsonText);

describe('calculator on hostile input (property)', () => {
  it('evaluates to a finite number or throws a typed ToolError, in bounded time', () => {
    fc.assert(
      fc.property(expression, (source) => {
        const value = returnsOrThrowsTyped(() => evaluate(source), ToolError, CALCULATOR_CODES);
        if (value !== undefined) expect(Number.isFinite(value)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});

describe('json-path on hostile input (property)', () => {
  it('returns at most maxMatches values or throws a typed ToolError, however deep, wide or cyclic the document', () => {
    fc.assert(
      fc.property(documentArb, path, (document, source) => {
        const output = returnsOrThrowsTyped(() => jsonPath({ document, path: source }), ToolError, JSON_PATH_CODES);
        if (output !== undefined) expect(output.matches.length).toBeLessThanOrEqual(JSON_PATH_LIMITS.maxMatches);
      }),
      { numRuns: 60 },
    );
  });
});

describe('tool registry on hostile params (property)', () => {
  const registry = new ToolRegistry(builtinTools({ now: () => new Date(0) }));

  it('answers every tool call with a result or a typed ToolError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('calculator', 'json-path', 'clock', ...PROTOTYPE_KEYS),
        fc.oneof(hostileValue(), fc.record({ expression: fc.oneof(expression, hostileValue()) }), fc.record({ document: documentArb, path: fc.oneof(path, hostileValue()) }), fc.record({ timeZone: hostileString })),
        async (toolId, params) => {
          await resolvesOrRejectsTyped(() => registry.run(toolId, params), ToolError);
        },
      ),
      { numRuns: 100 },
    );
  });
});
