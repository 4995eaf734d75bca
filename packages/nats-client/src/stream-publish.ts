/**
 * A JetStream publish and a direct get on the {@link ReplyMux}: the two requests the client makes
 * per event. They speak the JetStream wire protocol (a publish answered by a PubAck, a
 * `$JS.API.DIRECT.GET` answered by the message with its headers) and fail with the same
 * nats.js error classes as `js.publish` and `jsm.direct.getMessage`, so callers map errors once.
 */
import { JetStreamApiError } from '@nats-io/jetstream';
import type { ApiError } from '@nats-io/jetstream';
import { Empty } from '@nats-io/nats-core';
import type { Msg, MsgHdrs } from '@nats-io/nats-core';
import type { ReplyMux } from './reply-mux.js';

/** Where JetStream stored a published message. */
export interface StoredAck {
  stream: string;
  seq: number;
  /** The stream had a message with this `Nats-Msg-Id` in its duplicate window and kept that one. */
  duplicate: boolean;
}

interface PubAckReply {
  stream?: string;
  seq?: number;
  duplicate?: boolean;
  error?: ApiError;
}

const decoder = new TextDecoder();

/** The JetStream error a status-only reply (no body) stands for. */
function statusError(msg: Msg): JetStreamApiError {
  return new JetStreamApiError({ code: msg.headers?.code ?? 0, err_code: 0, description: msg.headers?.description ?? 'no body in the reply' });
}

/**
 * Publishes to a stream subject and resolves with the PubAck. A refusal (a failed
 * `Nats-Expected-*` check, a full stream) is a `JetStreamApiError` with the server's `err_code`.
 */
export async function publishToStream(mux: ReplyMux, subject: string, data: Uint8Array | string, headers: MsgHdrs | undefined, timeoutMs: number): Promise<StoredAck> {
  const reply = await mux.request(subject, data, timeoutMs, headers);
  if (reply.data.length === 0) throw statusError(reply);
  const ack = JSON.parse(decoder.decode(reply.data)) as PubAckReply;
  if (ack.error !== undefined) throw new JetStreamApiError(ack.error);
  return { stream: ack.stream ?? '', seq: ack.seq ?? 0, duplicate: ack.duplicate === true };
}

/** The last message on `subject` of `stream`, read with a direct get; `null` when there is none. */
export async function lastMessageOf(mux: ReplyMux, stream: string, subject: string, timeoutMs: number): Promise<Msg | null> {
  const reply = await mux.request(`$JS.API.DIRECT.GET.${stream}.${subject}`, Empty, timeoutMs);
  const code = reply.headers?.code ?? 0;
  if (code === 404) return null;
  if (code !== 0) throw statusError(reply);
  return reply;
}
