/**
 * Runtime schemas (zod v4) of every event's `data`, version 1.0 (and the later minor versions
 * of some), and the types inferred from them.
 *
 * Objects are `z.looseObject`: a field added by a newer producer is kept, not rejected, so
 * consumers can be upgraded after producers (forward compatibility). The exported TypeScript
 * types list only the known fields, so a typo in an object literal is still a compile error.
 *
 * @packageDocumentation
 */
import * as z from 'zod';
import { EventSubjects, SUBJECT_TOKEN_PATTERN } from './subjects.js';

/**
 * The known fields of an object type, without the `[key: string]: unknown` index signature a
 * loose object schema infers (extra fields are still accepted at runtime).
 */
export type KnownFields<T> = {
  [K in keyof T as string extends K ? never : number extends K ? never : symbol extends K ? never : K]: T[K];
};

/** The data type of a loose object schema: its known fields. */
export type InferData<S extends z.ZodType> = KnownFields<z.output<S>>;

/**
 * An ID that becomes a subject token somewhere (`executionId`, `agentId`, `nodeId`,
 * `workflowId`): 1-128 of `A-Z a-z 0-9 _ -`. Checked in the schema so a bad ID is rejected
 * when the event is created, not later when a subject is built from it.
 */
export const subjectTokenSchema = z
  .string()
  .regex(SUBJECT_TOKEN_PATTERN, 'must be 1-128 characters of A-Z a-z 0-9 _ - (it is used as a NATS subject token)');

const nonEmpty = z.string().min(1, 'must not be empty');
const jsonRecord = z.record(z.string(), z.unknown());

/** The error carried by every `*.failed` event (and an error reply). */
export const errorInfoSchema = z.looseObject({
  message: z.string(),
  code: z.string().optional(),
});
/** The error carried by every `*.failed` event: `{ message, code? }`. */
export type ErrorInfo = InferData<typeof errorInfoSchema>;

// ---------------------------------------------------------------------------------------------
// workflow.*

/** Data of `workflow.created`. */
export const workflowCreatedDataSchema = z.looseObject({
  workflowId: subjectTokenSchema,
  name: nonEmpty,
  userId: z.string().optional(),
  definition: jsonRecord.optional(),
});
/** Data of `workflow.created`. */
export type WorkflowCreatedData = InferData<typeof workflowCreatedDataSchema>;

/** Data of `workflow.updated`. */
export const workflowUpdatedDataSchema = z.looseObject({
  workflowId: subjectTokenSchema,
  userId: z.string().optional(),
  changes: jsonRecord.optional(),
});
/** Data of `workflow.updated`. */
export type WorkflowUpdatedData = InferData<typeof workflowUpdatedDataSchema>;

/** Data of `workflow.deleted`. */
export const workflowDeletedDataSchema = z.looseObject({
  workflowId: subjectTokenSchema,
  userId: z.string().optional(),
});
/** Data of `workflow.deleted`. */
export type WorkflowDeletedData = InferData<typeof workflowDeletedDataSchema>;

/** Data of `workflow.execution.requested`: a user asks to run a workflow. */
export const workflowExecutionRequestedDataSchema = z.looseObject({
  workflowId: subjectTokenSchema,
  userId: nonEmpty,
  executionId: subjectTokenSchema,
  input: jsonRecord.optional(),
});
/** Data of `workflow.execution.requested`. */
export type WorkflowExecutionRequestedData = InferData<typeof workflowExecutionRequestedDataSchema>;

// ---------------------------------------------------------------------------------------------
// execution.*

/** Data of `execution.started`. */
export const executionStartedDataSchema = z.looseObject({
  executionId: subjectTokenSchema,
  workflowId: subjectTokenSchema,
  userId: nonEmpty,
});
/** Data of `execution.started`. */
export type ExecutionStartedData = InferData<typeof executionStartedDataSchema>;

/** Data of `execution.completed`. */
export const executionCompletedDataSchema = z.looseObject({
  executionId: subjectTokenSchema,
  workflowId: subjectTokenSchema,
  output: z.unknown().optional(),
  durationMs: z.number().nonnegative().optional(),
});
/** Data of `execution.completed`. */
export type ExecutionCompletedData = InferData<typeof executionCompletedDataSchema>;

