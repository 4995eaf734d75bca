/**
 * Subscriptions on core NATS subjects (those no stream stores, such as `tool.execute.request`):
 * a queue group per service so replicas share the work, bounded concurrency, and replies for
 * requests. Core NATS is at-most-once: a failure without a requester is logged and counted.
 */
import { decodeEvent, encodeEvent, validateEvent } from '@multi-agent/events';
import type { DomainEvent } from '@multi-agent/events';
import { headers as natsHeaders } from '@nats-io/nats-core';
import type { Msg, NatsConnection, Subscription as NatsSubscription } from '@nats-io/nats-core';
import type { EventHandler, HandlerContext, Subscription } from './handler.js';
import type { Logger } from './logger.js';
import type { ClientMetrics } from './metrics.js';
import type { PublishableEvent, PublishResult } from './publisher.js';
import { REPLY_ERROR_HEADER, encodeReplyError, replyEvent } from './reply.js';

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
  private readonly abort = new AbortController();
  private readonly loop: Promise<void>;

  constructor(
    private readonly handler: EventHandler<DomainEvent>,
    private readonly settings: CoreSubscriptionSettings,
    private readonly deps: CoreSubscriptionDeps,
  ) {
    this.sub = deps.nc.subscribe(settings.subject, { queue: settings.queue });
    this.loop = this.consume();
  }

  get subject(): string {
    return this.settings.subject;
  }

  get consumer(): string {
    return this.settings.queue ?? '(broadcast)';
  }

  async stop(): Promise<void> {
    this.sub.unsubscribe();
    await this.loop;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.settings.stopTimeoutMs)));
    const drained = Promise.all(this.running).then(() => false);
    if (await Promise.race([drained, timedOut])) {
      this.deps.logger.warn({ subject: this.subject, inFlight: this.running.size }, 'stop timed out with handlers still running');
      this.abort.abort(new Error('subscription stopped'));
    }
    clearTimeout(timer);
  }

  private async consume(): Promise<void> {
    for await (const msg of this.sub) {
      if (this.running.size >= this.settings.concurrency) await Promise.race(this.running);
      const task = this.handle(msg).finally(() => this.running.delete(task));
      this.running.add(task);
    }
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
        publish: (next) => this.deps.publishCausedBy(next, cause),
        logger: this.deps.logger,
      };
      const result = await this.handler(event, ctx);
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
