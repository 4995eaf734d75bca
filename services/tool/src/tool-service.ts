/**
 * The tool service on the bus:
 * - `tool.execute.request` (core request/reply, queue group `tool`): run a tool now; the reply
 *   is `tool.execute.response` with `result` or `error: { message, code }`. Agents use it.
 * - `tool.execution.requested` (EVENTS, durable): a workflow's tool node; answered with
 *   `tool.execution.completed` or `tool.execution.failed`.
 */
import { EventSubjects } from '@multi-agent/events';
import type { ErrorInfo, ToolExecuteRequestEvent, ToolExecutionRequestedEvent } from '@multi-agent/events';
import type { HandlerContext, NatsClient, Subscription } from '@multi-agent/nats-client';
import { ClaimCheckStore, classifyingHandler, counter, isDeterministic, stableEventId } from '@multi-agent/service-kit';
import type { StopService } from '@multi-agent/service-kit';
import { builtinTools, ToolRegistry } from './tools/registry.js';
import type { BuiltinToolOptions, ToolDefinition } from './tools/registry.js';
import { ToolError } from './tools/tool-error.js';

/** Options of {@link startToolService}. */
export interface ToolServiceOptions {
  /** Tools besides (or replacing, by ID) the built-in ones. */
  tools?: ToolDefinition[];
  builtin?: BuiltinToolOptions;
  /** Tool runs at once per subscription (default 16). */
  concurrency?: number;
}

function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof ToolError) return { message: err.message, code: err.code };
  return { message: err instanceof Error ? err.message : String(err), code: 'TOOL_ERROR' };
}

/** The tool service's settings when neither the caller nor the environment sets them. */
export const toolDefaults = { concurrency: 16 } as const;

/**
 * Starts the tool service on a connected client.
 *
 * @returns a function that stops its subscriptions (the client stays open)
 */
export async function startToolService(client: NatsClient, options: ToolServiceOptions = {}): Promise<StopService> {
  const registry = new ToolRegistry([...builtinTools(options.builtin), ...(options.tools ?? [])]);
  const calls = counter(client.metrics.registry, 'tool_calls_total', 'Tool runs, by tool, path (request or node) and outcome.', ['tool', 'path', 'outcome']);
  const { concurrency } = { ...toolDefaults, ...options };
  const subscriptions: Subscription[] = [];
  // Claim-checked inputs reach a tool as references; it gets the stored content.
  const claims = await ClaimCheckStore.open(client.jetstream.js, { replicas: client.config.replicas });

  const run = async (toolId: string, params: unknown, path: string, signal: AbortSignal): Promise<{ result?: unknown; error?: ErrorInfo }> => {
    try {
      const result = await registry.run(toolId, params, signal);
      calls.inc({ tool: toolId, path, outcome: 'ok' });
      return { result };
    } catch (err) {
      if (!(err instanceof ToolError)) throw err;
      calls.inc({ tool: registry.list().some((t) => t.id === toolId) ? toolId : 'unknown', path, outcome: err.code });
      return { error: errorInfo(err) };
    }
  };

  subscriptions.push(
    await client.subscribe<ToolExecuteRequestEvent>(
      EventSubjects.TOOL_EXECUTE_REQUEST,
      async (event, ctx) => {
        try {
          return await run(event.data.toolId, await claims.resolve(event.data.params ?? {}), 'request', ctx.signal);
        } catch (err) {
          ctx.logger.error({ err, toolId: event.data.toolId }, 'tool crashed');
          return { error: errorInfo(err) };
        }
      },
      undefined,
      { concurrency },
    ),
  );

  subscriptions.push(
    await client.subscribe<ToolExecutionRequestedEvent>(
      EventSubjects.TOOL_EXECUTION_REQUESTED,
      // A completion too large to publish, or a crash the same params cause again, goes to the
      // DLQ at once; the orchestration fails the node from the DLQ record.
      classifyingHandler(async (event: ToolExecutionRequestedEvent, ctx: HandlerContext) => {
        const { executionId, nodeId, toolId, input } = event.data;
        let outcome: { result?: unknown; error?: ErrorInfo };
        try {
          outcome = await run(toolId, await claims.resolve(input ?? {}), 'node', ctx.signal);
        } catch (err) {
          // An unexpected crash may be transient: retry it, and report it only on the last attempt.
          if (isDeterministic(err) || ctx.attempt < ctx.maxAttempts) throw err;
          outcome = { error: errorInfo(err) };
        }
        if (outcome.error === undefined) {
          await ctx.publish({
            eventId: stableEventId(event.eventId, 'tool-completed'),
            eventType: EventSubjects.TOOL_EXECUTION_COMPLETED,
            data: { executionId, nodeId, toolId, output: outcome.result },
          });
        } else {
          await ctx.publish({
            eventId: stableEventId(event.eventId, 'tool-failed'),
            eventType: EventSubjects.TOOL_EXECUTION_FAILED,
            data: { executionId, nodeId, toolId, error: outcome.error },
          });
        }
      }),
      undefined,
      { concurrency },
    ),
  );

  return async () => {
    await Promise.all(subscriptions.map((s) => s.stop()));
  };
}
