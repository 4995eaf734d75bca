import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadWorkflows,
  parseWorkflow,
  renderTemplate,
  renderValue,
  stableEventId,
  TemplateError,
  topologicalOrder,
  validateWorkflow,
  validateWorkflowInput,
  WorkflowDefinitionError,
} from '@multi-agent/service-kit';

const agent = (id: string, dependsOn: string[] = [], prompt = 'Say something about {{input.topic}}') => ({ id, type: 'agent', agent: 'writer', prompt, dependsOn });

function issuesOf(value: unknown): string[] {
  try {
    validateWorkflow(value, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowDefinitionError);
    return (err as WorkflowDefinitionError).issues;
  }
  throw new Error('expected the workflow to be rejected');
}

describe('workflow definitions', () => {
  it('loads the shipped examples: a linear chain, a fan-out/fan-in, and a tool pipeline', async () => {
    const workflows = await loadWorkflows();
    expect([...workflows.keys()].sort()).toEqual(['perspectives', 'research-summary', 'split-bill']);
    expect(topologicalOrder(workflows.get('research-summary')!)).toEqual(['research', 'summarise']);
    const fan = workflows.get('perspectives')!;
    expect(fan.nodes.find((n) => n.id === 'verdict')?.dependsOn).toEqual(['optimist', 'sceptic']);
    expect(fan.nodes.filter((n) => (n.dependsOn ?? []).length === 0).map((n) => n.id)).toEqual(['optimist', 'sceptic']);
    expect(workflows.get('split-bill')!.nodes.map((n) => n.type)).toEqual(['tool', 'tool', 'agent']);
  });

  it('rejects a cycle, naming its path', () => {
    const issues = issuesOf({ id: 'w', name: 'W', nodes: [agent('a', ['c']), agent('b', ['a']), agent('c', ['b'])] });
    expect(issues).toContain('the nodes form a cycle: a -> c -> b -> a');
  });

  it('rejects missing references, self-dependencies and duplicate nodes', () => {
    const issues = issuesOf({
      id: 'w',
      name: 'W',
      output: 'nowhere',
      nodes: [agent('research'), agent('summarise', ['reserch']), agent('loop', ['loop']), agent('research')],
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        'node "research" is defined more than once',
        'node "summarise": dependsOn "reserch" is not a node of this workflow (nodes: research, summarise, loop, research)',
        'node "loop" depends on itself',
        'output "nowhere" is not a node of this workflow (nodes: research, summarise, loop, research)',
      ]),
    );
  });

  it('rejects templates that use a non-parent node, an undeclared input or an unknown tool result', () => {
    const issues = issuesOf({
      id: 'w',
      name: 'W',
      input: { topic: { type: 'string' } },
      nodes: [
        agent('a'),
        agent('b'),
        { id: 'c', type: 'agent', agent: 'x', dependsOn: ['a'], prompt: '{{parents.b.text}} {{input.colour}} {{tools.now.iso}} {{secrets.key}}' },
        { id: 'd', type: 'tool', tool: 'calculator', dependsOn: ['a'], params: { expression: '{{parents.a.text}} + {{oops..x}}' } },
      ],
    });
    expect(issues.join('\n')).toContain('node "c" prompt: "{{parents.b.text}}" uses parent "b", which is not in dependsOn (a)');
    expect(issues.join('\n')).toContain('uses input "colour", which the workflow does not declare (declared: topic)');
    expect(issues.join('\n')).toContain('uses tool result "now", which is not one of this agent\'s tools (none)');
    expect(issues.join('\n')).toContain('"{{secrets.key}}" must start with one of: input, parents, tools');
    expect(issues.join('\n')).toContain('node "d" params: invalid template path "oops..x"');
  });

  it('rejects unknown fields and bad IDs with the path of the problem', () => {
    const issues = issuesOf({ id: 'bad id', name: 'W', nodes: [{ ...agent('a'), depends_on: ['x'] }, { id: 'b', type: 'robot' }] });
    expect(issues.some((i) => i.startsWith('id: must be 1-128 characters'))).toBe(true);
    expect(issues.some((i) => i.startsWith('nodes[0] (id "a")') && i.includes('depends_on'))).toBe(true);
    expect(issues.some((i) => i.startsWith('nodes[1] (id "b")'))).toBe(true);
  });

  it('reports YAML syntax errors and duplicate workflow IDs with the file name', async () => {
    expect(() => parseWorkflow('id: [unclosed', 'broken.yaml')).toThrow(/invalid workflow broken\.yaml:\n {2}- cannot parse/);
    const dir = await mkdtemp(join(tmpdir(), 'workflows-'));
    try {
      const yaml = 'id: same\nname: Same\nnodes:\n  - id: a\n    type: tool\n    tool: clock\n';
      await writeFile(join(dir, 'one.yaml'), yaml);
      await writeFile(join(dir, 'two.json'), JSON.stringify({ id: 'same', name: 'Same', nodes: [{ id: 'a', type: 'tool', tool: 'clock' }] }));
      await writeFile(join(dir, 'notes.txt'), 'not a workflow');
      await expect(loadWorkflows(dir)).rejects.toThrow(`workflow id "same" is already defined in ${join(dir, 'one.yaml')}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('validates execution input against the declared fields and fills defaults', () => {
    const workflow = validateWorkflow({
      id: 'w',
      name: 'W',
      input: { topic: { type: 'string', required: true }, count: { type: 'number', default: 3 }, tags: { type: 'array' } },
      nodes: [agent('a')],
    });
    expect(validateWorkflowInput(workflow, { topic: 'nats' })).toEqual({ ok: true, value: { topic: 'nats', count: 3 } });
    expect(validateWorkflowInput(workflow, { count: 'three', colour: 'red' })).toEqual({
      ok: false,
      issues: ['input "colour" is not declared by workflow "w" (declared: topic, count, tags)', 'input "topic" is required (string)', 'input "count" must be a number'],
    });
  });
});

describe('templates', () => {
  const scope = { input: { topic: 'NATS', n: 2 }, parents: { 'step-1': { text: 'hello', items: [{ name: 'x' }] } } };

  it('renders paths, including hyphenated node IDs and indexes; objects as JSON', () => {
    expect(renderTemplate('About {{ input.topic }}: {{parents.step-1.text}} / {{parents.step-1.items[0].name}} / {{input}}', scope)).toBe(
      'About NATS: hello / x / {"topic":"NATS","n":2}',
    );
  });

  it('keeps the type of a value that is exactly one expression', () => {
    expect(renderValue({ a: '{{input.n}}', b: ['{{parents.step-1.items}}'], c: 'n={{input.n}}', d: 7 }, scope)).toEqual({
      a: 2,
      b: [[{ name: 'x' }]],
      c: 'n=2',
      d: 7,
    });
  });

  it('fails loudly on a missing value instead of rendering an empty string', () => {
    expect(() => renderTemplate('{{input.missing}}', scope)).toThrow(TemplateError);
    expect(() => renderTemplate('{{parents.step-1.items[3]}}', scope)).toThrow('template value "parents.step-1.items[3]" is missing (no "3")');
  });
});

describe('stable event IDs', () => {
  it('are UUID-shaped, deterministic and distinct per input', () => {
    const id = stableEventId('exec-1', 'dispatch', 'node', 1);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(stableEventId('exec-1', 'dispatch', 'node', 1)).toBe(id);
    expect(stableEventId('exec-1', 'dispatch', 'node', 2)).not.toBe(id);
    expect(stableEventId('exec-1', 'dispatchnode', 1)).not.toBe(stableEventId('exec-1', 'dispatch', 'node1'));
  });
});
