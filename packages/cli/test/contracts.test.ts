import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse, stringify } from 'yaml';
import { pino } from 'pino';
import { EventSubjects, createEvent, encodeTokenMessage, eventToJson, subjects } from '@multi-agent/events';
import { NatsClient, NonRetryableError, StreamNames } from '@multi-agent/nats-client';
import { SERVICE_BUS_ACCESS } from '@multi-agent/service-kit';
import { NatsServer, waitFor } from '@multi-agent/testing';
import { ASYNCAPI_FILE, ContractError, SCHEMA_DIR, addressPattern, asyncApiDocument, contractFiles, main, messageContracts } from '../src/index.js';

const CHECKED_IN = fileURLToPath(new URL('../../../docs/contracts/', import.meta.url));
const REGENERATE = 'npx multi-agent schema --out docs/contracts';
// ajv-formats is CommonJS: the plugin is its `default` property.
const addFormats = addFormatsModule.default;

type Json = Record<string, unknown>;
const asyncapi = (): Json => parse(contractFiles().get(ASYNCAPI_FILE)!) as Json;

function schemaValidator(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('base64', /^[A-Za-z0-9+/]*={0,2}$/);
  return ajv;
}

/** The errors (not warnings or hints) the AsyncAPI parser finds in `text`: the specification, its rules, every `$ref`. */
async function asyncApiErrors(text: string): Promise<string[]> {
  const { diagnostics } = await new Parser().parse(text);
  // The parser also gives warnings, hints and information (such as a newer AsyncAPI version).
  // Its diagnostics carry the severity enum of another copy of @stoplight/types: compare values.
  const error: number = DiagnosticSeverity.Error;
  return diagnostics
    .filter((d) => {
      const severity: number = d.severity;
      return severity === error;
    }).map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`);
}

describe('contracts: the checked-in copy', () => {
  it(`is what the code generates (else run: ${REGENERATE})`, async () => {
    const generated = contractFiles();
    const stale: string[] = [];
    for (const [path, text] of generated) {
      const current = await readFile(join(CHECKED_IN, path), 'utf8').catch(() => undefined);
      if (current !== text) stale.push(current === undefined ? `${path} is missing` : `${path} differs`);
    }
    for (const name of await readdir(join(CHECKED_IN, SCHEMA_DIR))) {
      if (!generated.has(join(SCHEMA_DIR, name))) stale.push(`${join(SCHEMA_DIR, name)} is no longer generated`);
    }
    expect(stale, `docs/contracts is out of date; regenerate it with \`${REGENERATE}\` and commit the result`).toEqual([]);
  });
});

describe('contracts: the AsyncAPI document', () => {
  it('parses as valid AsyncAPI 3.0 with @asyncapi/parser, every $ref resolving', async () => {
    expect(await asyncApiErrors(contractFiles().get(ASYNCAPI_FILE)!)).toEqual([]);
    // The parser does reject what is not AsyncAPI, and a dangling reference.
    const doc = asyncapi();
    const broken = structuredClone(doc);
    (broken.operations as Record<string, Json>)['tool.serves.tool.execute.request']!.action = 'answer';
    expect(await asyncApiErrors(stringify(broken))).not.toEqual([]);
    const dangling = structuredClone(doc);
    (dangling.operations as Record<string, Json>)['tool.serves.tool.execute.request']!.channel = { $ref: '#/channels/nowhere' };
    expect((await asyncApiErrors(stringify(dangling))).join('\n')).toMatch(/invalid-ref/);
  });

  it('has a channel for every subject the code declares in EventSubjects', () => {
    const channels = Object.values(asyncapi().channels as Record<string, { address: string | null }>);
    const patterns = channels.flatMap((c) => (c.address === null ? [] : [addressPattern(c.address)]));
    // Prefixes (model.token.stream, dlq) stand for their parameterised subjects.
    const missing = Object.values(EventSubjects).filter((s) => !patterns.some((p) => p === s || p === `${s}.*`));
    expect(missing).toEqual([]);
  });

  it('describes request/reply, the token stream and the DLQ record with the headers the publisher sets', () => {
    const doc = asyncapi() as { channels: Record<string, Json>; operations: Record<string, Json>; components: { schemas: Record<string, Json>; messages: Record<string, Json> } };
    expect(doc.channels['model.token.stream']).toMatchObject({ address: 'model.token.stream.{executionId}', parameters: { executionId: {} } });
    expect(doc.channels['dlq']).toMatchObject({ address: 'dlq.{consumer}' });
    expect(doc.operations['tool.serves.tool.execute.request']).toMatchObject({ action: 'receive', reply: { channel: { $ref: '#/channels/tool.execute.request.reply' } } });
    expect(doc.operations['agent.calls.tool.execute.request']).toMatchObject({ action: 'send' });
    expect(doc.operations['model.consumes.model.inference.requested']).toMatchObject({ action: 'receive', 'x-durable': 'model-model_inference_requested' });
    expect(doc.components.schemas['event-headers']).toMatchObject({ required: ['Nats-Msg-Id', 'event-type', 'event-version', 'content-type'] });
    expect(Object.keys(doc.components.schemas['event-headers']!.properties as Json)).toEqual(expect.arrayContaining(['traceparent', 'correlation-id', 'causation-id']));
    expect(doc.components.messages['model.token.stream']!.headers).toBeUndefined();
  });

  it('has an operation for every durable consumer of the bus-access declaration', () => {
    const durables = Object.values(asyncapi().operations as Record<string, Json>).map((o) => o['x-durable']);
    for (const access of Object.values(SERVICE_BUS_ACCESS)) {
      for (const { durable } of access.consumes) if (durable !== undefined) expect(durables).toContain(durable);
    }
  });

  it('refuses a declaration naming a subject no contract carries', () => {
    const rogue = { publishes: ['billing.invoice.paid'], consumes: [], serves: [], calls: [], kvBuckets: [], objectStores: [], inspects: [], deletesFrom: [], getsFrom: [] };
    expect(() => asyncApiDocument(messageContracts(), [{ who: 'billing', access: rogue }])).toThrow(ContractError);
  });
});

