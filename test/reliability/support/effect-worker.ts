/**
 * Child-process fixture for the crash tests: a worker whose handler has a side effect visible
 * outside the process (a line appended to a file). Configured from the environment like a real
 * service (NATS_URL, NATS_IDEMPOTENCY_STORE=kv, NATS_ACK_WAIT_MS, ...) plus:
 *   WORKER_NAME, WORKER_SERVICE, WORKER_SUBJECT, WORKER_DURABLE, WORKER_EFFECT_FILE
 *   WORKER_HANG_AFTER_EFFECT=1: after the effect, never return from the handler (the test kills it there).
 *   WORKER_HANDLER_MS=n: the handler works (awaits) n ms before its effect, like a handler doing I/O.
 *   An event whose data has `poison: true` makes the handler write `CRASH <eventId> <name> attempt=<n>`
 *   and call process.exit() (what a native crash or an OOM looks like from outside).
 * Each effect is a line `<eventId> <name> attempt=<n> seq=<stream sequence> at=<epoch ms>`.
 * Prints `READY` once subscribed and `EFFECT <eventId> <attempt>` after each side effect.
 */
import { appendFileSync } from 'node:fs';
import { pino } from 'pino';
import { NatsClient, loadNatsConfig } from '@multi-agent/nats-client';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is required`);
  return value;
}

const name = required('WORKER_NAME');
const effectFile = required('WORKER_EFFECT_FILE');
const hang = process.env.WORKER_HANG_AFTER_EFFECT === '1';
const workMs = Number(process.env.WORKER_HANDLER_MS ?? '0');
const client = new NatsClient(loadNatsConfig(), required('WORKER_SERVICE'), {
  logger: pino({ level: process.env.TEST_LOG ?? 'silent' }),
  deadLetterWatcher: false,
});
await client.connect();
await client.subscribe(
  required('WORKER_SUBJECT'),
  async (event, ctx) => {
    if ((event.data as { poison?: unknown } | undefined)?.poison === true) {
      appendFileSync(effectFile, `CRASH ${event.eventId} ${name} attempt=${ctx.attempt}\n`);
      process.exit();
    }
    if (workMs > 0) await new Promise((resolve) => setTimeout(resolve, workMs));
    appendFileSync(effectFile, `${event.eventId} ${name} attempt=${ctx.attempt} seq=${ctx.streamSequence} at=${Date.now()}\n`);
    console.log(`EFFECT ${event.eventId} ${ctx.attempt}`);
    if (hang) await new Promise(() => undefined);
  },
  required('WORKER_DURABLE'),
);
console.log('READY');
process.once('SIGTERM', () => {
  void client.close().finally(() => process.exit(0));
});
