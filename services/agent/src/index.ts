/**
 * `@multi-agent/agent-service`: runs the agent nodes of workflows (prompt templates, tool calls
 * by request/reply, model inference over the bus).
 *
 * @packageDocumentation
 */
export { agentDefaults, startAgentService } from './agent-service.js';
export type { AgentServiceOptions } from './agent-service.js';
export { ModelCallError, requestInference } from './model-call.js';
export { inferWithTools, StepLimitError } from './tool-use.js';
export type { ToolUseResult, ToolUseRun } from './tool-use.js';
export type { InferenceCallOptions } from './model-call.js';
