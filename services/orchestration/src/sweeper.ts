/**
 * The sweeper of one orchestration instance. It watches the EXECUTIONS bucket (so every
 * replica knows every live execution, including ones it never handled, and a restarted
 * process knows them again at once) and, on a timer:
 * - fails running nodes past their deadline (`NODE_TIMEOUT`), by CAS, so one replica wins;
 * - publishes outboxes left behind by a process that died between deciding and publishing.
 */
import type { Logger } from '@multi-agent/nats-client';
import { isTerminal } from '@multi-agent/service-kit';
import type { ExecutionState, ExecutionStore } from '@multi-agent/service-kit';
import type { OutboxPublisher } from '@multi-agent/service-kit';
import type { ExecutionMetrics } from './execution-metrics.js';
import { expireNodes, nextDeadline } from '@multi-agent/service-kit';
import type { TransitionContext } from '@multi-agent/service-kit';

/** Settings of the sweeper. */
export interface SweeperOptions {
  /** Time between sweeps (ms). */
  intervalMs: number;
  /** An outbox untouched this long is taken to be abandoned and is published by the sweeper (ms). */
  outboxGraceMs: number;
  /** No node is timed out during this long after start (ms): let queued completions arrive first. */
  startupGraceMs: number;
  context: () => TransitionContext;
  logger: Logger;
  /** Counts the executions a node timeout ends. */
  metrics: ExecutionMetrics;
}

/** Watches live executions and enforces node deadlines. */
export class Sweeper {
  private readonly live = new Map<string, ExecutionState>();
  private watcher: { stop(): void } | undefined;
  private watching: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private readonly startedAt = Date.now();
  private stopped = false;

  constructor(
    private readonly store: ExecutionStore,
    private readonly outbox: OutboxPublisher,
    private readonly options: SweeperOptions,
  ) {}

  /** Starts watching and sweeping. */
  async start(): Promise<void> {
    const entries = await this.store.kv.watch({ key: '>' });
    this.watcher = entries;
    this.watching = (async () => {
      for await (const entry of entries) {
        if (entry.operation !== 'PUT') {
          this.live.delete(entry.key);
          continue;
        }
        try {
          const state = entry.json<ExecutionState>();
          if (isTerminal(state.status) && state.outbox.length === 0) this.live.delete(entry.key);
          else this.live.set(entry.key, state);
        } catch (err) {
          this.options.logger.warn({ err, key: entry.key }, 'ignoring an unreadable execution record');
        }
      }
    })().catch((err: unknown) => {
      if (!this.stopped) this.options.logger.error({ err }, 'execution watch ended');
    });
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Executions this instance currently tracks (for tests and metrics). */
  get tracked(): number {
    return this.live.size;
  }

  /** Stops the timer and the watch, and waits for a sweep in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.watcher?.stop();
    await this.watching;
    await this.sweeping;
  }

  private tick(): void {
    if (this.sweeping !== undefined || this.stopped) return;
    this.sweeping = this.sweep()
      .catch((err: unknown) => this.options.logger.error({ err }, 'sweep failed'))
      .finally(() => (this.sweeping = undefined));
  }

  private async sweep(): Promise<void> {
    const now = Date.now();
    const mayExpire = now - this.startedAt >= this.options.startupGraceMs;
    for (const [executionId, state] of [...this.live]) {
      if (this.stopped) return;
      if (state.outbox.length > 0 && now - Date.parse(state.updatedAt) >= this.options.outboxGraceMs) {
        this.options.logger.warn({ executionId, events: state.outbox.length }, 'publishing an abandoned outbox');
        await this.outbox.flush(await this.store.get(executionId));
      }
      const deadline = nextDeadline(state);
      if (mayExpire && state.status === 'running' && deadline !== undefined && deadline <= now) {
        const { stored, changed } = await this.store.mutate(executionId, (current) => expireNodes(current, this.options.context()));
        if (changed) this.options.logger.warn({ executionId, error: stored?.state.error }, 'node timed out');
        this.options.metrics.record('node-timeout', state.status, stored, changed);
        await this.outbox.flush(stored);
      }
    }
  }
}
