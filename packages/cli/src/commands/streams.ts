/** `multi-agent streams`: the platform streams, their size and their consumers' backlog. */
import type { NatsClient } from '@multi-agent/nats-client';
import { platformStreams } from '@multi-agent/nats-client';
import { paint, printJson, printTable } from '../output.js';
import type { Io } from '../output.js';

/** One stream, as `--json` prints it. */
export interface StreamView {
  name: string;
  messages: number;
  bytes: number;
  consumerCount: number;
  /** Time of the last message, when the stream holds any. */
  lastTimestamp?: string;
  subjects: string[];
}

/** One consumer, as `--json --consumers` prints it. */
export interface ConsumerView {
  stream: string;
  name: string;
  durable: boolean;
  filter: string;
  pending: number;
  unacked: number;
  redelivered: number;
  description: string;
}

async function look(client: NatsClient, withConsumers: boolean): Promise<{ streams: StreamView[]; consumers: ConsumerView[] }> {
  const { jsm } = client.jetstream;
  const streams: StreamView[] = [];
  const consumers: ConsumerView[] = [];
  for (const spec of platformStreams(client.config)) {
    const info = await jsm.streams.info(spec.name);
    streams.push({
      name: spec.name,
      messages: info.state.messages,
      bytes: info.state.bytes,
      consumerCount: info.state.consumer_count,
      ...(info.state.last_ts && info.state.messages > 0 ? { lastTimestamp: info.state.last_ts } : {}),
      subjects: info.config.subjects,
    });
    if (!withConsumers) continue;
    for await (const c of jsm.consumers.list(spec.name)) {
      consumers.push({
        stream: spec.name,
        name: c.name,
        durable: c.config.durable_name !== undefined,
        filter: c.config.filter_subject ?? '>',
        pending: c.num_pending,
        unacked: c.num_ack_pending,
        redelivered: c.num_redelivered,
        description: c.config.description ?? '',
      });
    }
  }
  return { streams, consumers };
}

/** Prints one line per stream and, with `withConsumers`, one per consumer (or all of it as JSON). */
export async function streamsCommand(client: NatsClient, io: Io, withConsumers: boolean, json: boolean): Promise<void> {
  const { streams, consumers } = await look(client, withConsumers);
  const drifted = client.health().streams.filter((r) => r.action === 'drift-not-updated');
  if (json) {
    printJson(io, { streams, ...(withConsumers ? { consumers } : {}), drifted });
    return;
  }
  printTable(
    io,
    ['stream', 'messages', 'size', 'consumers', 'last', 'subjects'],
    streams.map((s) => [s.name, String(s.messages), `${(s.bytes / 1024 / 1024).toFixed(1)} MiB`, String(s.consumerCount), s.lastTimestamp ?? '-', s.subjects.join(' ')]),
  );
  for (const s of drifted) io.err(paint(io, 'yellow', `stream ${s.stream} drifted (${s.drift.join(', ')}) and was not updated: ${s.error ?? ''}`));
  if (!withConsumers) return;
  io.out('');
  printTable(
    io,
    ['stream', 'consumer', 'filter', 'pending', 'unacked', 'redelivered', 'description'],
    consumers.map((c) => [c.stream, c.name, c.filter, String(c.pending), String(c.unacked), String(c.redelivered), c.description]),
  );
}
