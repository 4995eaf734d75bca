import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lookupPath, renderTemplate, renderValue, TemplateError, templateReferences } from '@multi-agent/service-kit';
import { hostileString, hostileValue, nested, PROTOTYPE_KEYS, returnsOrThrowsTyped } from '@multi-agent/testing/hostile-input';

const TEMPLATE = ['TEMPLATE'];

/**
 * Template text: hostile strings, template-ish fragments glued together, and an unclosed `{{`
 * before a run of blanks (a few thousand: enough for cubic backtracking to take seconds and
 * fail the time bound, not so many that it hangs the run).
 */
const hostileTemplate = fc.oneof(
  hostileString,
  fc
    .array(fc.oneof(fc.constantFrom('{{', '}}', '{', '}', ' ', '\t', 'input', 'parents', 'tools', '.', '[0]', '[', ']', 'a', 'x-1', ...PROTOTYPE_KEYS), hostileString), { maxLength: 40 })
    .map((parts) => parts.join('')),
  fc.tuple(fc.constantFrom('{{', 'x {{ input.a', '{{input.a}} {{'), fc.constantFrom(' ', '\t', '\n'), fc.integer({ min: 2_000, max: 4_000 })).map(([head, blank, count]) => `${head}${blank.repeat(count)}`),
);

/** A scope as the services build it (`input`, `parents`, `tools`), with hostile contents, or any hostile value. */
const hostileScope = fc.oneof(
  fc.record({ input: hostileValue({ cycles: true }), parents: hostileValue(), tools: hostileValue() }),
  hostileValue({ huge: true, cycles: true }),
);

describe('templates on hostile input (property)', () => {
  it('renderTemplate returns a string or throws TemplateError, in bounded time', () => {
    fc.assert(
      fc.property(hostileTemplate, hostileScope, (template, scope) => {
        const text = returnsOrThrowsTyped(() => renderTemplate(template, scope), TemplateError, TEMPLATE);
        if (text !== undefined) expect(typeof text).toBe('string');
      }),
      { numRuns: 100 },
    );
  });

  it('renderValue and templateReferences accept any value, however deep, or throw TemplateError', () => {
    fc.assert(
      fc.property(fc.oneof(hostileValue({ huge: true, cycles: true }), hostileTemplate), hostileScope, (value, scope) => {
        returnsOrThrowsTyped(() => renderValue(value, scope), TemplateError, TEMPLATE);
        const references = returnsOrThrowsTyped(() => templateReferences(value), TemplateError, TEMPLATE);
        for (const reference of references ?? []) expect(typeof reference).toBe('string');
      }),
      { numRuns: 60 },
    );
  });

  it('writes a value JSON cannot hold (too deep, cyclic, BigInt) into text as a TemplateError', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    fc.assert(
      fc.property(fc.constantFrom(nested(20_000, 'array'), nested(20_000, 'object'), cyclic, { n: 1n }), (value) => {
        expect(() => renderTemplate('value: {{input.v}}', { input: { v: value } })).toThrow(TemplateError);
      }),
      { numRuns: 4 },
    );
  });

  it('looks up own properties only: a prototype key is missing unless the data really has it', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PROTOTYPE_KEYS), fc.constantFrom('input', 'parents'), fc.string({ maxLength: 5 }), (key, root, stored) => {
        const path = `${root}.${key}`;
        expect(() => lookupPath({ input: {}, parents: {} }, path)).toThrow(TemplateError);
        expect(() => lookupPath({ input: [], parents: 'text' }, `${path}.x`)).toThrow(TemplateError);
        const withKey = JSON.parse(`{"${root}": {"${key}": ${JSON.stringify(stored)}}}`) as unknown;
        expect(lookupPath(withKey, path)).toBe(stored);
      }),
      { numRuns: 50 },
    );
  });
});
