/**
 * Token streaming (DESIGN section 7). `publishStream` writes `{ token, isComplete, seq }` into
 * the TOKENS stream in order without waiting for each ack (a bounded window of acks is in
 * flight; completion waits for all). `subscribeTokenStream` reads a stream from its first token
 * (or `fromSeq`) through an ordered consumer, survives reconnects, ends on completion, and gives
 * up with `StreamIdleError` when the producer goes quiet.
 */
import { assertPublishSubject, decodeTokenMessage, encodeTokenMessage } from '@multi-agent/events';
import type { TokenMessage } from '@multi-agent/events';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager, PubAck } from '@nats-io/jetstream';
import { NoStreamError, PublishError, StreamIdleError } from './errors.js';
import type { Logger } from './logger.js';
import { StreamNames, subjectWithin } from './topology.js';

const ACK_WINDOW = 256;

interface StreamState {
  seq: number;
  /** Resolves once `seq` continues from what the stream already holds for the subject. */
  ready: Promise<void>;
  pending: Promise<PubAck | undefined>[];
  error?: unknown;
}

/** Publishes token streams for one client. */
export class TokenPublisher {
  private readonly streams = new Map<string, StreamState>();

  constructor(
    private readonly jetstream: () => { js: JetStreamClient; jsm: JetStreamManager },
    private readonly publishTimeoutMs: number,
  ) {}

  /** Sends one token; resolves once it is on its way (and, when `isComplete`, once every token is stored). */
  async publish(subject: string, token: string, isComplete: boolean): Promise<void> {
    assertPublishSubject(subject);
    if (!subjectWithin(subject, 'model.token.>')) throw new NoStreamError(subject);
    const state = this.stateOf(subject);
    await state.ready;
    if (state.error !== undefined) throw this.failed(subject, state);
    state.seq += 1;
    const body = encodeTokenMessage({ token, isComplete, seq: state.seq });
    const ack = this.jetstream()
      .js.publish(subject, body, { timeout: this.publishTimeoutMs })
      .catch((err: unknown) => {
        state.error ??= err;
        return undefined;
      });
    state.pending.push(ack);
    if (state.pending.length > ACK_WINDOW) await state.pending.shift();
    if (isComplete) {
      this.streams.delete(subject);
      await Promise.all(state.pending);
    }
    if (state.error !== undefined) throw this.failed(subject, state);
  }

  /** Waits for every token in flight (before closing the connection). */
  async flush(): Promise<void> {
    await Promise.all([...this.streams.values()].flatMap((s) => s.pending));
  }

  // A stream may already have tokens (another process, or this one before a restart): number
  // on from the last stored one, so readers, which skip sequences they have seen, miss nothing.
  private stateOf(subject: string): StreamState {
    let state = this.streams.get(subject);
    if (state === undefined) {
      const fresh: StreamState = { seq: 0, pending: [], ready: Promise.resolve() };
      fresh.ready = this.lastStoredSeq(subject).then(
        (seq) => void (fresh.seq = seq),
        (err: unknown) => void (fresh.error = err),
      );
      this.streams.set(subject, fresh);
      state = fresh;
    }
    return state;
  }

  private async lastStoredSeq(subject: string): Promise<number> {
    const last = await this.jetstream().jsm.streams.getMessage(StreamNames.TOKENS, { last_by_subj: subject });
    if (last === null) return 0;
    try {
      return decodeTokenMessage(last.data).seq;
    } catch {
      return 0;
    }
  }

  private failed(subject: string, state: StreamState): PublishError {
    this.streams.delete(subject);
    return new PublishError(subject, 'a token of this stream was not stored; the stream is incomplete', { cause: state.error });
  }
}

/** Options of `subscribeStream()`. */
export interface SubscribeStreamOptions {
  /** Skip tokens before this sequence number (resume after the last one seen, e.g. SSE Last-Event-ID + 1). */
  fromSeq?: number;
  /** Give up with `StreamIdleError` after this long without a token (ms). */
  idleTimeoutMs?: number;
  /** Stop early. */
  signal?: AbortSignal;
}

/** Reads one token stream from the TOKENS stream, in order, ending after the completion message. */
export async function* readTokenStream(
  js: JetStreamClient,
  subject: string,
  options: Required<Pick<SubscribeStreamOptions, 'idleTimeoutMs'>> & SubscribeStreamOptions,
  logger: Logger,
): AsyncGenerator<TokenMessage, void, undefined> {
  const consumer = await js.consumers.get(StreamNames.TOKENS, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.All,
  });
  const messages = await consumer.consume({ max_messages: 512 });
  const iterator = messages[Symbol.asyncIterator]();
  const fromSeq = options.fromSeq ?? 0;
  let idleTimer: NodeJS.Timeout | undefined;
  let lastSeq = fromSeq - 1;
  const onAbort = (): void => messages.stop();
  options.signal?.addEventListener('abort', onAbort);
  try {
    for (;;) {
      const idle = new Promise<'idle'>((resolve) => (idleTimer = setTimeout(() => resolve('idle'), options.idleTimeoutMs)));
      const next = await Promise.race([iterator.next(), idle]);
      clearTimeout(idleTimer);
      if (next === 'idle') throw new StreamIdleError(subject, options.idleTimeoutMs);
      if (next.done === true) return;
      let token: TokenMessage;
      try {
        token = decodeTokenMessage(next.value.data);
      } catch (err) {
        logger.warn({ err, subject }, 'skipping an undecodable token message');
        continue;
      }
      // A producer that retried may repeat a sequence: yield each one once, in order.
      if (token.seq <= lastSeq) continue;
      lastSeq = token.seq;
      yield token;
      if (token.isComplete) return;
    }
  } finally {
    clearTimeout(idleTimer);
    options.signal?.removeEventListener('abort', onAbort);
    messages.stop();
  }
}
