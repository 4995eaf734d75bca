import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentRegistry, agentRevision, agentToolIds, loadWorkflows, validateWorkflow, WorkflowDefinitionError } from '@multi-agent/service-kit';
import type { WorkflowDefinition } from '@multi-agent/service-kit';

const workflow = (id: string, nodes: unknown[]): WorkflowDefinition => validateWorkflow({ id, name: id, nodes });
const registryOf = (...workflows: WorkflowDefinition[]): AgentRegistry => AgentRegistry.fromWorkflows(new Map(workflows.map((w) => [w.id, w])));

describe('the agent registry', () => {
  it('defines each agent of the shipped workflows once, by id, with the spec of its node', async () => {
    const registry = AgentRegistry.fromWorkflows(await loadWorkflows());
    expect(registry.ids()).toEqual(['judge', 'optimist', 'researcher', 'sceptic', 'summariser', 'writer']);
    const researcher = registry.get('researcher')!;
    expect(researcher.spec.tools).toEqual([{ as: 'today', tool: 'clock' }]);
    expect(researcher.revision).toMatch(/^[0-9a-f]{16}$/);
    expect(researcher.definedAt).toBe('workflow "research-summary" node "research"');
    expect(registry.get('nobody')).toBeUndefined();
  });

  it('a revision depends on the definition, not on the order of its keys', () => {
    const spec = { prompt: 'p', tools: [{ as: 'a', tool: 'calculator', params: { x: 1, y: 2 } }] };
    expect(agentRevision(spec)).toBe(agentRevision({ tools: [{ params: { y: 2, x: 1 }, tool: 'calculator', as: 'a' }], prompt: 'p' }));
    expect(agentRevision(spec)).not.toBe(agentRevision({ ...spec, prompt: 'q' }));
    expect(agentRevision(spec)).not.toBe(agentRevision({ ...spec, model: 'm' }));
  });

  it('an agent may use the tools it calls before prompting and those its model may call; duplicates in modelTools are refused', () => {
    const registry = registryOf(
      workflow('w', [{ id: 'a', type: 'agent', agent: 'solver', prompt: 'p', tools: [{ as: 't', tool: 'clock' }], modelTools: [{ tool: 'calculator' }], maxSteps: 3 }]),
    );
    const solver = registry.get('solver')!;
    expect([...agentToolIds(solver.spec)].sort()).toEqual(['calculator', 'clock']);
    expect(solver.spec).toMatchObject({ modelTools: [{ tool: 'calculator' }], maxSteps: 3 });
    expect(solver.revision).not.toBe(agentRevision({ ...solver.spec, maxSteps: 4 }));
    expect(() => workflow('w', [{ id: 'a', type: 'agent', agent: 'x', prompt: 'p', modelTools: [{ tool: 'clock' }, { tool: 'clock' }] }])).toThrow('a tool is listed twice in modelTools');
  });

  it('lets two nodes share an agent they define identically, and refuses one id with two definitions', () => {
    const same = registryOf(
      workflow('one', [{ id: 'a', type: 'agent', agent: 'shared', prompt: 'hello' }]),
      workflow('two', [{ id: 'b', type: 'agent', agent: 'shared', prompt: 'hello' }]),
    );
    expect(same.ids()).toEqual(['shared']);
    let thrown: unknown;
    try {
      registryOf(
        workflow('one', [{ id: 'a', type: 'agent', agent: 'shared', prompt: 'hello' }]),
        workflow('two', [{ id: 'b', type: 'agent', agent: 'shared', prompt: 'goodbye' }]),
      );
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(WorkflowDefinitionError);
    expect((thrown as WorkflowDefinitionError).issues).toEqual([
      'agent "shared" is defined differently by workflow "one" node "a" and workflow "two" node "b" (an agent id names one definition)',
    ]);
  });

  it('loading workflow files refuses files that define one agent differently', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'workflows-'));
    try {
      await writeFile(join(dir, 'one.yaml'), 'id: one\nname: One\nnodes:\n  - { id: a, type: agent, agent: shared, prompt: hello }\n');
      await writeFile(join(dir, 'two.yaml'), 'id: two\nname: Two\nnodes:\n  - { id: b, type: agent, agent: shared, prompt: goodbye }\n');
      await expect(loadWorkflows(dir)).rejects.toThrow('agent "shared" is defined differently by workflow "one" node "a" and workflow "two" node "b"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
