/**
 * Which agent a request runs: the one the platform defines under its `agentId`, never a prompt
 * or tool list from the event. A request the platform cannot honour is refused with a
 * {@link DeterministicError} (the client dead-letters it at once; retrying cannot change it):
 *
 * - `UNKNOWN_AGENT`: no workflow defines the agent;
 * - `AGENT_REVISION_MISMATCH`: a 1.1 request's `agentRef.revision` is not the definition this
 *   service holds (the workflow files of the producer and of this service differ);
 * - `TOOL_NOT_ALLOWED` / `AGENT_SPEC_MISMATCH`: a request still carrying an inline definition
 *   (the untyped `agent` field that producers before 1.1 sent) that names a tool the agent does
 *   not have, or differs from the definition otherwise.
 */
import { parseEventVersion } from '@multi-agent/events';
import type { AgentExecutionRequestedEvent } from '@multi-agent/events';
import { agentRevision, agentSpecOf, agentToolCallSchema, agentToolIds, DeterministicError, modelToolDeclarationSchema } from '@multi-agent/service-kit';
import type { AgentDefinition, AgentRegistry } from '@multi-agent/service-kit';
import * as z from 'zod';

/** The inline definition producers before 1.1 sent as the extra field `agent`. */
const inlineSpecSchema = z.strictObject({
  prompt: z.string(),
  model: z.string().optional(),
  maxTokens: z.number().optional(),
  temperature: z.number().optional(),
  tools: z.array(agentToolCallSchema).optional(),
  modelTools: z.array(modelToolDeclarationSchema).optional(),
  maxSteps: z.number().optional(),
});

function checkInlineSpec(agent: AgentDefinition, inline: unknown): void {
  const parsed = inlineSpecSchema.safeParse(inline);
  if (!parsed.success) throw new DeterministicError('AGENT_SPEC_MISMATCH', `the request's inline "agent" field is not the definition of agent "${agent.id}"`);
  const allowed = agentToolIds(agent.spec);
  const foreign = [...agentToolIds(agentSpecOf(parsed.data))].filter((tool) => !allowed.has(tool));
  if (foreign.length > 0) {
    throw new DeterministicError('TOOL_NOT_ALLOWED', `the request names tool(s) ${foreign.map((t) => `"${t}"`).join(', ')}, which agent "${agent.id}" does not have (it has: ${[...allowed].join(', ') || 'none'})`);
  }
  if (agentRevision(agentSpecOf(parsed.data)) !== agent.revision) {
    throw new DeterministicError('AGENT_SPEC_MISMATCH', `the request's inline "agent" field differs from the definition of agent "${agent.id}" (${agent.definedAt})`);
  }
}

/**
 * The definition a request runs.
 *
 * @throws DeterministicError `UNKNOWN_AGENT`, `AGENT_REVISION_MISMATCH`, `TOOL_NOT_ALLOWED` or `AGENT_SPEC_MISMATCH`
 */
export function resolveAgent(registry: AgentRegistry, event: AgentExecutionRequestedEvent): AgentDefinition {
  const { agentId } = event.data;
  const agent = registry.get(agentId);
  if (agent === undefined) {
    const known = registry.ids();
    throw new DeterministicError('UNKNOWN_AGENT', `agent "${agentId}" is not defined by any workflow of this platform (defined: ${known.slice(0, 10).join(', ') || 'none'}${known.length > 10 ? ', ...' : ''})`);
  }
  // agentRef is a field from 1.1 on (validated on receipt); in a 1.0 event it is an unknown extra.
  const minor = parseEventVersion(event.version)?.minor ?? 0;
  const revision = minor >= 1 ? event.data.agentRef?.revision : undefined;
  if (revision !== undefined && revision !== agent.revision) {
    throw new DeterministicError('AGENT_REVISION_MISMATCH', `the request wants revision ${revision} of agent "${agentId}", this service defines revision ${agent.revision} (${agent.definedAt})`);
  }
  const inline = (event.data as { agent?: unknown }).agent;
  if (inline !== undefined) checkInlineSpec(agent, inline);
  return agent;
}
