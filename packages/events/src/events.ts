/**
 * The typed events of the platform: for every subject of {@link EventDataMap}, an `XxxEvent`
 * type and a same-named contract value, so `import { WorkflowExecutionRequestedEvent }` works
 * both as a type and at runtime, as the guide writes it.
 *
 * @packageDocumentation
 */
import { eventContract } from './contracts.js';
import type { EventOf } from './event-map.js';
import { EventSubjects } from './subjects.js';

/** `workflow.created`: the typed event of this subject. */
export type WorkflowCreatedEvent = EventOf<'workflow.created'>;
/** Build, recognise and check `WorkflowCreatedEvent` at runtime (see {@link EventContract}). */
export const WorkflowCreatedEvent = eventContract(EventSubjects.WORKFLOW_CREATED);

/** `workflow.updated`: the typed event of this subject. */
export type WorkflowUpdatedEvent = EventOf<'workflow.updated'>;
/** Build, recognise and check `WorkflowUpdatedEvent` at runtime (see {@link EventContract}). */
export const WorkflowUpdatedEvent = eventContract(EventSubjects.WORKFLOW_UPDATED);

/** `workflow.deleted`: the typed event of this subject. */
export type WorkflowDeletedEvent = EventOf<'workflow.deleted'>;
/** Build, recognise and check `WorkflowDeletedEvent` at runtime (see {@link EventContract}). */
export const WorkflowDeletedEvent = eventContract(EventSubjects.WORKFLOW_DELETED);

/** `workflow.execution.requested`: the typed event of this subject. */
export type WorkflowExecutionRequestedEvent = EventOf<'workflow.execution.requested'>;
/** Build, recognise and check `WorkflowExecutionRequestedEvent` at runtime (see {@link EventContract}). */
export const WorkflowExecutionRequestedEvent = eventContract(EventSubjects.WORKFLOW_EXECUTION_REQUESTED);

/** `execution.started`: the typed event of this subject. */
export type ExecutionStartedEvent = EventOf<'execution.started'>;
/** Build, recognise and check `ExecutionStartedEvent` at runtime (see {@link EventContract}). */
export const ExecutionStartedEvent = eventContract(EventSubjects.EXECUTION_STARTED);

/** `execution.completed`: the typed event of this subject. */
export type ExecutionCompletedEvent = EventOf<'execution.completed'>;
/** Build, recognise and check `ExecutionCompletedEvent` at runtime (see {@link EventContract}). */
export const ExecutionCompletedEvent = eventContract(EventSubjects.EXECUTION_COMPLETED);

/** `execution.failed`: the typed event of this subject. */
export type ExecutionFailedEvent = EventOf<'execution.failed'>;
/** Build, recognise and check `ExecutionFailedEvent` at runtime (see {@link EventContract}). */
export const ExecutionFailedEvent = eventContract(EventSubjects.EXECUTION_FAILED);

/** `execution.cancelled`: the typed event of this subject. */
export type ExecutionCancelledEvent = EventOf<'execution.cancelled'>;
/** Build, recognise and check `ExecutionCancelledEvent` at runtime (see {@link EventContract}). */
export const ExecutionCancelledEvent = eventContract(EventSubjects.EXECUTION_CANCELLED);

/** `execution.resumed`: the typed event of this subject. */
export type ExecutionResumedEvent = EventOf<'execution.resumed'>;
/** Build, recognise and check `ExecutionResumedEvent` at runtime (see {@link EventContract}). */
export const ExecutionResumedEvent = eventContract(EventSubjects.EXECUTION_RESUMED);

/** `execution.node.started`: the typed event of this subject. */
export type ExecutionNodeStartedEvent = EventOf<'execution.node.started'>;
/** Build, recognise and check `ExecutionNodeStartedEvent` at runtime (see {@link EventContract}). */
export const ExecutionNodeStartedEvent = eventContract(EventSubjects.EXECUTION_NODE_STARTED);

/** `execution.node.completed`: the typed event of this subject. */
export type ExecutionNodeCompletedEvent = EventOf<'execution.node.completed'>;
/** Build, recognise and check `ExecutionNodeCompletedEvent` at runtime (see {@link EventContract}). */
export const ExecutionNodeCompletedEvent = eventContract(EventSubjects.EXECUTION_NODE_COMPLETED);

/** `execution.node.failed`: the typed event of this subject. */
export type ExecutionNodeFailedEvent = EventOf<'execution.node.failed'>;
/** Build, recognise and check `ExecutionNodeFailedEvent` at runtime (see {@link EventContract}). */
export const ExecutionNodeFailedEvent = eventContract(EventSubjects.EXECUTION_NODE_FAILED);

/** `agent.created`: the typed event of this subject. */
export type AgentCreatedEvent = EventOf<'agent.created'>;
/** Build, recognise and check `AgentCreatedEvent` at runtime (see {@link EventContract}). */
export const AgentCreatedEvent = eventContract(EventSubjects.AGENT_CREATED);

/** `agent.updated`: the typed event of this subject. */
export type AgentUpdatedEvent = EventOf<'agent.updated'>;
/** Build, recognise and check `AgentUpdatedEvent` at runtime (see {@link EventContract}). */
export const AgentUpdatedEvent = eventContract(EventSubjects.AGENT_UPDATED);

/** `agent.deleted`: the typed event of this subject. */
export type AgentDeletedEvent = EventOf<'agent.deleted'>;
/** Build, recognise and check `AgentDeletedEvent` at runtime (see {@link EventContract}). */
export const AgentDeletedEvent = eventContract(EventSubjects.AGENT_DELETED);

