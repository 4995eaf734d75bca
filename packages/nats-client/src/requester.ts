/**
 * `request()`: sends an event on a core subject through a NATS inbox and resolves with the
 * first of (a) the replier's returned value, sent to the inbox, or (b) an event the replier
 * publishes on the response subject with `correlationId` = the request's eventId (the guide's
 * replier style). No responders and timeouts are distinct typed errors.
 */
import { assertPublishSubject, completeEnvelope, decodeEvent, encodeEvent, validateEvent } from '@multi-agent/events';
import type { DomainEvent } from '@multi-agent/events';
import { NoRespondersError as NatsNoRespondersError, TimeoutError } from '@nats-io/nats-core';
import type { NatsConnection, Subscription as NatsSubscription } from '@nats-io/nats-core';
import { asPermissionError, NoRespondersError, NotConnectedError, PayloadTooLargeError, RequestTimeoutError } from './errors.js';
import type { Logger } from './logger.js';
import { messageHeaders } from './publisher.js';
import type { PublishableEvent } from './publisher.js';
import type { ReplyMux } from './reply-mux.js';
import { REPLY_ERROR_HEADER, decodeReply, responseSubjectOf } from './reply.js';
import { inRequestSpan } from './tracing.js';

type Resolve = (event: DomainEvent) => void;

/** Sends requests for one client and routes response events to the waiting callers. */
export class Requester {
  private readonly waiting = new Map<string, Resolve>();
  private readonly responseSubs = new Map<string, NatsSubscription>();

  constructor(
    private readonly connection: () => { nc: NatsConnection; mux: ReplyMux } | undefined,
    private readonly logger: Logger,
  ) {}

  /** Sends `input` to `subject` and resolves with the reply event. */
  async request(subject: string, input: PublishableEvent, timeoutMs: number): Promise<DomainEvent> {
    const connection = this.connection();
    if (connection === undefined || connection.nc.isClosed()) throw new NotConnectedError();
    const { nc, mux } = connection;
    assertPublishSubject(subject);
    const event = validateEvent(completeEnvelope(input));
    const payload = encodeEvent(event);
    const maxPayload = nc.info?.max_payload ?? Number.POSITIVE_INFINITY;
    if (payload.length > maxPayload) throw new PayloadTooLargeError(payload.length, maxPayload, subject);

    return inRequestSpan(subject, event, () => this.send(nc, mux, subject, event, payload, timeoutMs));
  }

  private async send(nc: NatsConnection, mux: ReplyMux, subject: string, event: DomainEvent, payload: Uint8Array, timeoutMs: number): Promise<DomainEvent> {
    const viaEvent = new Promise<DomainEvent>((resolve) => {
      this.waiting.set(event.eventId, resolve);
      this.listen(nc, responseSubjectOf(subject));
    });
    // Headers built here carry the request span as the replier's parent.
    const viaInbox = mux
      .request(subject, payload, timeoutMs, messageHeaders(event))
      .then((msg) => decodeReply(subject, msg.data, msg.headers?.has(REPLY_ERROR_HEADER) === true));
    try {
      return await Promise.race([viaInbox, viaEvent]);
    } catch (err) {
      throw mapRequestError(subject, timeoutMs, err);
    } finally {
      this.waiting.delete(event.eventId);
      // The inbox request may still be pending after the response event won; its timeout is expected.
      viaInbox.catch(() => undefined);
    }
  }

  /** Stops listening for response events. */
  close(): void {
    for (const sub of this.responseSubs.values()) sub.unsubscribe();
    this.responseSubs.clear();
  }

  private listen(nc: NatsConnection, responseSubject: string): void {
    if (this.responseSubs.has(responseSubject)) return;
    const sub = nc.subscribe(responseSubject, {
      callback: (err, msg) => {
        if (err !== null) return;
        try {
          const response = decodeEvent(msg.data);
          const resolve = response.correlationId === undefined ? undefined : this.waiting.get(response.correlationId);
          resolve?.(response);
        } catch (decodeErr) {
          this.logger.warn({ err: decodeErr, subject: msg.subject }, 'ignoring an undecodable response event');
        }
      },
    });
    this.responseSubs.set(responseSubject, sub);
  }
}

/** The reply mux's failures (nats.js error classes, unwrapped) as ours. */
function mapRequestError(subject: string, timeoutMs: number, err: unknown): unknown {
  const denied = asPermissionError(err);
  if (denied !== undefined) return denied;
  if (err instanceof NatsNoRespondersError) return new NoRespondersError(subject);
  if (err instanceof TimeoutError) return new RequestTimeoutError(subject, timeoutMs);
  return err;
}
