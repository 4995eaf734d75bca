/**
 * Cancelled executions, as one agent instance sees them. Every instance subscribes to
 * `execution.cancelled` with its own (broadcast) consumer, so whichever instance runs a node of
 * the execution hears it: the node's handler is aborted through its signal, and a node of that
 * execution that arrives later (queued, or redelivered) is not started at all.
 */
import type { ExecutionCancelledEvent } from '@multi-agent/events';
import { EventSubjects } from '@multi-agent/events';
import type { NatsClient, Subscription } from '@multi-agent/nats-client';

/** How many cancelled executionIds an instance remembers (oldest forgotten first). */
const REMEMBERED = 10_000;

/** Thrown into a handler whose execution was cancelled (the abort reason of its signal). */
export class ExecutionCancelledError extends Error {
  readonly code = 'EXECUTION_CANCELLED';
  constructor(readonly executionId: string, reason: string | undefined) {
    super(`execution "${executionId}" was cancelled${reason === undefined ? '' : `: ${reason}`}`);
    this.name = 'ExecutionCancelledError';
  }
}

/** The cancellations this instance heard, and the handlers to abort on one. */
export class Cancellations {
  private readonly running = new Map<string, Set<AbortController>>();
  private readonly cancelled = new Map<string, string | undefined>();
  private subscription: Subscription | undefined;

  /** Subscribes every instance to `execution.cancelled` (from now on). */
  async start(client: NatsClient): Promise<void> {
    this.subscription = await client.subscribe<ExecutionCancelledEvent>(
      EventSubjects.EXECUTION_CANCELLED,
      async (event) => this.cancel(event.data.executionId, event.data.reason),
      undefined,
      { broadcast: true },
    );
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
  }

  /**
   * A signal for one run of a node of `executionId`: aborted when the execution is cancelled
   * (already aborted when it was), or when `parent` aborts. Call `done` when the run ends.
   */
  track(executionId: string, parent: AbortSignal): { signal: AbortSignal; done: () => void } {
    const controller = new AbortController();
    if (this.cancelled.has(executionId)) controller.abort(new ExecutionCancelledError(executionId, this.cancelled.get(executionId)));
    const set = this.running.get(executionId) ?? new Set();
    set.add(controller);
    this.running.set(executionId, set);
    return {
      signal: AbortSignal.any([parent, controller.signal]),
      done: () => {
        set.delete(controller);
        if (set.size === 0) this.running.delete(executionId);
      },
    };
  }

  private cancel(executionId: string, reason: string | undefined): void {
    this.cancelled.delete(executionId);
    this.cancelled.set(executionId, reason);
    const oldest = this.cancelled.keys().next();
    if (this.cancelled.size > REMEMBERED && oldest.done !== true) this.cancelled.delete(oldest.value);
    for (const controller of this.running.get(executionId) ?? []) controller.abort(new ExecutionCancelledError(executionId, reason));
  }
}