/** Data of `execution.failed`. */
export const executionFailedDataSchema = z.looseObject({
  executionId: subjectTokenSchema,
  workflowId: subjectTokenSchema,
  nodeId: subjectTokenSchema.optional(),
  error: errorInfoSchema,
});
/** Data of `execution.failed`. */
export type ExecutionFailedData = InferData<typeof executionFailedDataSchema>;

/** Data of `execution.cancelled`. */
export const executionCancelledDataSchema = z.looseObject({
  executionId: subjectTokenSchema,
  workflowId: subjectTokenSchema,
  userId: z.string().optional(),
  reason: z.string().optional(),
});
/** Data of `execution.cancelled`. */
export type ExecutionCancelledData = InferData<typeof executionCancelledDataSchema>;

/**
 * Data of `execution.resumed`: an execution that failed because one of its events was
 * dead-lettered runs again, because the replay of that DLQ record arrived (`replayEventId`, the
 * replayed event or the one it caused). `error` is the failure it leaves; `nodeId` the node that
 * runs again, when the dead letter was about one.
 */
export const executionResumedDataSchema = z.looseObject({
  executionId: subjectTokenSchema,
  workflowId: subjectTokenSchema,
  nodeId: subjectTokenSchema.optional(),
  dlqSequence: z.number().int().positive(),
  replayEventId: z.string(),
  error: errorInfoSchema,
});
/** Data of `execution.resumed`. */
export type ExecutionResumedData = InferData<typeof executionResumedDataSchema>;

// ---------------------------------------------------------------------------------------------
// execution.node.*

/** Data of `execution.node.started`. */
export const executionNodeStartedDataSchema = z.looseObject({
  executionId: subjectTokenSchema,
  nodeId: subjectTokenSchema,
  nodeType: z.string().optional(),
  input: z.unknown().optional(),
});
/** Data of `execution.node.started`. */
export type ExecutionNodeStartedData = InferData<typeof executionNodeStartedDataSchema>;

/** Data of `execution.node.completed`. */
export const executionNodeCompletedDataSchema = z.looseObject({
  executionId: subjectTokenSchema,
  nodeId: subjectTokenSchema,
  output: z.unknown().optional(),
});
/** Data of `execution.node.completed`. */
export type ExecutionNodeCompletedData = InferData<typeof executionNodeCompletedDataSchema>;

/** Data of `execution.node.failed`. */
export const executionNodeFailedDataSchema = z.looseObject({
  executionId: subjectTokenSchema,
  nodeId: subjectTokenSchema,
  error: errorInfoSchema,
});
/** Data of `execution.node.failed`. */
export type ExecutionNodeFailedData = InferData<typeof executionNodeFailedDataSchema>;

// ---------------------------------------------------------------------------------------------
// agent.*

/** Data of `agent.created`. */
export const agentCreatedDataSchema = z.looseObject({
  agentId: subjectTokenSchema,
  name: nonEmpty,
  userId: z.string().optional(),
  model: z.string().optional(),
  config: jsonRecord.optional(),
});
/** Data of `agent.created`. */
export type AgentCreatedData = InferData<typeof agentCreatedDataSchema>;

/** Data of `agent.updated`. */
export const agentUpdatedDataSchema = z.looseObject({
  agentId: subjectTokenSchema,
  userId: z.string().optional(),
  changes: jsonRecord.optional(),
});
/** Data of `agent.updated`. */
export type AgentUpdatedData = InferData<typeof agentUpdatedDataSchema>;

/** Data of `agent.deleted`. */
export const agentDeletedDataSchema = z.looseObject({
  agentId: subjectTokenSchema,
  userId: z.string().optional(),
});
/** Data of `agent.deleted`. */
export type AgentDeletedData = InferData<typeof agentDeletedDataSchema>;

// ---------------------------------------------------------------------------------------------
// agent.execution.*

