/**
 * The agents the platform defines. An agent is defined by the agent nodes of the workflow files
 * (`agent: <id>` with its prompt, model and tools); the agent service runs only these
 * definitions, looked up by agent id, never a prompt or tool list taken from an event. One id
 * names one definition across every workflow: two nodes may share an agent only when they
 * define it identically.
 */
import { createHash } from 'node:crypto';
import type { AgentNode, AgentSpec, WorkflowDefinition } from './schema.js';
import { WorkflowDefinitionError } from './validate.js';

/** One agent of the platform: its id, what it runs, and the revision of that definition. */
export interface AgentDefinition {
  id: string;
  spec: AgentSpec;
  /** A digest of `spec` (16 hex digits): two processes agree on a definition when their revisions match. */
  revision: string;
  /** Where it is defined, e.g. `workflow "research-summary" node "research"`. */
  definedAt: string;
}

/** What an agent node asks the agent to run: its prompt, model settings and tools. */
export function agentSpecOf(node: Pick<AgentNode, 'prompt' | 'model' | 'maxTokens' | 'temperature' | 'tools' | 'modelTools' | 'maxSteps'>): AgentSpec {
  return {
    prompt: node.prompt,
    ...(node.model === undefined ? {} : { model: node.model }),
    ...(node.maxTokens === undefined ? {} : { maxTokens: node.maxTokens }),
    ...(node.temperature === undefined ? {} : { temperature: node.temperature }),
    ...(node.tools === undefined ? {} : { tools: node.tools }),
    ...(node.modelTools === undefined ? {} : { modelTools: node.modelTools }),
    ...(node.maxSteps === undefined ? {} : { maxSteps: node.maxSteps }),
  };
}

/** Every tool an agent may use: those it calls before prompting, and those its model may call. */
export function agentToolIds(spec: AgentSpec): Set<string> {
  return new Set([...(spec.tools ?? []).map((t) => t.tool), ...(spec.modelTools ?? []).map((t) => t.tool)]);
}

// JSON with object keys sorted, so the digest does not depend on the key order of a file.
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The revision of an agent definition: the first 16 hex digits of the SHA-256 of its canonical JSON. */
export function agentRevision(spec: AgentSpec): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex').slice(0, 16);
}

/** The agents of a set of workflows, by id. */
export class AgentRegistry {
  private constructor(private readonly agents: ReadonlyMap<string, AgentDefinition>) {}

  /**
   * Collects the agents the workflows' agent nodes define.
   *
   * @throws WorkflowDefinitionError when one agent id is defined differently by two nodes
   */
  static fromWorkflows(workflows: ReadonlyMap<string, WorkflowDefinition>): AgentRegistry {
    const agents = new Map<string, AgentDefinition>();
    const issues: string[] = [];
    for (const workflow of workflows.values()) {
      for (const node of workflow.nodes) {
        if (node.type !== 'agent') continue;
        const spec = agentSpecOf(node);
        const definition: AgentDefinition = { id: node.agent, spec, revision: agentRevision(spec), definedAt: `workflow "${workflow.id}" node "${node.id}"` };
        const other = agents.get(node.agent);
        if (other === undefined) agents.set(node.agent, definition);
        else if (other.revision !== definition.revision) {
          issues.push(`agent "${node.agent}" is defined differently by ${other.definedAt} and ${definition.definedAt} (an agent id names one definition)`);
        }
      }
    }
    if (issues.length > 0) throw new WorkflowDefinitionError('workflows', issues);
    return new AgentRegistry(agents);
  }

  /** The agent defined under `id`, if any. */
  get(id: string): AgentDefinition | undefined {
    return this.agents.get(id);
  }

  /** Every agent id, sorted. */
  ids(): string[] {
    return [...this.agents.keys()].sort();
  }
}
