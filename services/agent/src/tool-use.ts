/**
 * Letting the model choose tools. The agent offers the model the tools its definition lists in
 * `modelTools`; while the model's answer asks for tool calls, the agent runs them through the
 * tool service (request/reply), records each as an `agent.tool.called` event, and asks the model
 * again with the conversation so far, the results included. One model call is one step; a model
 * still asking for tools after `maxSteps` steps fails the node (`AGENT_MAX_STEPS`).
 *
 * A tool the model names that the definition does not list is not run: the model is told
 * (`TOOL_NOT_ALLOWED` as the call's result) and may answer without it, since models misname tools
 * and a failed node would throw away the work so far; the step limit still bounds the loop.
 * A tool that rejects its input is reported to the model the same way. A tool service that does
 * not answer is not the model's business: that error is thrown, and the request retried.
 *
 * Causation: step 1's model request is caused by the agent request; each `agent.tool.called` by
 * the model answer that asked for it; each later model request by the last tool call before it.
 * Every id derives from the agent request's, so a re-run publishes the same events and finds the
 * model's answers instead of paying for them again.
 */
import { EventSubjects, MODEL_TOOL_USE_VERSION } from '@multi-agent/events';
import type { ChatMessage, ErrorInfo, ModelInferenceCompletedEvent, ModelInferenceRequestedData, ModelTool, ModelToolCall } from '@multi-agent/events';
import type { HandlerContext, NatsClient } from '@multi-agent/nats-client';
import { callTool, stableEventId, ToolCallError } from '@multi-agent/service-kit';
import type { ModelToolDeclaration } from '@multi-agent/service-kit';
import { requestInference } from './model-call.js';

/** The model still asked for tools after the last step allowed. */
export class StepLimitError extends Error {
  readonly code = 'AGENT_MAX_STEPS';
  constructor(readonly maxSteps: number) {
    super(`the model still asked for tools after ${maxSteps} steps (the limit of this agent)`);
    this.name = 'StepLimitError';
  }
}

/** One run of the loop: who runs it, and its limits. */
export interface ToolUseRun {
  client: NatsClient;
  ctx: HandlerContext;
  /** The handled `agent.execution.requested`. */
  request: { eventId: string; correlationId?: string | undefined; data: { agentId: string; executionId: string; nodeId: string } };
  modelTools: readonly ModelToolDeclaration[];
  maxSteps: number;
  modelTimeoutMs: number;
  toolTimeoutMs: number;
}

/** What the loop ends with: the model's final answer, how many steps it took, and the tokens of all of them. */
export interface ToolUseResult {
  answer: ModelInferenceCompletedEvent;
  steps: number;
  tokenCount: number;
}

function offered(declarations: readonly ModelToolDeclaration[]): ModelTool[] {
  return declarations.map((d) => ({
    name: d.tool,
    ...(d.description === undefined ? {} : { description: d.description }),
    ...(d.parameters === undefined ? {} : { parameters: d.parameters }),
  }));
}

/** Runs one call the model asked for; the result or the error it is told. */
async function runCall(run: ToolUseRun, allowed: ReadonlySet<string>, call: ModelToolCall, causationId: string): Promise<{ output: unknown } | { error: ErrorInfo }> {
  if (!allowed.has(call.name)) {
    return { error: { code: 'TOOL_NOT_ALLOWED', message: `tool "${call.name}" is not one this agent may call (it may call: ${[...allowed].join(', ')})` } };
  }
  try {
    const output = await callTool(run.client, call.name, call.arguments, {
      timeoutMs: run.toolTimeoutMs,
      ...(run.request.correlationId === undefined ? {} : { correlationId: run.request.correlationId }),
      causationId,
    });
    return { output };
  } catch (err) {
    if (err instanceof ToolCallError && !err.retryable) return { error: { code: err.code, message: err.message } };
    throw err;
  }
}

/**
 * Asks the model with `request` (the prompt and model settings), offering the run's tools, until
 * it answers without tool calls.
 *
 * @throws StepLimitError when it still asks for tools after `maxSteps` steps
 * @throws ModelCallError, or a retryable ToolCallError when no tool service answered
 */
export async function inferWithTools(run: ToolUseRun, request: ModelInferenceRequestedData): Promise<ToolUseResult> {
  const { ctx, request: agentRequest } = run;
  const { agentId, executionId, nodeId } = agentRequest.data;
  const allowed = new Set(run.modelTools.map((t) => t.tool));
  const tools = offered(run.modelTools);
  const messages: ChatMessage[] = [{ role: 'user', content: request.prompt }];
  let causationId = agentRequest.eventId;
  let tokenCount = 0;
  for (let step = 1; step <= run.maxSteps; step++) {
    ctx.signal.throwIfAborted();
    const answer = await requestInference(run.client, ctx, { ...request, messages: [...messages], tools }, {
      eventId: stableEventId(agentRequest.eventId, 'model-requested', step),
      timeoutMs: run.modelTimeoutMs,
      version: MODEL_TOOL_USE_VERSION,
      causationId,
    });
    tokenCount += answer.data.tokenCount;
    const calls = answer.data.toolCalls ?? [];
    if (calls.length === 0) return { answer, steps: step, tokenCount };
    messages.push({ role: 'assistant', content: answer.data.text, toolCalls: calls });
    for (const [index, call] of calls.entries()) {
      ctx.signal.throwIfAborted();
      const result = await runCall(run, allowed, call, answer.eventId);
      const recorded = await ctx.publish({
        eventId: stableEventId(agentRequest.eventId, 'tool-called', step, index),
        eventType: EventSubjects.AGENT_TOOL_CALLED,
        causationId: answer.eventId,
        data: { agentId, executionId, nodeId, step, callId: call.id, toolId: call.name, input: call.arguments, ...result },
      });
      causationId = recorded.eventId;
      messages.push({ role: 'tool', toolCallId: call.id, content: JSON.stringify(result) });
    }
  }
  throw new StepLimitError(run.maxSteps);
}