/** Data of `agent.execution.requested` version 1.0: run one agent node of an execution. */
export const agentExecutionRequestedDataSchema = z.looseObject({
  agentId: subjectTokenSchema,
  executionId: subjectTokenSchema,
  nodeId: subjectTokenSchema,
  input: z.unknown().optional(),
});

/**
 * Which agent definition to run (`agent.execution.requested` 1.1): its `id` (= `agentId`) and
 * the `revision` of the definition the producer resolved, a digest of its prompt, model and
 * tools. The agent service runs the definition its own registry holds under that id and
 * revision; it never takes a prompt or tools from the event.
 */
export const agentReferenceSchema = z.looseObject({
  id: subjectTokenSchema,
  revision: z.string().regex(/^[0-9a-f]{16,64}$/, 'must be 16-64 lowercase hex digits'),
});
/** The agent reference of `agent.execution.requested` 1.1: `{ id, revision }`. */
export type AgentReference = InferData<typeof agentReferenceSchema>;

/**
 * Data of `agent.execution.requested` version 1.1: version 1.0 plus the typed agent reference
 * `agentRef`, whose `id` must equal `agentId`. A minor version only adds fields, so a consumer
 * that knows only 1.0 reads a 1.1 event with the 1.0 schema.
 */
export const agentExecutionRequestedDataSchemaV1_1 = agentExecutionRequestedDataSchema
  .extend({ agentRef: agentReferenceSchema })
  .refine((data) => data.agentRef.id === data.agentId, { error: 'must name the same agent as agentId', path: ['agentRef', 'id'] });

/**
 * Data of `agent.execution.requested` (versions 1.0 and 1.1): `agentRef` is set from 1.1 on.
 */
export type AgentExecutionRequestedData = InferData<typeof agentExecutionRequestedDataSchema> & {
  /** The agent definition to run (version 1.1 and later). */
  agentRef?: AgentReference;
};

/** Data of `agent.execution.started`. */
export const agentExecutionStartedDataSchema = z.looseObject({
  agentId: subjectTokenSchema,
  executionId: subjectTokenSchema,
  nodeId: subjectTokenSchema,
});
/** Data of `agent.execution.started`. */
export type AgentExecutionStartedData = InferData<typeof agentExecutionStartedDataSchema>;

/** Data of `agent.execution.completed`. */
export const agentExecutionCompletedDataSchema = z.looseObject({
  agentId: subjectTokenSchema,
  executionId: subjectTokenSchema,
  nodeId: subjectTokenSchema,
  output: z.unknown().optional(),
});
/** Data of `agent.execution.completed`. */
export type AgentExecutionCompletedData = InferData<typeof agentExecutionCompletedDataSchema>;

/** Data of `agent.execution.failed`. */
export const agentExecutionFailedDataSchema = z.looseObject({
  agentId: subjectTokenSchema,
  executionId: subjectTokenSchema,
  nodeId: subjectTokenSchema,
  error: errorInfoSchema,
});
/** Data of `agent.execution.failed`. */
export type AgentExecutionFailedData = InferData<typeof agentExecutionFailedDataSchema>;

/**
 * Data of `agent.tool.called`: one tool call an agent made because its model asked for it
 * (step `step` of the node's model/tool loop), with the tool's result or the error the model
 * was told. A record of the step, for the execution's event history: nothing consumes it.
 */
export const agentToolCalledDataSchema = z.looseObject({
  agentId: subjectTokenSchema,
  executionId: subjectTokenSchema,
  nodeId: subjectTokenSchema,
  step: z.int().positive(),
  callId: nonEmpty,
  toolId: nonEmpty,
  input: z.unknown().optional(),
  output: z.unknown().optional(),
  error: errorInfoSchema.optional(),
});
/** Data of `agent.tool.called`. */
export type AgentToolCalledData = InferData<typeof agentToolCalledDataSchema>;

// ---------------------------------------------------------------------------------------------
// tool.execution.* (stored events) and tool.execute.* (core request/reply)

