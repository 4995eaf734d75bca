/**
 * The agent service on the bus: consumes `agent.execution.requested` (durable, shared by
 * replicas), runs the agent and publishes `agent.execution.started`, then
 * `agent.execution.completed` (output `{ text, tokenCount, model, tools?, steps? }`) or
 * `agent.execution.failed`. Every instance hears `execution.cancelled` and aborts the nodes of
 * that execution it runs (reported failed with `EXECUTION_CANCELLED`). Running an agent means:
 * resolve the request to an agent the workflows define (`agent-resolution.ts`; a request the
 * platform cannot honour goes to the DLQ), call its declared tools by request/reply
 * (`tool.execute.request`), render its prompt template over the node input and the tool
 * results, and ask the model service for the completion (see `model-call.ts`), letting the
 * model call the tools of its `modelTools` on the way (see `tool-use.ts`).
 *
 * Every event it publishes has an eventId derived from the request's, so an agent that is
 * killed mid-node and handles the redelivered request again publishes the same events again:
 * JetStream and the consumers' idempotency stores keep one of each.
 */
import { EventSubjects } from '@multi-agent/events';
import type { AgentExecutionRequestedEvent, ModelInferenceCompletedEvent } from '@multi-agent/events';
import type { HandlerContext, NatsClient, Subscription } from '@multi-agent/nats-client';
import { AgentRegistry, callTool, ClaimCheckStore, classifyingHandler, counter, DeterministicError, isDeterministic, renderTemplate, renderValue, stableEventId, TemplateError, ToolCallError } from '@multi-agent/service-kit';
import type { StopService, WorkflowDefinition } from '@multi-agent/service-kit';
import * as z from 'zod';
import { resolveAgent } from './agent-resolution.js';
import { Cancellations, ExecutionCancelledError } from './cancellations.js';
import { ModelCallError, requestInference } from './model-call.js';
import { inferWithTools, StepLimitError } from './tool-use.js';

/** Options of {@link startAgentService}. */
export interface AgentServiceOptions {
  /** The workflows whose agent nodes define the agents this service runs (by agent id). */
  workflows: ReadonlyMap<string, WorkflowDefinition>;
  /** Agents running at once (default 8). */
  concurrency?: number;
  /** How long to wait for the model's answer (ms, default 120 000). */
  modelTimeoutMs?: number;
  /** How long to wait for each tool (ms, default 10 000). */
  toolTimeoutMs?: number;
  /** Model calls at most for an agent whose model chooses tools, unless its definition says (default 8). */
  maxSteps?: number;
}

const nodeInputSchema = z.looseObject({
  input: z.record(z.string(), z.unknown()).default({}),
  parents: z.record(z.string(), z.unknown()).default({}),
});

/** A request the agent cannot run, whatever the attempt. */
class InvalidAgentRequest extends Error {
  readonly code = 'INVALID_AGENT_REQUEST';
}

function failureCode(err: unknown): string {
  if (err instanceof DeterministicError) return err.kind;
  if (err instanceof ToolCallError || err instanceof ModelCallError || err instanceof TemplateError || err instanceof InvalidAgentRequest || err instanceof ExecutionCancelledError || err instanceof StepLimitError) return err.code;
  return 'AGENT_ERROR';
}

/** Retrying helps only when something did not answer; a tool or model that said no says no again. */
function isTransient(err: unknown): boolean {
  if (err instanceof ToolCallError) return err.retryable;
  if (isDeterministic(err)) return false;
  return !(err instanceof ModelCallError || err instanceof TemplateError || err instanceof InvalidAgentRequest || err instanceof StepLimitError);
}

/** The agent service's settings when neither the caller nor the environment sets them. */
export const agentDefaults = { concurrency: 8, modelTimeoutMs: 120_000, toolTimeoutMs: 10_000, maxSteps: 8 } as const;

/**
 * Starts the agent service on a connected client.
 *
 * @returns a function that stops its subscription (the client stays open)
 */
