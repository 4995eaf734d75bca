/** `multi-agent tail [subject]`: prints events as they are published. */
import { decodeEvent } from '@multi-agent/events';
import type { NatsClient } from '@multi-agent/nats-client';
import { clip } from '../output.js';
import type { Io } from '../output.js';

/** Every event family; `>` alone would also show inboxes and JetStream API traffic. */
export const EVENT_FAMILIES = ['workflow.>', 'execution.>', 'agent.>', 'tool.>', 'model.>', 'vector.>', 'dlq.>'];

/** Prints events on `subjects` until `signal` aborts or `count` events were printed. */
export async function tailCommand(
  client: NatsClient,
  io: Io,
  subjects: string[],
  options: { count?: number; signal?: AbortSignal; ready?: () => void },
): Promise<void> {
  const nc = client.natsConnection;
  let printed = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const subs = subjects.map((subject) =>
    nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err !== null) return;
        try {
          const e = decodeEvent(msg.data);
          const lineage = e.correlationId === undefined ? '' : `  corr ${e.correlationId}`;
          io.out(`${e.timestamp.toISOString()}  ${msg.subject}  ${e.eventId}${lineage}  ${clip(JSON.stringify((e as { data?: unknown }).data) ?? '', 100)}`);
        } catch {
          io.out(`${new Date().toISOString()}  ${msg.subject}  (${msg.data.length} bytes, not an event)`);
        }
        printed += 1;
        if (options.count !== undefined && printed >= options.count) finish();
      },
    }),
  );
  await nc.flush();
  options.ready?.();
  options.signal?.addEventListener('abort', () => finish());
  await finished;
  for (const sub of subs) sub.unsubscribe();
}
