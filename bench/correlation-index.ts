/**
 * What one trace read costs as EVENTS grows: `readCorrelation` (the correlation index) against
 * `readEvents({ correlationId })` (a header scan of the stream), at each stream size.
 *
 *   npx tsx bench/correlation-index.ts                     # 10,000 and 1,000,000 stored events
 *   npx tsx bench/correlation-index.ts --sizes=10000,100000
 *
 * Starts its own nats-server (temp store, free port). Events are published with
 * `client.publish`, 512 in flight, while the gateway's indexer runs; each flow has 10 events
 * spread over a window of 1,000 (100 flows interleave, as concurrent executions do). Each read
 * is of another flow, picked across the whole stream; the median of several is reported, with
 * the messages delivered to the reader's connection. Progress goes to stderr, the Markdown
 * table to stdout. Not part of `npm test`.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { NatsClient, CORRELATION_INDEXER, correlationIndexSubject, StreamNames } from '@multi-agent/nats-client';
import { NatsServer, waitFor } from '@multi-agent/testing';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const sizes = (args.get('sizes') ?? '10000,1000000').split(',').map(Number);
const EVENTS_PER_FLOW = 10;
const FLOWS_PER_WINDOW = 100;
const IN_FLIGHT = 512;
const INDEX_READS = 9;

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const flowId = (n: number): string => `flow-${n}`;

/** The flow of the i-th stored event: 100 flows share each window of 1,000 events. */
function flowOf(i: number): number {
  const window = Math.floor(i / (FLOWS_PER_WINDOW * EVENTS_PER_FLOW));
  return window * FLOWS_PER_WINDOW + (i % FLOWS_PER_WINDOW);
}

/** Publishes events `from`..`to`-1, `IN_FLIGHT` at once. */
async function fill(client: NatsClient, from: number, to: number): Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  const started = Date.now();
  for (let i = from; i < to; i++) {
    const p = client.publish({ eventType: 'vector.bench.upserted', correlationId: flowId(flowOf(i)), data: { i, text: 'x'.repeat(200) } });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    if ((i + 1) % 100_000 === 0) log(`  stored ${i + 1} events (${Math.round((i + 1 - from) / ((Date.now() - started) / 1000))}/s)`);
  }
  await Promise.all(inFlight);
}

/** Median time (ms) and messages delivered of `read` over `flows`, one read per flow. */
async function measure(reader: NatsClient, flows: number[], read: (id: string) => Promise<number>): Promise<{ ms: number; delivered: number; found: number }> {
  const times: number[] = [];
  const delivered: number[] = [];
  let found = 0;
  for (const flow of flows) {
    const before = reader.natsConnection.stats().inMsgs;
    const t = performance.now();
    found = await read(flowId(flow));
    times.push(performance.now() - t);
    delivered.push(reader.natsConnection.stats().inMsgs - before);
  }
  return { ms: median(times), delivered: median(delivered), found };
}

const server = await NatsServer.start();
const logger = pino({ level: 'warn' });
const writer = new NatsClient({ servers: [server.url] }, 'bench-writer', { logger, deadLetterWatcher: false });
const reader = new NatsClient({ servers: [server.url] }, 'bench-reader', { logger, deadLetterWatcher: false });
const rows: string[] = [];
const notes: string[] = [];
try {
  await writer.connect();
  await reader.connect();
  const indexer = await writer.startCorrelationIndexer();
  const { jsm } = writer.jetstream;
  let stored = 0;
  for (const size of sizes) {
    log(`filling EVENTS to ${size} events`);
    const started = Date.now();
    await fill(writer, stored, size);
    const filledAt = Date.now();
    await waitFor(
      async () => {
        const info = await jsm.consumers.info(StreamNames.EVENTS, CORRELATION_INDEXER);
        return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
      },
      30 * 60_000,
      'the indexer to catch up',
      500,
    );
    const filling = `${size.toLocaleString('en-US')} events: stored in ${((filledAt - started) / 1000).toFixed(1)} s (indexer running), indexer caught up ${((Date.now() - filledAt) / 1000).toFixed(1)} s later`;
    log(`  ${filling}`);
    notes.push(`- ${filling}`);
    stored = size;
    const flowCount = Math.floor(size / EVENTS_PER_FLOW);
    // Flows from the oldest to the newest part of the stream.
    const pick = (n: number): number[] => Array.from({ length: n }, (_, k) => Math.floor(((k + 0.5) / n) * flowCount));
    const flows = pick(INDEX_READS);
    const indexed = await measure(reader, flows, async (id) => (await reader.readCorrelation(id)).events.length);
    log(`  index: median ${indexed.ms.toFixed(2)} ms, ${indexed.delivered} messages delivered, ${indexed.found} events`);
    // The same flows again: the server has their message blocks in memory now.
    const warm = await measure(reader, flows, async (id) => (await reader.readCorrelation(id)).events.length);
    log(`  index, same flows again: median ${warm.ms.toFixed(2)} ms`);
    // The index part alone: the indexer's position and the flow's index message.
    const lookup = await measure(reader, flows, async (id) => {
      const { jsm: readerJsm } = reader.jetstream;
      await readerJsm.consumers.info(StreamNames.EVENTS, CORRELATION_INDEXER);
      const entry = await readerJsm.streams.getMessage(StreamNames.EVENT_INDEX, { last_by_subj: correlationIndexSubject(id) });
      return (entry?.json<{ seqs: number[] }>().seqs ?? []).length;
    });
    log(`  index lookup alone: median ${lookup.ms.toFixed(2)} ms`);
    const scanReads = size > 100_000 ? 3 : 5;
    const scanned = await measure(reader, pick(scanReads), async (id) => {
      let found = 0;
      for await (const _ of reader.readEvents({ correlationId: id })) found += 1;
      return found;
    });
    log(`  scan:  median ${scanned.ms.toFixed(2)} ms, ${scanned.delivered} messages delivered, ${scanned.found} events`);
    const n = size.toLocaleString('en-US');
    rows.push(`| ${n} | readCorrelation (index) | ${INDEX_READS} | ${indexed.ms.toFixed(1)} ms | ${indexed.delivered} | ${indexed.found} |`);
    rows.push(`| ${n} | readCorrelation, the same flows again | ${INDEX_READS} | ${warm.ms.toFixed(1)} ms | ${warm.delivered} | ${warm.found} |`);
    rows.push(`| ${n} | its index lookup alone (consumer info + last-by-subject get) | ${INDEX_READS} | ${lookup.ms.toFixed(1)} ms | ${lookup.delivered} | ${lookup.found} |`);
    rows.push(`| ${n} | readEvents({ correlationId }) (scan) | ${scanReads} | ${scanned.ms.toFixed(1)} ms | ${scanned.delivered} | ${scanned.found} |`);
  }
  await indexer.stop();
  process.stdout.write(
    [
      `nats-server ${reader.natsConnection.info?.version ?? '?'}, Node ${process.version}, ${new Date().toISOString()}, run ${randomUUID().slice(0, 8)}`,
      '',
      '| stored events | read | reads | median time | messages delivered to the reader (median) | events of the flow |',
      '| ---: | --- | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      ...notes,
      '',
    ].join('\n'),
  );
} finally {
  await reader.close();
  await writer.close();
  await server.stop();
}