describe('contracts: the event schemas against real messages', () => {
  let server: NatsServer;
  let client: NatsClient;
  const ajv = schemaValidator();
  const schemaOf = (name: string): ValidateFunction => ajv.compile(JSON.parse(contractFiles().get(join(SCHEMA_DIR, `${name}.schema.json`))!) as Json);

  beforeAll(async () => {
    server = await NatsServer.start();
    client = new NatsClient({ servers: [server.url], maxDeliverAttempts: 1 }, 'contracts', { logger: pino({ level: 'silent' }) });
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
    await server?.stop();
  });

  it('accepts an encoded event and rejects one whose data breaks the contract', () => {
    const validate = schemaOf(EventSubjects.WORKFLOW_EXECUTION_REQUESTED);
    const event = createEvent(EventSubjects.WORKFLOW_EXECUTION_REQUESTED, { workflowId: 'w1', userId: 'u1', executionId: 'e1' }, { correlationId: 'c1' });
    expect(validate(eventToJson(event)), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...eventToJson(event), data: { workflowId: 'w1', userId: 'u1', executionId: 'x.>' } })).toBe(false);
    expect(validate({ ...eventToJson(event), eventType: 'workflow.created' })).toBe(false);
  });

  it('accepts a token message as publishStream stores it', async () => {
    const subject = subjects.tokenStream('contract-tokens');
    await client.publishStream(subject, 'hello', false, { nodeId: 'greet' });
    const withNode = await client.jetstream.jsm.streams.getMessage(StreamNames.TOKENS, { last_by_subj: subject });
    expect(withNode!.json()).toMatchObject({ nodeId: 'greet' });
    expect(schemaOf(EventSubjects.MODEL_TOKEN_STREAM)(withNode!.json())).toBe(true);
    await client.publishStream(subject, '', true);
    const stored = await client.jetstream.jsm.streams.getMessage(StreamNames.TOKENS, { last_by_subj: subject });
    expect(schemaOf(EventSubjects.MODEL_TOKEN_STREAM)(stored!.json())).toBe(true);
    expect(schemaOf(EventSubjects.MODEL_TOKEN_STREAM)(JSON.parse(new TextDecoder().decode(encodeTokenMessage({ token: 'x', isComplete: false, seq: -1 }))))).toBe(false);
  });

  it('accepts a DLQ record as the client stores it, headers included', async () => {
    await client.subscribe('vector.contracts.*', () => {
      throw new NonRetryableError('rejected for the contract test');
    }, 'contracts-reader');
    await client.publish({ eventType: 'vector.contracts.created', data: {} });
    const [record] = await waitFor(async () => {
      const records = await client.deadLetters.list('contracts-reader');
      return records.length > 0 ? records : undefined;
    }, 10_000, 'a DLQ record');
    const stored = await client.jetstream.jsm.streams.getMessage(StreamNames.DLQ, { seq: record!.dlqSequence });
    const validate = schemaOf(EventSubjects.DLQ);
    expect(validate(stored!.json()), JSON.stringify(validate.errors)).toBe(true);
    const headers = Object.fromEntries([...stored!.header.keys()].map((k) => [k, stored!.header.get(k)]));
    const headerSchema = (asyncapi().components as { schemas: Record<string, Json> }).schemas['event-headers']!;
    expect(ajv.validate(headerSchema, headers), JSON.stringify(ajv.errors)).toBe(true);
  });
});

describe('multi-agent schema', () => {
  it('writes every file, replacing a schema that is no longer generated', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'contracts-'));
    try {
      expect(await main(['schema', '--out', dir], { out: () => undefined, err: () => undefined })).toBe(0);
      await writeFile(join(dir, SCHEMA_DIR, 'gone.subject.schema.json'), '{}');
      expect(await main(['schema', '--out', dir], { out: () => undefined, err: () => undefined })).toBe(0);
      for (const [path, text] of contractFiles()) expect(await readFile(join(dir, path), 'utf8')).toBe(text);
      expect((await readdir(join(dir, SCHEMA_DIR))).sort()).toEqual([...contractFiles().keys()].filter((p) => p.startsWith(SCHEMA_DIR)).map((p) => p.slice(SCHEMA_DIR.length + 1)).sort());
      expect(await main(['schema'], { out: () => undefined, err: () => undefined })).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