/** Data of `tool.execution.requested`. */
export const toolExecutionRequestedDataSchema = z.looseObject({
  executionId: subjectTokenSchema,
  nodeId: subjectTokenSchema,
  toolId: nonEmpty,
  input: z.unknown().optional(),
});
/** Data of `tool.execution.requested`. */
export type ToolExecutionRequestedData = InferData<typeof toolExecutionRequestedDataSchema>;

/** Data of `tool.execution.completed`. */
export const toolExecutionCompletedDataSchema = z.looseObject({
  executionId: subjectTokenSchema,
  nodeId: subjectTokenSchema,
  toolId: nonEmpty,
  output: z.unknown().optional(),
});
/** Data of `tool.execution.completed`. */
export type ToolExecutionCompletedData = InferData<typeof toolExecutionCompletedDataSchema>;

/** Data of `tool.execution.failed`. */
export const toolExecutionFailedDataSchema = z.looseObject({
  executionId: subjectTokenSchema,
  nodeId: subjectTokenSchema,
  toolId: nonEmpty,
  error: errorInfoSchema,
});
/** Data of `tool.execution.failed`. */
export type ToolExecutionFailedData = InferData<typeof toolExecutionFailedDataSchema>;

/** Data of `tool.execute.request`: run a tool now and reply. */
export const toolExecuteRequestDataSchema = z.looseObject({
  toolId: nonEmpty,
  params: jsonRecord.optional(),
});
/** Data of `tool.execute.request`. */
export type ToolExecuteRequestData = InferData<typeof toolExecuteRequestDataSchema>;

/** Data of `tool.execute.response`: the tool's result, or the error it failed with. */
export const toolExecuteResponseDataSchema = z.looseObject({
  result: z.unknown().optional(),
  error: errorInfoSchema.optional(),
});
/** Data of `tool.execute.response`. */
export type ToolExecuteResponseData = InferData<typeof toolExecuteResponseDataSchema>;

// ---------------------------------------------------------------------------------------------
// model.inference.*

/** Data of `model.inference.requested`. */
export const modelInferenceRequestedDataSchema = z.looseObject({
  executionId: subjectTokenSchema,
  nodeId: subjectTokenSchema.optional(),
  agentId: subjectTokenSchema.optional(),
  prompt: z.string(),
  model: z.string().optional(),
  maxTokens: z.int().positive().optional(),
  temperature: z.number().min(0).max(2).optional(),
  /** Stream tokens to model.token.stream.<executionId> while generating. */
  stream: z.boolean().optional(),
});

/** A tool call the model asks for: the call's `id` (echoed in the result), the tool's `name` and its `arguments`. */
export const modelToolCallSchema = z.looseObject({
  id: nonEmpty,
  name: nonEmpty,
  arguments: jsonRecord,
});
/** A tool call the model asks for. */
export type ModelToolCall = InferData<typeof modelToolCallSchema>;

/**
 * One message of a conversation with the model: the user's prompt, the model's earlier answer
 * (with the tool calls it asked for), or a tool's result (`toolCallId` = the call it answers;
 * `content` = the result as JSON).
 */
export const chatMessageSchema = z.looseObject({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string(),
  toolCalls: z.array(modelToolCallSchema).optional(),
  toolCallId: z.string().optional(),
});
/** One message of a conversation with the model. */
export type ChatMessage = InferData<typeof chatMessageSchema>;

/** A tool offered to the model: its name, what it does, and the JSON Schema of its arguments. */
export const modelToolSchema = z.looseObject({
  name: nonEmpty,
  description: z.string().optional(),
  parameters: jsonRecord.optional(),
});
/** A tool offered to the model. */
export type ModelTool = InferData<typeof modelToolSchema>;

/**
 * Data of `model.inference.requested` version 1.1: 1.0 plus the conversation so far
 * (`messages`, which then replaces `prompt` as the model's input; `prompt` stays the first user
 * message) and the `tools` the model may call.
 */
export const modelInferenceRequestedDataSchemaV1_1 = modelInferenceRequestedDataSchema.extend({
  messages: z.array(chatMessageSchema).min(1).optional(),
  tools: z.array(modelToolSchema).optional(),
});

