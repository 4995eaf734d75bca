/**
 * Subscriptions on core NATS subjects (those no stream stores, such as `tool.execute.request`):
 * a queue group per service so replicas share the work, bounded concurrency, and replies for
 * requests. Core NATS is at-most-once: a failure without a requester is logged and counted.
 */
import { decodeEvent, encodeEvent, validateEvent } from '@multi-agent/events';
import type { DomainEvent } from '@multi-agent/events';
import { headers as natsHeaders } from '@nats-io/nats-core';
import type { Msg, NatsConnection, Subscription as NatsSubscription } from '@nats-io/nats-core';
import { asPermissionError } from './errors.js';
import type { PermissionError } from './errors.js';
import { publishCausedByOf } from './handler.js';
import type { EventHandler, HandlerContext, Subscription } from './handler.js';
import type { Logger } from './logger.js';
import type { ClientMetrics } from './metrics.js';
import type { PublishableEvent, PublishResult } from './publisher.js';
import { REPLY_ERROR_HEADER, encodeReplyError, replyEvent } from './reply.js';
import { runInConsumeSpan } from './tracing.js';

/** Settings of a core subscription. */
export interface CoreSubscriptionSettings {
  subject: string;
  /** Queue group; undefined for broadcast. */
  queue?: string;
  concurrency: number;
  stopTimeoutMs: number;
}

/** What the core subscription needs from the client. */
export interface CoreSubscriptionDeps {
  nc: NatsConnection;
  publishCausedBy(event: PublishableEvent, cause: DomainEvent): Promise<PublishResult>;
  logger: Logger;
  metrics: ClientMetrics;
}

/** A core NATS (queue) subscription running an event handler. */
export class CoreSubscription implements Subscription {
  readonly kind = 'core' as const;
  private readonly sub: NatsSubscription;
  private readonly running = new Set<Promise<void>>();
  // Messages beyond `concurrency` wait here (core NATS has no server-side backlog to leave them in).
  private readonly backlog: Msg[] = [];
  private readonly abort = new AbortController();
  private refused: PermissionError | undefined;

  constructor(
    private readonly handler: EventHandler<DomainEvent>,
    private readonly settings: CoreSubscriptionSettings,
    private readonly deps: CoreSubscriptionDeps,
  ) {
    // Dispatching from the callback starts every message of one socket read in the same turn,
    // so their replies leave in one write.
    this.sub = deps.nc.subscribe(settings.subject, {
      ...(settings.queue === undefined ? {} : { queue: settings.queue }),
      callback: (err, msg) => {
        if (err !== null) {
          this.refused = asPermissionError(err);
          deps.logger.error({ err, subject: settings.subject }, 'core subscription failed');
        }
        else if (this.running.size < settings.concurrency) this.start(msg);
        else this.backlog.push(msg);
      },
    });
  }

  get subject(): string {
    return this.settings.subject;
  }

  /**
   * Resolves once the server took the subscription; a server that refused it (no permission)
   * answers before the flush's pong, and this throws `PermissionError`.
   */
  async confirm(): Promise<void> {
    await this.deps.nc.flush();
    if (this.refused !== undefined) throw this.refused;
  }

  get consumer(): string {
    return this.settings.queue ?? '(broadcast)';
  }

  /** Stops taking messages and waits (bounded) for the ones already received. */
  async stop(): Promise<void> {
    this.sub.unsubscribe();
    const deadline = Date.now() + this.settings.stopTimeoutMs;
    while (this.running.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([...this.running, new Promise((resolve) => (timer = setTimeout(resolve, deadline - Date.now())))]);
      clearTimeout(timer);
    }
    if (this.running.size > 0) {
      this.deps.logger.warn({ subject: this.subject, inFlight: this.running.size + this.backlog.length }, 'stop timed out with handlers still running');
      this.abort.abort(new Error('subscription stopped'));
    }
  }

  private start(msg: Msg): void {
    const task = this.handle(msg).finally(() => {
      this.running.delete(task);
      const next = this.backlog.shift();
      if (next !== undefined) this.start(next);
    });
    this.running.add(task);
  }

  private async handle(msg: Msg): Promise<void> {
    let event: DomainEvent | undefined;
    try {
      event = validateEvent(decodeEvent(msg.data));
      const cause = event;
      const ctx: HandlerContext = {
        subject: msg.subject,
        attempt: 1,
        maxAttempts: 1,
        consumer: this.consumer,
        signal: this.abort.signal,
        publish: publishCausedByOf(this.deps, cause),
        logger: this.deps.logger,
      };
      const result = await runInConsumeSpan(
        { subject: msg.subject, event: cause, consumer: this.consumer, carrier: msg, isRequest: msg.reply !== undefined },
        async () => this.handler(cause, ctx),
      );
      if (msg.reply !== undefined && result !== undefined) msg.respond(encodeEvent(replyEvent(event, msg.subject, result)));
      this.count('acked');
    } catch (err) {
      this.count('failed');
      if (msg.reply !== undefined) {
        const h = natsHeaders();
        h.set(REPLY_ERROR_HEADER, '1');
        msg.respond(encodeReplyError(err), { headers: h });
      } else {
        this.deps.logger.error({ err, subject: msg.subject, eventId: event?.eventId }, 'core handler failed; core NATS does not retry');
      }
    }
  }

  private count(outcome: string): void {
    this.deps.metrics.counter(this.deps.metrics.consumed, this.settings.subject, outcome).inc();
  }
}
