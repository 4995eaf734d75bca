// Guide, "Using the NATS Client" 5. Token Streaming. The model service and the frontend run
// side by side here; the frontend subscribes first because a core subscription sees only
// what is published after it (subscribeStream() reads from the first token instead).
import { NatsClient, defaultNatsConfig } from '@multi-agent/nats-client';
import { v4 as uuidv4 } from 'uuid';

const natsClient = new NatsClient(defaultNatsConfig, 'model-service');
await natsClient.connect();
const connection = natsClient.connection;
const executionId = uuidv4();

/** A stand-in for an LLM's token stream. */
async function* tokens(): AsyncGenerator<string> {
  for (const token of ['The ', 'answer ', 'is ', '42.']) yield token;
}
const llmStream = tokens();
const shown: string[] = [];
const displayToken = (token: string): void => void shown.push(token);

async function modelService(): Promise<void> {
  // --- guide ---
  // Model service: Stream tokens
  for await (const token of llmStream) {
    await natsClient.publishStream(
      `model.token.stream.${executionId}`,
      token,
      false // not complete
    );
  }

  // Send completion signal
  await natsClient.publishStream(
    `model.token.stream.${executionId}`,
    '',
    true // complete
  );
  // --- guide ---
}

async function frontend(): Promise<void> {
  // --- guide ---
  // Frontend: Subscribe to stream
  const subscription = connection.subscribe(
    `model.token.stream.${executionId}`
  );

  for await (const msg of subscription) {
    const { token, isComplete } = JSON.parse(msg.data);
    if (isComplete) break;
    displayToken(token);
  }
  // --- guide ---
}

const reading = frontend();
await natsClient.natsConnection.flush();
await modelService();
await reading;
const replayed: string[] = [];
for await (const t of natsClient.subscribeStream(executionId)) replayed.push(t.token);
console.log(`shown=${JSON.stringify(shown.join(''))} replayed=${JSON.stringify(replayed.join(''))}`);
await natsClient.close();