/** The version of `model.inference.requested` and `.completed` that carries tools and tool calls. */
export const MODEL_TOOL_USE_VERSION = '1.1';

/** Data of `model.inference.requested` (1.0, and from 1.1 `messages` and `tools`). */
export type ModelInferenceRequestedData = InferData<typeof modelInferenceRequestedDataSchema> & {
  /** The conversation so far (1.1). */
  messages?: ChatMessage[];
  /** The tools the model may call (1.1). */
  tools?: ModelTool[];
};

/** Data of `model.inference.completed`. */
export const modelInferenceCompletedDataSchema = z.looseObject({
  executionId: subjectTokenSchema,
  nodeId: subjectTokenSchema.optional(),
  text: z.string(),
  tokenCount: z.int().nonnegative(),
  model: z.string().optional(),
});

/** Data of `model.inference.completed` version 1.1: 1.0 plus the `toolCalls` the model asks for instead of (or with) `text`. */
export const modelInferenceCompletedDataSchemaV1_1 = modelInferenceCompletedDataSchema.extend({
  toolCalls: z.array(modelToolCallSchema).optional(),
});

/** Data of `model.inference.completed` (1.0, and from 1.1 `toolCalls`). */
export type ModelInferenceCompletedData = InferData<typeof modelInferenceCompletedDataSchema> & {
  /** The tool calls the model asks for (1.1). */
  toolCalls?: ModelToolCall[];
};

/** Data of `model.inference.failed`. */
export const modelInferenceFailedDataSchema = z.looseObject({
  executionId: subjectTokenSchema,
  nodeId: subjectTokenSchema.optional(),
  model: z.string().optional(),
  error: errorInfoSchema,
});
/** Data of `model.inference.failed`. */
export type ModelInferenceFailedData = InferData<typeof modelInferenceFailedDataSchema>;

// ---------------------------------------------------------------------------------------------
// model.token.* — not an event: the body of each message on model.token.stream.<executionId>

/**
 * Body of one token message on `model.token.stream.<executionId>`: `{ token, isComplete, seq, nodeId? }`.
 * `seq` orders the whole stream; `nodeId` is the workflow node whose inference produced the
 * token (absent from producers that predate it, and on the completion token of an execution).
 */
export const tokenMessageSchema = z.looseObject({
  token: z.string(),
  isComplete: z.boolean(),
  seq: z.int().nonnegative(),
  nodeId: subjectTokenSchema.optional(),
});
/** Body of one token message: the token text, whether the stream ends here, its order, and the node that produced it. */
export type TokenMessage = InferData<typeof tokenMessageSchema>;

// ---------------------------------------------------------------------------------------------
// vector.*

/** Data of `vector.upserted`. */
export const vectorUpsertedDataSchema = z.looseObject({
  collection: nonEmpty,
  ids: z.array(nonEmpty),
});
/** Data of `vector.upserted`. */
export type VectorUpsertedData = InferData<typeof vectorUpsertedDataSchema>;

/** Data of `vector.deleted`. */
export const vectorDeletedDataSchema = z.looseObject({
  collection: nonEmpty,
  ids: z.array(nonEmpty),
});
/** Data of `vector.deleted`. */
export type VectorDeletedData = InferData<typeof vectorDeletedDataSchema>;

/** One hit of a vector search. */
export const vectorSearchHitSchema = z.looseObject({
  id: nonEmpty,
  score: z.number(),
  metadata: jsonRecord.optional(),
});

/** Data of `vector.search.completed`. */
export const vectorSearchCompletedDataSchema = z.looseObject({
  collection: nonEmpty,
  executionId: subjectTokenSchema.optional(),
  nodeId: subjectTokenSchema.optional(),
  query: z.string().optional(),
  results: z.array(vectorSearchHitSchema),
});
/** Data of `vector.search.completed`. */
export type VectorSearchCompletedData = InferData<typeof vectorSearchCompletedDataSchema>;

// ---------------------------------------------------------------------------------------------

