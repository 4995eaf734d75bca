/**
 * Token streaming, the reading side (docs/architecture.md, "Token streams"): `subscribeStream` yields a token stream
 * from its first token (or `fromSeq`) in order, once each, ending after the completion token.
 *
 * Stored tokens are read through an ordered JetStream consumer, so a late or resuming reader
 * misses nothing; once caught up, live tokens come from a core subscription opened before the
 * catch-up, which is as fast as plain pub/sub. Core delivery is at-most-once: a gap in the
 * sequence numbers sends the reader back to the stream for what it missed.
 */
import { decodeTokenMessage } from '@multi-agent/events';
import type { TokenMessage } from '@multi-agent/events';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { StreamIdleError } from './errors.js';
import type { Logger } from './logger.js';
import { StreamNames } from './topology.js';

/** Options of `subscribeStream()`. */
export interface SubscribeStreamOptions {
  /** Skip tokens before this sequence number (resume after the last one seen, e.g. SSE Last-Event-ID + 1). */
  fromSeq?: number;
  /** Give up with `StreamIdleError` after this long without a token (ms). */
  idleTimeoutMs?: number;
  /** Stop early. */
  signal?: AbortSignal;
}

type Resolved = Required<Pick<SubscribeStreamOptions, 'idleTimeoutMs'>> & SubscribeStreamOptions;

/** What the reader has seen so far. */
interface Position {
  lastSeq: number;
  done: boolean;
}

/** Waits for `next`, failing with `StreamIdleError` after the idle timeout. */
async function nextOrIdle<T>(next: Promise<IteratorResult<T>>, subject: string, idleMs: number): Promise<IteratorResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StreamIdleError(subject, idleMs)), idleMs);
  });
  try {
    return await Promise.race([next, idle]);
  } finally {
    clearTimeout(timer);
  }
}

function decode(data: Uint8Array, subject: string, logger: Logger): TokenMessage | undefined {
  try {
    return decodeTokenMessage(data);
  } catch (err) {
    logger.warn({ err, subject }, 'skipping an undecodable token message');
    return undefined;
  }
}

/** Where a reader reports: its logger and the token-age histogram. */
export interface Reader {
  logger: Logger;
  lagSeconds: { observe(seconds: number): void };
}

/** Yields the stored tokens after `position.lastSeq`, up to the end of what the stream holds now. */
async function* storedTokens(js: JetStreamClient, subject: string, position: Position, options: Resolved, reader: Reader): AsyncGenerator<TokenMessage> {
  const consumer = await js.consumers.get(StreamNames.TOKENS, { filter_subjects: subject, deliver_policy: DeliverPolicy.All });
  if ((await consumer.info()).num_pending === 0) return;
  const messages = await consumer.consume({ max_messages: 512 });
  const iterator = messages[Symbol.asyncIterator]();
  const onAbort = (): void => messages.stop();
  options.signal?.addEventListener('abort', onAbort);
  try {
    for (;;) {
      const next = await nextOrIdle(iterator.next(), subject, options.idleTimeoutMs);
      if (next.done === true) return;
      const token = decode(next.value.data, subject, reader.logger);
      if (token !== undefined && token.seq > position.lastSeq) {
        position.lastSeq = token.seq;
        position.done = token.isComplete;
        // How far behind its producer this reader is: the stored token's age as it is handed on.
        reader.lagSeconds.observe(Math.max(0, Date.now() - next.value.info.timestampNanos / 1e6) / 1000);
        yield token;
        if (token.isComplete) return;
      }
      if (next.value.info.pending === 0) return;
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    messages.stop();
  }
}

/**
 * Yields live tokens in order; returns when the stream completes, or early when a sequence
 * number was skipped (the caller then reads the gap from the stream).
 */
async function* liveTokens(live: AsyncIterator<Msg>, subject: string, position: Position, options: Resolved, { logger }: Reader): AsyncGenerator<TokenMessage> {
  for (;;) {
    const next = await nextOrIdle(live.next(), subject, options.idleTimeoutMs);
    if (next.done === true) {
      position.done = true;
      return;
    }
    const token = decode(next.value.data, subject, logger);
    if (token === undefined || token.seq <= position.lastSeq) continue;
    if (token.seq > position.lastSeq + 1) return;
    position.lastSeq = token.seq;
    position.done = token.isComplete;
    yield token;
    if (token.isComplete) return;
  }
}

/** Reads one token stream, in order, ending after the completion message. */
export async function* readTokenStream(
  nc: NatsConnection,
  js: JetStreamClient,
  subject: string,
  options: Resolved,
  reader: Reader,
): AsyncGenerator<TokenMessage, void, undefined> {
  // Subscribe before reading what is stored, so nothing published meanwhile falls between the two.
  const live = nc.subscribe(subject);
  const onAbort = (): void => live.unsubscribe();
  options.signal?.addEventListener('abort', onAbort);
  const liveIterator = live[Symbol.asyncIterator]();
  const position: Position = { lastSeq: (options.fromSeq ?? 0) - 1, done: false };
  try {
    await nc.flush();
    while (!position.done) {
      yield* storedTokens(js, subject, position, options, reader);
      if (position.done || options.signal?.aborted === true) return;
      const before = position.lastSeq;
      yield* liveTokens(liveIterator, subject, position, options, reader);
      // A gap whose tokens are not stored yet: give the stream a moment before reading again.
      if (!position.done && position.lastSeq === before) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    live.unsubscribe();
  }
}
