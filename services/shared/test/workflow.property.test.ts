import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { topologicalOrder, validateWorkflow, validateWorkflowInput, WorkflowDefinitionError } from '@multi-agent/service-kit';
import type { WorkflowDefinition } from '@multi-agent/service-kit';
import { hostileKey, hostileValue, PROTOTYPE_KEYS, returnsOrThrowsTyped } from '@multi-agent/testing/hostile-input';

const DEFINITION = ['WORKFLOW_DEFINITION'];

const nodeId = fc.oneof(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'n-1', ...PROTOTYPE_KEYS), hostileKey);
const reference = fc
  .tuple(fc.constantFrom('input', 'parents', 'tools', 'other', ...PROTOTYPE_KEYS), fc.oneof(nodeId, fc.constantFrom('topic', 'count')), fc.constantFrom('', '.text', '[0]', '.__proto__.x'))
  .map(([root, first, rest]) => `{{ ${root}.${first}${rest} }}`);
const params = fc.dictionary(hostileKey, fc.oneof(reference, hostileValue()), { maxKeys: 4 });

/** Workflows that are nearly valid: real node shapes with hostile IDs, dependencies, input names and template references. */
const nearlyValidWorkflow = fc.record({
  id: fc.constant('w'),
  name: fc.constant('W'),
  input: fc.dictionary(fc.oneof(fc.constantFrom('topic', 'count', ...PROTOTYPE_KEYS), hostileKey), fc.record({ type: fc.constantFrom('string', 'number', 'object'), required: fc.boolean() }), { maxKeys: 4 }),
  nodes: fc.array(
    fc.oneof(
      fc.record({ id: nodeId, type: fc.constant('tool'), tool: fc.constant('calculator'), dependsOn: fc.array(nodeId, { maxLength: 3 }), params }),
      fc.record({ id: nodeId, type: fc.constant('agent'), agent: fc.constant('writer'), prompt: reference, dependsOn: fc.array(nodeId, { maxLength: 3 }) }),
    ),
    { minLength: 1, maxLength: 8 },
  ),
});

function expectDependencyOrder(workflow: WorkflowDefinition): void {
  const order = topologicalOrder(workflow);
  const position = new Map(order.map((id, i) => [id, i]));
  expect(new Set(order)).toEqual(new Set(workflow.nodes.map((n) => n.id)));
  for (const node of workflow.nodes) {
    for (const dep of node.dependsOn ?? []) expect(position.get(dep)!).toBeLessThan(position.get(node.id)!);
  }
}

describe('workflow validation on hostile input (property)', () => {
  it('validateWorkflow returns a workflow or throws WorkflowDefinitionError for any value', () => {
    fc.assert(
      fc.property(hostileValue({ huge: true }), (value) => {
        returnsOrThrowsTyped(() => validateWorkflow(value), WorkflowDefinitionError, DEFINITION);
      }),
      { numRuns: 60 },
    );
  });

  it('a nearly valid workflow is accepted only with acyclic dependencies and references to own declared inputs', () => {
    fc.assert(
      fc.property(nearlyValidWorkflow, (value) => {
        const workflow = returnsOrThrowsTyped(() => validateWorkflow(value), WorkflowDefinitionError, DEFINITION);
        if (workflow === undefined) return;
        expectDependencyOrder(workflow);
        const declared = workflow.input ?? {};
        for (const node of workflow.nodes) {
          const text = JSON.stringify(node.type === 'agent' ? node.prompt : node.params);
          for (const [, name] of text.matchAll(/\{\{ input\.([^.[ ]+)/g)) expect(Object.hasOwn(declared, name!)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a template may use an input only when the workflow declares it as its own field, whatever its name', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PROTOTYPE_KEYS), fc.boolean(), (name, declare) => {
        const input = JSON.parse(declare ? `{"topic": {"type": "string"}, "${name}": {"type": "string"}}` : '{"topic": {"type": "string"}}') as Record<string, unknown>;
        const value = { id: 'w', name: 'W', input, nodes: [{ id: 'a', type: 'agent', agent: 'writer', prompt: `About {{input.${name}}}` }] };
        const workflow = returnsOrThrowsTyped(() => validateWorkflow(value), WorkflowDefinitionError, DEFINITION);
        // zod drops a `__proto__` field name from the declared inputs, so that one is never declared.
        expect(workflow !== undefined).toBe(declare && name !== '__proto__');
      }),
      { numRuns: 30 },
    );
  });

  it('walks long dependency chains in either direction without recursion, in linear time', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1_000, max: 20_000 }), fc.boolean(), (length, backwards) => {
        const nodes = Array.from({ length }, (_, i) => {
          const dep = backwards ? i + 1 : i - 1;
          return { id: `n${i}`, type: 'tool', tool: 'clock', ...(dep >= 0 && dep < length ? { dependsOn: [`n${dep}`] } : {}) };
        });
        const workflow = returnsOrThrowsTyped(() => validateWorkflow({ id: 'w', name: 'W', nodes }), WorkflowDefinitionError, DEFINITION);
        expect(workflow).toBeDefined();
        returnsOrThrowsTyped(() => expectDependencyOrder(workflow!), WorkflowDefinitionError);
        // The same chain closed into a ring is one cycle; every issue stays short however many nodes there are.
        nodes[backwards ? length - 1 : 0]!.dependsOn = [backwards ? 'n0' : `n${length - 1}`];
        nodes.push({ id: 'x', type: 'tool', tool: 'clock', dependsOn: ['nowhere'] });
        let issues: string[] = [];
        try {
          returnsOrThrowsTyped(() => validateWorkflow({ id: 'w', name: 'W', nodes }), WorkflowDefinitionError, DEFINITION);
          validateWorkflow({ id: 'w', name: 'W', nodes });
        } catch (err) {
          issues = (err as WorkflowDefinitionError).issues;
        }
        expect(issues.some((i) => i.startsWith('the nodes form a cycle'))).toBe(true);
        expect(issues.find((i) => i.includes('"nowhere"'))!.length).toBeLessThan(500);
      }),
      { numRuns: 8 },
    );
  });

  it('validateWorkflowInput never throws, keeps own declared keys only and never touches a prototype', () => {
    const workflow = validateWorkflow({
      id: 'w',
      name: 'W',
      input: { topic: { type: 'string' }, toString: { type: 'string', required: true }, count: { type: 'number', default: 1 } },
      nodes: [{ id: 'a', type: 'tool', tool: 'clock' }],
    });
    const protoInput = fc.constantFrom(...PROTOTYPE_KEYS).map((key) => JSON.parse(`{"${key}": {"polluted": true}, "toString": "t"}`) as Record<string, unknown>);
    fc.assert(
      fc.property(fc.oneof(fc.dictionary(hostileKey, hostileValue(), { maxKeys: 6 }), protoInput), (input) => {
        const check = returnsOrThrowsTyped(() => validateWorkflowInput(workflow, input), WorkflowDefinitionError);
        if (check === undefined) throw new Error('validateWorkflowInput threw');
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        const undeclared = Object.keys(input).filter((k) => !['topic', 'toString', 'count'].includes(k));
        if (!Object.hasOwn(input, 'toString') || undeclared.length > 0) expect(check.ok).toBe(false);
        if (check.ok) {
          expect(Object.getPrototypeOf(check.value)).toBe(Object.prototype);
          for (const key of Object.keys(check.value)) expect(['topic', 'toString', 'count']).toContain(key);
          expect(typeof check.value.toString).toBe('string');
        } else {
          for (const issue of check.issues) expect(typeof issue).toBe('string');
        }
      }),
      { numRuns: 300 },
    );
  });
});
