/**
 * Child-process fixture for F7: streams tokens to `model.token.stream.<PRODUCER_EXECUTION_ID>`
 * every PRODUCER_INTERVAL_MS (default 20) and never completes; the test SIGKILLs it mid-stream.
 * Prints `READY` once connected and `TOKEN <n>` after each token is handed to the client.
 */
import { pino } from 'pino';
import { subjects } from '@multi-agent/events';
import { NatsClient, loadNatsConfig } from '@multi-agent/nats-client';

const executionId = process.env.PRODUCER_EXECUTION_ID ?? '';
const interval = Number(process.env.PRODUCER_INTERVAL_MS ?? 20);
const client = new NatsClient(loadNatsConfig(), 'token-producer', {
  logger: pino({ level: process.env.TEST_LOG ?? 'silent' }),
  deadLetterWatcher: false,
});
await client.connect();
console.log('READY');
for (let n = 1; ; n++) {
  await client.publishStream(subjects.tokenStream(executionId), `tok${n} `, false);
  console.log(`TOKEN ${n}`);
  await new Promise((resolve) => setTimeout(resolve, interval));
}
