/**
 * The shape of a workflow file: a DAG of agent and tool nodes. Objects are strict, so a typo
 * such as `depends_on` is an error on load instead of a silently ignored field.
 */
import { SUBJECT_TOKEN_PATTERN } from '@multi-agent/events';
import * as z from 'zod';

const id = z
  .string()
  .regex(SUBJECT_TOKEN_PATTERN, 'must be 1-128 characters of A-Z a-z 0-9 _ - (it becomes a NATS subject token)');
const name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'must be a name like "topic" or "max_items"');

/** One declared input field of a workflow. */
export const workflowInputFieldSchema = z.strictObject({
  type: z.enum(['string', 'number', 'boolean', 'object', 'array']),
  description: z.string().optional(),
  required: z.boolean().optional(),
  default: z.unknown().optional(),
});

/** A tool an agent calls (by request/reply) before it prompts the model; the result is `tools.<as>`. */
export const agentToolCallSchema = z.strictObject({
  as: name,
  tool: z.string().min(1),
  params: z.record(z.string(), z.unknown()).optional(),
});

/**
 * A tool the agent's model may choose to call (by its tool id), and what the model is told about
 * it. The agent runs such a call through the tool service and gives the result back to the model.
 */
export const modelToolDeclarationSchema = z.strictObject({
  tool: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a tool id of 1-64 characters of A-Z a-z 0-9 _ - (models name tools so)'),
  description: z.string().optional(),
  /** JSON Schema of the call's arguments (default: any object). */
  parameters: z.record(z.string(), z.unknown()).optional(),
});

const nodeBase = {
  id,
  description: z.string().optional(),
  /** Nodes whose outputs this node needs; it starts when all of them completed. */
  dependsOn: z.array(id).optional(),
  /** Fail the node when it has not finished this long after it started (ms). */
  timeoutMs: z.int().positive().optional(),
};

/** A node run by the agent service: a prompt template over the node input, sent to a model. */
export const agentNodeSchema = z.strictObject({
  ...nodeBase,
  type: z.literal('agent'),
  agent: id,
  prompt: z.string().min(1),
  model: z.string().optional(),
  maxTokens: z.int().positive().optional(),
  temperature: z.number().min(0).max(2).optional(),
  tools: z.array(agentToolCallSchema).optional(),
  /** Tools the model may call, as many times as it likes within `maxSteps`. */
  modelTools: z.array(modelToolDeclarationSchema).optional(),
  /** Model calls at most (each answer asking for tools is one); default the agent service's `AGENT_MAX_STEPS`. */
  maxSteps: z.int().positive().max(100).optional(),
});

/** A node run by the tool service: one tool with templated parameters. */
export const toolNodeSchema = z.strictObject({
  ...nodeBase,
  type: z.literal('tool'),
  tool: z.string().min(1),
  params: z.record(z.string(), z.unknown()).optional(),
});

/** A node of a workflow. */
export const workflowNodeSchema = z.discriminatedUnion('type', [agentNodeSchema, toolNodeSchema]);

/** A workflow file. */
export const workflowDefinitionSchema = z.strictObject({
  id,
  name: z.string().min(1),
  description: z.string().optional(),
  input: z.record(name, workflowInputFieldSchema).optional(),
  nodes: z.array(workflowNodeSchema).min(1, 'a workflow needs at least one node'),
  /** The node whose output is the execution's output; default: the only leaf, or an object of all leaves. */
  output: id.optional(),
});

/** One declared input field. */
export type WorkflowInputField = z.output<typeof workflowInputFieldSchema>;
/** A tool call an agent makes before prompting. */
export type AgentToolCall = z.output<typeof agentToolCallSchema>;
/** A tool the agent's model may call. */
export type ModelToolDeclaration = z.output<typeof modelToolDeclarationSchema>;
/** An agent node. */
export type AgentNode = z.output<typeof agentNodeSchema>;
/** A tool node. */
export type ToolNode = z.output<typeof toolNodeSchema>;
/** Any node. */
export type WorkflowNode = z.output<typeof workflowNodeSchema>;
/** A validated workflow. */
export type WorkflowDefinition = z.output<typeof workflowDefinitionSchema>;

/** What an agent runs: the prompt, model settings and tools of its definition (see `agents.ts`). */
export interface AgentSpec {
  prompt: string;
  model?: string;
  maxTokens?: number;
  temperature?: number;
  tools?: AgentToolCall[];
  modelTools?: ModelToolDeclaration[];
  maxSteps?: number;
}

/** The input of every node: the workflow input and the outputs of its direct parents. */
export interface NodeInput {
  input: Record<string, unknown>;
  parents: Record<string, unknown>;
}