/** `agent.execution.requested`: the typed event of this subject. */
export type AgentExecutionRequestedEvent = EventOf<'agent.execution.requested'>;
/** Build, recognise and check `AgentExecutionRequestedEvent` at runtime (see {@link EventContract}). */
export const AgentExecutionRequestedEvent = eventContract(EventSubjects.AGENT_EXECUTION_REQUESTED);

/** `agent.execution.started`: the typed event of this subject. */
export type AgentExecutionStartedEvent = EventOf<'agent.execution.started'>;
/** Build, recognise and check `AgentExecutionStartedEvent` at runtime (see {@link EventContract}). */
export const AgentExecutionStartedEvent = eventContract(EventSubjects.AGENT_EXECUTION_STARTED);

/** `agent.execution.completed`: the typed event of this subject. */
export type AgentExecutionCompletedEvent = EventOf<'agent.execution.completed'>;
/** Build, recognise and check `AgentExecutionCompletedEvent` at runtime (see {@link EventContract}). */
export const AgentExecutionCompletedEvent = eventContract(EventSubjects.AGENT_EXECUTION_COMPLETED);

/** `agent.execution.failed`: the typed event of this subject. */
export type AgentExecutionFailedEvent = EventOf<'agent.execution.failed'>;
/** Build, recognise and check `AgentExecutionFailedEvent` at runtime (see {@link EventContract}). */
export const AgentExecutionFailedEvent = eventContract(EventSubjects.AGENT_EXECUTION_FAILED);

/** `agent.tool.called`: the typed event of this subject. */
export type AgentToolCalledEvent = EventOf<'agent.tool.called'>;
/** Build, recognise and check `AgentToolCalledEvent` at runtime (see {@link EventContract}). */
export const AgentToolCalledEvent = eventContract(EventSubjects.AGENT_TOOL_CALLED);

/** `tool.execution.requested`: the typed event of this subject. */
export type ToolExecutionRequestedEvent = EventOf<'tool.execution.requested'>;
/** Build, recognise and check `ToolExecutionRequestedEvent` at runtime (see {@link EventContract}). */
export const ToolExecutionRequestedEvent = eventContract(EventSubjects.TOOL_EXECUTION_REQUESTED);

/** `tool.execution.completed`: the typed event of this subject. */
export type ToolExecutionCompletedEvent = EventOf<'tool.execution.completed'>;
/** Build, recognise and check `ToolExecutionCompletedEvent` at runtime (see {@link EventContract}). */
export const ToolExecutionCompletedEvent = eventContract(EventSubjects.TOOL_EXECUTION_COMPLETED);

/** `tool.execution.failed`: the typed event of this subject. */
export type ToolExecutionFailedEvent = EventOf<'tool.execution.failed'>;
/** Build, recognise and check `ToolExecutionFailedEvent` at runtime (see {@link EventContract}). */
export const ToolExecutionFailedEvent = eventContract(EventSubjects.TOOL_EXECUTION_FAILED);

/** `tool.execute.request` (core request/reply): the typed event of this subject. */
export type ToolExecuteRequestEvent = EventOf<'tool.execute.request'>;
/** Build, recognise and check `ToolExecuteRequestEvent` at runtime (see {@link EventContract}). */
export const ToolExecuteRequestEvent = eventContract(EventSubjects.TOOL_EXECUTE_REQUEST);

/** `tool.execute.response` (core request/reply): the typed event of this subject. */
export type ToolExecuteResponseEvent = EventOf<'tool.execute.response'>;
/** Build, recognise and check `ToolExecuteResponseEvent` at runtime (see {@link EventContract}). */
export const ToolExecuteResponseEvent = eventContract(EventSubjects.TOOL_EXECUTE_RESPONSE);

/** `model.inference.requested`: the typed event of this subject. */
export type ModelInferenceRequestedEvent = EventOf<'model.inference.requested'>;
/** Build, recognise and check `ModelInferenceRequestedEvent` at runtime (see {@link EventContract}). */
export const ModelInferenceRequestedEvent = eventContract(EventSubjects.MODEL_INFERENCE_REQUESTED);

/** `model.inference.completed`: the typed event of this subject. */
export type ModelInferenceCompletedEvent = EventOf<'model.inference.completed'>;
/** Build, recognise and check `ModelInferenceCompletedEvent` at runtime (see {@link EventContract}). */
export const ModelInferenceCompletedEvent = eventContract(EventSubjects.MODEL_INFERENCE_COMPLETED);

/** `model.inference.failed`: the typed event of this subject. */
export type ModelInferenceFailedEvent = EventOf<'model.inference.failed'>;
/** Build, recognise and check `ModelInferenceFailedEvent` at runtime (see {@link EventContract}). */
export const ModelInferenceFailedEvent = eventContract(EventSubjects.MODEL_INFERENCE_FAILED);

/** `vector.upserted`: the typed event of this subject. */
export type VectorUpsertedEvent = EventOf<'vector.upserted'>;
/** Build, recognise and check `VectorUpsertedEvent` at runtime (see {@link EventContract}). */
export const VectorUpsertedEvent = eventContract(EventSubjects.VECTOR_UPSERTED);

/** `vector.deleted`: the typed event of this subject. */
export type VectorDeletedEvent = EventOf<'vector.deleted'>;
/** Build, recognise and check `VectorDeletedEvent` at runtime (see {@link EventContract}). */
export const VectorDeletedEvent = eventContract(EventSubjects.VECTOR_DELETED);

/** `vector.search.completed`: the typed event of this subject. */
export type VectorSearchCompletedEvent = EventOf<'vector.search.completed'>;
/** Build, recognise and check `VectorSearchCompletedEvent` at runtime (see {@link EventContract}). */
export const VectorSearchCompletedEvent = eventContract(EventSubjects.VECTOR_SEARCH_COMPLETED);