export async function startAgentService(client: NatsClient, options: AgentServiceOptions): Promise<StopService> {
  const { concurrency, modelTimeoutMs, toolTimeoutMs, maxSteps } = { ...agentDefaults, ...options };
  const agents = AgentRegistry.fromWorkflows(options.workflows);
  const claims = await ClaimCheckStore.open(client.jetstream.js, { replicas: client.config.replicas });
  const runs = counter(client.metrics.registry, 'agent_runs_total', 'Agent runs, by agent and outcome.', ['agent', 'outcome']);

  const cancellations = new Cancellations();
  await cancellations.start(client);

  const handle = async (event: AgentExecutionRequestedEvent, handlerCtx: HandlerContext): Promise<void> => {
    const { agentId, executionId, nodeId } = event.data;
    // Before anything is published: a request naming no agent of the platform is refused (DLQ).
    const { spec } = resolveAgent(agents, event);
    const id = (kind: string): string => stableEventId(event.eventId, kind);
    // The run's signal also aborts when its execution is cancelled: the model call stops waiting.
    const run = cancellations.track(executionId, handlerCtx.signal);
    const ctx: HandlerContext = { ...handlerCtx, signal: run.signal };
    await ctx.publish({ eventId: id('agent-started'), eventType: EventSubjects.AGENT_EXECUTION_STARTED, data: { agentId, executionId, nodeId } });
    try {
      run.signal.throwIfAborted();
      const input = nodeInputSchema.safeParse(event.data.input ?? {});
      if (!input.success) throw new InvalidAgentRequest('node input must be { input: object, parents: object }');

      const tools: Record<string, unknown> = {};
      for (const call of spec.tools ?? []) {
        run.signal.throwIfAborted();
        const params = renderValue(call.params ?? {}, input.data) as Record<string, unknown>;
        tools[call.as] = await callTool(client, call.tool, params, {
          timeoutMs: toolTimeoutMs,
          ...(event.correlationId === undefined ? {} : { correlationId: event.correlationId }),
          causationId: event.eventId,
        });
      }
      run.signal.throwIfAborted();
      // Tools get claim-checked inputs as references (the tool service fetches them); the prompt
      // is rendered over the stored content.
      const prompt = renderTemplate(spec.prompt, { ...input.data, input: await claims.resolve(input.data.input), tools });
      const { model, maxTokens, temperature, modelTools } = spec;
      const inference = {
        executionId,
        nodeId,
        agentId,
        prompt,
        stream: true,
        ...(model === undefined ? {} : { model }),
        ...(maxTokens === undefined ? {} : { maxTokens }),
        ...(temperature === undefined ? {} : { temperature }),
      };
      // With tools for the model to choose, the answer comes out of a loop of steps; without, from one call.
      const singleCall = async (): Promise<{ answer: ModelInferenceCompletedEvent; steps?: number; tokenCount: number }> => {
        const answer = await requestInference(client, ctx, inference, { eventId: id('model-requested'), timeoutMs: modelTimeoutMs });
        return { answer, tokenCount: answer.data.tokenCount };
      };
      const result =
        modelTools === undefined || modelTools.length === 0
          ? await singleCall()
          : await inferWithTools({ client, ctx, request: event, modelTools, maxSteps: spec.maxSteps ?? maxSteps, modelTimeoutMs, toolTimeoutMs }, inference);
      const { answer, tokenCount } = result;
      await ctx.publish({
        eventId: id('agent-completed'),
        eventType: EventSubjects.AGENT_EXECUTION_COMPLETED,
        data: {
          agentId,
          executionId,
          nodeId,
          output: {
            text: answer.data.text,
            tokenCount,
            model: answer.data.model,
            ...(Object.keys(tools).length === 0 ? {} : { tools }),
            ...(result.steps === undefined ? {} : { steps: result.steps }),
          },
        },
      });
      runs.inc({ agent: agentId, outcome: 'completed' });
    } catch (err) {
      // A cancelled execution's node is reported (and acknowledged) as such; nothing will retry it.
      const cancelled = !handlerCtx.signal.aborted && run.signal.reason instanceof ExecutionCancelledError ? run.signal.reason : undefined;
      // Stopping or crashing halfway: leave the request to redelivery rather than report a failure.
      if (cancelled === undefined && (handlerCtx.signal.aborted || (isTransient(err) && ctx.attempt < ctx.maxAttempts))) throw err;
      const failure = cancelled ?? err;
      if (cancelled === undefined) ctx.logger.warn({ err, agentId, executionId, nodeId }, 'agent failed');
      else ctx.logger.info({ agentId, executionId, nodeId }, 'agent aborted: its execution was cancelled');
      await ctx.publish({
        eventId: id('agent-failed'),
        eventType: EventSubjects.AGENT_EXECUTION_FAILED,
        data: { agentId, executionId, nodeId, error: { message: (failure as Error).message, code: failureCode(failure) } },
      });
      runs.inc({ agent: agentId, outcome: cancelled === undefined ? 'failed' : 'cancelled' });
    } finally {
      run.done();
    }
  };

  const subscription: Subscription = await client.subscribe<AgentExecutionRequestedEvent>(EventSubjects.AGENT_EXECUTION_REQUESTED, classifyingHandler(handle), undefined, {
    concurrency,
  });
  return async () => {
    await subscription.stop();
    await cancellations.stop();
  };
}