/**
 * The data schema of every platform event, by subject (version 1.0). Prefixes and patterns
 * (`model.token.stream`, `dlq`, `dlq.*`) have none here.
 */
export const eventDataSchemas = {
  [EventSubjects.WORKFLOW_CREATED]: workflowCreatedDataSchema,
  [EventSubjects.WORKFLOW_UPDATED]: workflowUpdatedDataSchema,
  [EventSubjects.WORKFLOW_DELETED]: workflowDeletedDataSchema,
  [EventSubjects.WORKFLOW_EXECUTION_REQUESTED]: workflowExecutionRequestedDataSchema,
  [EventSubjects.EXECUTION_STARTED]: executionStartedDataSchema,
  [EventSubjects.EXECUTION_COMPLETED]: executionCompletedDataSchema,
  [EventSubjects.EXECUTION_FAILED]: executionFailedDataSchema,
  [EventSubjects.EXECUTION_CANCELLED]: executionCancelledDataSchema,
  [EventSubjects.EXECUTION_RESUMED]: executionResumedDataSchema,
  [EventSubjects.EXECUTION_NODE_STARTED]: executionNodeStartedDataSchema,
  [EventSubjects.EXECUTION_NODE_COMPLETED]: executionNodeCompletedDataSchema,
  [EventSubjects.EXECUTION_NODE_FAILED]: executionNodeFailedDataSchema,
  [EventSubjects.AGENT_CREATED]: agentCreatedDataSchema,
  [EventSubjects.AGENT_UPDATED]: agentUpdatedDataSchema,
  [EventSubjects.AGENT_DELETED]: agentDeletedDataSchema,
  [EventSubjects.AGENT_EXECUTION_REQUESTED]: agentExecutionRequestedDataSchema,
  [EventSubjects.AGENT_EXECUTION_STARTED]: agentExecutionStartedDataSchema,
  [EventSubjects.AGENT_EXECUTION_COMPLETED]: agentExecutionCompletedDataSchema,
  [EventSubjects.AGENT_EXECUTION_FAILED]: agentExecutionFailedDataSchema,
  [EventSubjects.AGENT_TOOL_CALLED]: agentToolCalledDataSchema,
  [EventSubjects.TOOL_EXECUTION_REQUESTED]: toolExecutionRequestedDataSchema,
  [EventSubjects.TOOL_EXECUTION_COMPLETED]: toolExecutionCompletedDataSchema,
  [EventSubjects.TOOL_EXECUTION_FAILED]: toolExecutionFailedDataSchema,
  [EventSubjects.TOOL_EXECUTE_REQUEST]: toolExecuteRequestDataSchema,
  [EventSubjects.TOOL_EXECUTE_RESPONSE]: toolExecuteResponseDataSchema,
  [EventSubjects.MODEL_INFERENCE_REQUESTED]: modelInferenceRequestedDataSchema,
  [EventSubjects.MODEL_INFERENCE_COMPLETED]: modelInferenceCompletedDataSchema,
  [EventSubjects.MODEL_INFERENCE_FAILED]: modelInferenceFailedDataSchema,
  [EventSubjects.VECTOR_UPSERTED]: vectorUpsertedDataSchema,
  [EventSubjects.VECTOR_DELETED]: vectorDeletedDataSchema,
  [EventSubjects.VECTOR_SEARCH_COMPLETED]: vectorSearchCompletedDataSchema,
} as const;

/**
 * The platform's data schemas of versions after 1.0, by subject and version. Every one only
 * adds fields to the version before it (docs/architecture.md, "Versions").
 */
export const laterEventDataSchemas: Readonly<Record<string, Readonly<Record<string, z.ZodType>>>> = {
  [EventSubjects.AGENT_EXECUTION_REQUESTED]: { '1.1': agentExecutionRequestedDataSchemaV1_1 },
  [EventSubjects.MODEL_INFERENCE_REQUESTED]: { '1.1': modelInferenceRequestedDataSchemaV1_1 },
  [EventSubjects.MODEL_INFERENCE_COMPLETED]: { '1.1': modelInferenceCompletedDataSchemaV1_1 },
};
