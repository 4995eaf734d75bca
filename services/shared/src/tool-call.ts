/**
 * Calling a tool of the tool service by request/reply on the core subject
 * `tool.execute.request`. The reply is a `tool.execute.response` whose data holds either
 * `result` or `error: { message, code }`; a tool error becomes a typed `ToolCallError`.
 */
import { EventSubjects } from '@multi-agent/events';
import type { ToolExecuteResponseData } from '@multi-agent/events';
import { NoRespondersError, RequestTimeoutError } from '@multi-agent/nats-client';
import type { NatsClient } from '@multi-agent/nats-client';

/**
 * A tool call failed. `code` is the tool's error code (`INVALID_INPUT`, `DIVISION_BY_ZERO`,
 * `PATH_NOT_FOUND`, `UNKNOWN_TOOL`...) or `TOOL_TIMEOUT` / `TOOL_UNAVAILABLE` when no tool
 * service answered; only those two are worth retrying.
 */
export class ToolCallError extends Error {
  constructor(
    readonly toolId: string,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ToolCallError';
  }

  /** True when the tool service did not answer (as opposed to the tool rejecting the call). */
  get retryable(): boolean {
    return this.code === 'TOOL_TIMEOUT' || this.code === 'TOOL_UNAVAILABLE';
  }
}

/** Options of {@link callTool}. */
export interface CallToolOptions {
  timeoutMs?: number;
  correlationId?: string;
  causationId?: string;
}

/**
 * Runs a tool and resolves with its result.
 *
 * @throws ToolCallError with the tool's error code, or `TOOL_TIMEOUT` / `TOOL_UNAVAILABLE`
 */
export async function callTool(
  client: NatsClient,
  toolId: string,
  params: Record<string, unknown>,
  options: CallToolOptions = {},
): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let reply;
  try {
    reply = await client.request(
      EventSubjects.TOOL_EXECUTE_REQUEST,
      {
        eventType: EventSubjects.TOOL_EXECUTE_REQUEST,
        data: { toolId, params },
        ...(options.correlationId === undefined ? {} : { correlationId: options.correlationId }),
        ...(options.causationId === undefined ? {} : { causationId: options.causationId }),
      },
      timeoutMs,
    );
  } catch (err) {
    if (err instanceof RequestTimeoutError) throw new ToolCallError(toolId, 'TOOL_TIMEOUT', `tool "${toolId}" did not answer within ${timeoutMs} ms`, { cause: err });
    if (err instanceof NoRespondersError) throw new ToolCallError(toolId, 'TOOL_UNAVAILABLE', `no tool service is running to answer "${toolId}"`, { cause: err });
    throw err;
  }
  const data = (reply.data ?? {}) as ToolExecuteResponseData;
  if (data.error !== undefined) throw new ToolCallError(toolId, data.error.code ?? 'TOOL_ERROR', data.error.message);
  return data.result;
}
