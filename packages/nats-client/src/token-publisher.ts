/**
 * Token streaming, the writing side (docs/architecture.md, "Token streams"): `publishStream` writes
 * `{ token, isComplete, seq, nodeId? }` into the TOKENS stream in order without waiting for each
 * ack (a bounded window of acks is in flight; completion waits for all). Tokens of several nodes
 * may share one stream at once: `seq` orders the stream, `nodeId` tells the nodes apart.
 */
import { assertPublishSubject, assertSubjectToken, decodeTokenMessage, encodeTokenMessage } from '@multi-agent/events';
import type { JetStreamManager } from '@nats-io/jetstream';
import { NoStreamError, PublishError } from './errors.js';
import type { ReplyMux } from './reply-mux.js';
import { publishToStream } from './stream-publish.js';
import { StreamNames, subjectWithin } from './topology.js';

const ACK_WINDOW = 256;

/** Options of `publishStream()`. */
export interface PublishStreamOptions {
  /** The workflow node whose output the token is (readers show each node's tokens apart). */
  nodeId?: string;
}

interface StreamState {
  seq: number;
  /** Resolves once `seq` continues from what the stream already holds for the subject. */
  ready: Promise<void>;
  /** Acks in flight; each settles (never rejects), recording a failure in `error`. */
  pending: Promise<void>[];
  error?: unknown;
}

/** Publishes token streams for one client. */
export class TokenPublisher {
  private readonly streams = new Map<string, StreamState>();

  constructor(
    private readonly jetstream: () => { jsm: JetStreamManager; mux: ReplyMux },
    private readonly publishTimeoutMs: number,
  ) {}

  /**
   * Sends one token; resolves once it is on its way (and, when `isComplete`, once every token is
   * stored). Concurrent calls for one subject are numbered and sent in the order they were made.
   */
  async publish(subject: string, token: string, isComplete: boolean, { nodeId }: PublishStreamOptions = {}): Promise<void> {
    assertPublishSubject(subject);
    if (!subjectWithin(subject, 'model.token.>')) throw new NoStreamError(subject);
    if (nodeId !== undefined) assertSubjectToken(nodeId, 'nodeId');
    const state = this.stateOf(subject);
    await state.ready;
    if (state.error !== undefined) throw this.failed(subject, state);
    state.seq += 1;
    const body = encodeTokenMessage({ token, isComplete, seq: state.seq, ...(nodeId === undefined ? {} : { nodeId }) });
    const ack = publishToStream(this.jetstream().mux, subject, body, undefined, this.publishTimeoutMs)
      .then(() => undefined)
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

