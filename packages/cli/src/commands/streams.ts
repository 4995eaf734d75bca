/** `multi-agent streams`: the platform streams, their size and their consumers' backlog. */
import type { NatsClient } from '@multi-agent/nats-client';
import { platformStreams } from '@multi-agent/nats-client';
import { table } from '../output.js';
import type { Io } from '../output.js';

/** Prints one line per stream and, with `consumers`, one per consumer. */
export async function streamsCommand(client: NatsClient, io: Io, consumers: boolean): Promise<void> {
  const { jsm } = client.jetstream;
  const rows: string[][] = [];
  const consumerRows: string[][] = [];
  for (const spec of platformStreams(client.config)) {
    const info = await jsm.streams.info(spec.name);
    rows.push([
      spec.name,
      String(info.state.messages),
      `${(info.state.bytes / 1024 / 1024).toFixed(1)} MiB`,
      String(info.state.consumer_count),
      info.state.last_ts && info.state.messages > 0 ? info.state.last_ts : '-',
      info.config.subjects.join(' '),
    ]);
    if (!consumers) continue;
    for await (const c of jsm.consumers.list(spec.name)) {
      consumerRows.push([
        spec.name,
        c.name,
        c.config.filter_subject ?? '>',
        String(c.num_pending),
        String(c.num_ack_pending),
        String(c.num_redelivered),
        c.config.description ?? '',
      ]);
    }
  }
  for (const line of table(['stream', 'messages', 'size', 'consumers', 'last', 'subjects'], rows)) io.out(line);
  for (const s of client.health().streams.filter((r) => r.action === 'drift-not-updated')) {
    io.err(`stream ${s.stream} drifted (${s.drift.join(', ')}) and was not updated: ${s.error ?? ''}`);
  }
  if (!consumers) return;
  io.out('');
  for (const line of table(['stream', 'consumer', 'filter', 'pending', 'unacked', 'redelivered', 'description'], consumerRows)) {
    io.out(line);
  }
}
