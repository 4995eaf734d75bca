/**
 * Request/reply over one wildcard inbox subscription, for the client's per-event requests
 * (JetStream publish acks, idempotency-store reads and writes). nats.js's `request()` settles
 * every request through a path that builds an `Error` with a stack trace even on success (its
 * `RequestOne.cancel`), about 10 µs of CPU per request in a profile; this mux allocates no error unless a
 * request fails, and checks deadlines with one timer instead of one per request.
 *
 * While other requests are in flight, requests are sent in batches, like acks (ack-batcher.ts):
 * nats.js writes to the socket on the microtask after the first queued command, so requests made
 * from many handlers' promise chains would each cost a write system call; queued and sent on the
 * next event-loop turn they share one. A request alone in flight goes out at once.
 */
import { createInbox, errors } from '@nats-io/nats-core';
import type { Msg, MsgHdrs, NatsConnection, Subscription } from '@nats-io/nats-core';

interface Outgoing {
  token: string;
  subject: string;
  data: Uint8Array | string;
  headers: MsgHdrs | undefined;
}

interface Pending {
  resolve(msg: Msg): void;
  reject(err: Error): void;
  /** Epoch ms after which the request times out. */
  deadline: number;
  subject: string;
}

/** How often deadlines are checked: a request times out at most this late. */
const SWEEP_MS = 50;

/** Requests whose replies come back on one subscription, told apart by the last reply token. */
export class ReplyMux {
  private readonly prefix: string;
  private readonly pending = new Map<string, Pending>();
  private readonly subscription: Subscription;
  private sweeper: NodeJS.Timeout | undefined;
  private next = 0;
  private outbox: Outgoing[] = [];

  /** @param inboxPrefix - the client's inbox prefix (NATS permissions grant each identity its own) */
  constructor(
    private readonly nc: NatsConnection,
    inboxPrefix?: string,
  ) {
    this.prefix = `${createInbox(inboxPrefix)}.`;
    this.subscription = nc.subscribe(`${this.prefix}*`, { callback: (err, msg) => (err === null ? this.settle(msg) : this.failAll(err)) });
    // The status stream ends when the connection closes; it has nothing else to fail with.
    this.watchPermissionErrors().catch(() => undefined);
  }

  /**
   * Publishes `data` to `subject` with a reply subject of this mux and resolves with the reply.
   * Rejects with nats.js's `NoRespondersError` when nobody listens on `subject` and with its
   * `TimeoutError` after `timeoutMs`, as `nc.request` does.
   */
  request(subject: string, data: Uint8Array | string, timeoutMs: number, headers?: MsgHdrs): Promise<Msg> {
    const token = (this.next++).toString(36);
    return new Promise<Msg>((resolve, reject) => {
      this.pending.set(token, { resolve, reject, deadline: Date.now() + timeoutMs, subject });
      this.outbox.push({ token, subject, data, headers });
      // Alone in flight, a request goes out at once: batching would only add latency.
      if (this.pending.size === 1) this.sendQueued();
      else if (this.outbox.length === 1) setImmediate(this.sendQueued);
      this.sweeper ??= setInterval(() => this.expire(), SWEEP_MS);
    });
  }

  /** Publishes the queued requests in one synchronous run: nats.js writes them in one go. */
  private readonly sendQueued = (): void => {
    const batch = this.outbox;
    this.outbox = [];
    for (const { token, subject, data, headers } of batch) {
      const reply = this.prefix + token;
      try {
        this.nc.publish(subject, data, headers === undefined ? { reply } : { reply, headers });
      } catch (err) {
        // A closed connection or an oversized payload: this request fails, the others go on.
        this.pending.get(token)?.reject(err instanceof Error ? err : new Error(String(err)));
        this.pending.delete(token);
      }
    }
  };

  /** Fails the requests still waiting and stops listening. */
  close(): void {
    this.failAll(new errors.RequestError('connection closed'));
    if (!this.nc.isClosed()) this.subscription.unsubscribe();
  }

  /**
   * The server refuses a publish it does not permit with an asynchronous `-ERR` naming the
   * subject; nats.js fails its own requests on that subject, and this does the same for ours,
   * so a forbidden request is a `PermissionViolationError` at once, not a timeout.
   */
  private async watchPermissionErrors(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type !== 'error' || !(status.error instanceof errors.PermissionViolationError)) continue;
      const denied = status.error;
      if (denied.operation !== 'publish') continue;
      for (const [token, request] of this.pending) {
        if (request.subject !== denied.subject) continue;
        this.pending.delete(token);
        request.reject(denied);
      }
    }
  }

  private settle(msg: Msg): void {
    const token = msg.subject.slice(this.prefix.length);
    const request = this.pending.get(token);
    if (request === undefined) return; // timed out already
    this.pending.delete(token);
    if (msg.data.length === 0 && msg.headers?.code === 503) request.reject(new errors.NoRespondersError(request.subject));
    else request.resolve(msg);
  }

  private expire(): void {
    const now = Date.now();
    for (const [token, request] of this.pending) {
      if (request.deadline > now) continue;
      this.pending.delete(token);
      request.reject(new errors.TimeoutError());
    }
    if (this.pending.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private failAll(err: Error): void {
    for (const request of this.pending.values()) request.reject(err);
    this.pending.clear();
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
