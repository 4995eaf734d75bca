/**
 * Agents whose model chooses tools, end to end through the platform (gateway-less: the
 * execution request is published, the orchestration runs the workflow): with the local
 * deterministic provider, and with the OpenAI-compatible provider against a fake server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { EventSubjects } from '@multi-agent/events';
import type { DomainEvent } from '@multi-agent/events';
import { LocalModelProvider, OpenAiCompatibleProvider } from '@multi-agent/model-service';
import type { ModelProvider } from '@multi-agent/model-service';
import { validateWorkflow } from '@multi-agent/service-kit';
import { FakeOpenAi, NatsServer, openAiChunk, openAiToolCallChunks } from '@multi-agent/testing';
import { defineTool } from '@multi-agent/tool-service';
import { startInProcess } from './support/in-process.js';
import type { InProcessPlatform } from './support/in-process.js';
import { eventsOfType, executionEvents, requestExecution, waitForEnd, workflowMap } from './support/platform.js';

const calculator = { tool: 'calculator', description: 'Evaluates an arithmetic expression', parameters: { type: 'object', properties: { expression: { type: 'string' } }, required: ['expression'] } };

/** A tool the platform serves but no agent here may call: counts the times it runs. */
let shellRuns = 0;
const shell = defineTool({ id: 'shell', description: 'runs a command', inputSchema: z.looseObject({}), run: () => (shellRuns += 1) });

const workflows = workflowMap(
  validateWorkflow({
    id: 'solve',
    name: 'The model calls the calculator, then the clock',
    input: { a: { type: 'number', default: 21 } },
    nodes: [
      {
        id: 'solve',
        type: 'agent',
        agent: 'solver',
        prompt: 'Compute calculator({"expression": "{{input.a}} * 2"}) and say when: clock({"timeZone": "UTC"}).',
        modelTools: [calculator, { tool: 'clock' }],
      },
    ],
  }),
  validateWorkflow({
    id: 'overreach',
    name: 'The model names a tool the agent may not call',
    nodes: [{ id: 'try', type: 'agent', agent: 'overreacher', prompt: 'Run shell({"command": "cat /etc/passwd"}) for me.', modelTools: [calculator] }],
  }),
  validateWorkflow({
    id: 'endless',
    name: 'The model wants more steps than allowed',
    nodes: [
      {
        id: 'loop',
        type: 'agent',
        agent: 'looper',
        prompt: 'calculator({"expression": "1"}) calculator({"expression": "2"}) calculator({"expression": "3"})',
        modelTools: [calculator],
        maxSteps: 2,
      },
    ],
  }),
);

/** Starts the platform without the gateway on a server of its own. */
async function platformWith(provider: ModelProvider): Promise<{ server: NatsServer; platform: InProcessPlatform }> {
  const server = await NatsServer.start();
  const platform = await startInProcess(server.url, { services: ['orchestration', 'agent', 'tool', 'model'], workflows, tools: [shell], provider });
  return { server, platform };
}

function byId(events: DomainEvent[], eventId: string | undefined): DomainEvent {
  const found = events.find((e) => e.eventId === eventId);
  if (found === undefined) throw new Error(`no event ${eventId} in the execution`);
  return found;
}

describe('with the local deterministic provider', () => {
  let server: NatsServer;
  let platform: InProcessPlatform;
  beforeAll(async () => {
    ({ server, platform } = await platformWith(new LocalModelProvider({ tokenDelayMs: 1 })));
  });
  afterAll(async () => {
    await platform?.stop();
    await server?.stop();
  });

  it('runs each tool call the model asks for through the tool service and feeds the result back, each step an event of the causation tree', async () => {
    const executionId = await requestExecution(platform.observer, 'solve', { a: 21 });
    const state = await waitForEnd(platform.store, executionId);
    expect(state.status).toBe('completed');
    expect(state.nodes.solve!.output).toMatchObject({ steps: 3, model: 'local-deterministic' });

    const events = await executionEvents(platform.observer, executionId);
    const request = eventsOfType(events, EventSubjects.AGENT_EXECUTION_REQUESTED)[0]!;
    const modelRequests = eventsOfType(events, EventSubjects.MODEL_INFERENCE_REQUESTED);
    const calls = eventsOfType(events, EventSubjects.AGENT_TOOL_CALLED);
    expect(modelRequests).toHaveLength(3);
    expect(modelRequests.every((e) => e.version === '1.1')).toBe(true);
    expect(modelRequests[0]!.data).toMatchObject({ tools: [{ name: 'calculator', description: calculator.description, parameters: calculator.parameters }, { name: 'clock' }] });
    expect(calls.map((e) => e.data)).toEqual([
      expect.objectContaining({ step: 1, toolId: 'calculator', input: { expression: '21 * 2' }, output: { expression: '21 * 2', value: 42 } }),
      expect.objectContaining({ step: 2, toolId: 'clock', input: { timeZone: 'UTC' }, output: expect.objectContaining({ timeZone: 'UTC' }) as unknown }),
    ]);
    // The causation tree: request -> model 1 -> answer 1 -> tool call 1 -> model 2 -> answer 2 -> tool call 2 -> model 3 -> answer 3.
    expect(modelRequests[0]!.causationId).toBe(request.eventId);
    for (const [i, call] of calls.entries()) {
      const answer = byId(events, call.causationId);
      expect(answer.eventType).toBe(EventSubjects.MODEL_INFERENCE_COMPLETED);
      expect(answer.causationId).toBe(modelRequests[i]!.eventId);
      expect(modelRequests[i + 1]!.causationId).toBe(call.eventId);
    }
    // The last step's conversation carries both results back to the model.
    const last = modelRequests[2]!.data as { messages: { role: string; content: string }[] };
    expect(last.messages.filter((m) => m.role === 'tool').map((m) => JSON.parse(m.content) as unknown)).toEqual([
      { output: { expression: '21 * 2', value: 42 } },
      { output: (calls[1]!.data as { output: unknown }).output },
    ]);
    const completed = eventsOfType(events, EventSubjects.AGENT_EXECUTION_COMPLETED)[0]!;
    expect(completed.causationId).toBe(request.eventId);
  });

  it('refuses a tool the agent may not call and tells the model; the tool never runs', async () => {
    const executionId = await requestExecution(platform.observer, 'overreach');
    const state = await waitForEnd(platform.store, executionId);
    expect(state.status).toBe('completed');
    const events = await executionEvents(platform.observer, executionId);
    const [call] = eventsOfType(events, EventSubjects.AGENT_TOOL_CALLED);
    expect(call!.data).toMatchObject({ toolId: 'shell', input: { command: 'cat /etc/passwd' }, error: { code: 'TOOL_NOT_ALLOWED' } });
    expect(call!.data).not.toHaveProperty('output');
    const told = eventsOfType(events, EventSubjects.MODEL_INFERENCE_REQUESTED)[1]!.data as { messages: { role: string; content: string }[] };
    expect(JSON.parse(told.messages.at(-1)!.content)).toMatchObject({ error: { code: 'TOOL_NOT_ALLOWED' } });
    expect(shellRuns).toBe(0);
  });

  it('fails the node with AGENT_MAX_STEPS when the model still asks for tools after the last step', async () => {
    const executionId = await requestExecution(platform.observer, 'endless');
    const state = await waitForEnd(platform.store, executionId);
    expect(state.status).toBe('failed');
    expect(state.nodes.loop).toMatchObject({ status: 'failed', error: { code: 'AGENT_MAX_STEPS' } });
    const events = await executionEvents(platform.observer, executionId);
    expect(eventsOfType(events, EventSubjects.MODEL_INFERENCE_REQUESTED)).toHaveLength(2);
    expect(eventsOfType(events, EventSubjects.AGENT_TOOL_CALLED)).toHaveLength(2);
  });
});

describe('with the OpenAI-compatible provider (fake server returning tool_calls)', () => {
  const fake = new FakeOpenAi();
  let server: NatsServer;
  let platform: InProcessPlatform;
  beforeAll(async () => {
    const baseUrl = await fake.start();
    // First the model asks for the calculator; once a tool result is in the conversation, it answers.
    fake.script = (res, request) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const messages = request.body.messages as { role: string; content: string }[];
      const result = messages.find((m) => m.role === 'tool');
      if (result === undefined) res.end(openAiToolCallChunks([{ id: 'call_1', name: 'calculator', arguments: { expression: '6 * 7' } }]));
      else res.end(`${openAiChunk('The answer is ')}${openAiChunk(String((JSON.parse(result.content) as { output: { value: number } }).output.value))}data: [DONE]\n\n`);
    };
    ({ server, platform } = await platformWith(new OpenAiCompatibleProvider({ baseUrl, model: 'fake-model' })));
  });
  afterAll(async () => {
    await platform?.stop();
    await server?.stop();
    await fake.stop();
  });

  it('sends the offered tools, runs the tool_calls the server streams, and returns the final text', async () => {
    const executionId = await requestExecution(platform.observer, 'solve', { a: 1 });
    const state = await waitForEnd(platform.store, executionId);
    expect(state.status).toBe('completed');
    expect(state.nodes.solve!.output).toMatchObject({ text: 'The answer is 42', steps: 2, model: 'fake-model' });
    const [first, second] = fake.requests.slice(-2).map((r) => r.body);
    expect(first!.tools).toEqual([
      { type: 'function', function: { name: 'calculator', description: calculator.description, parameters: calculator.parameters } },
      { type: 'function', function: { name: 'clock', parameters: { type: 'object' } } },
    ]);
    expect(second!.messages).toEqual([
      { role: 'user', content: expect.stringContaining('Compute calculator') as unknown },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'calculator', arguments: '{"expression":"6 * 7"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"output":{"expression":"6 * 7","value":42}}' },
    ]);
    const events = await executionEvents(platform.observer, executionId);
    expect(eventsOfType(events, EventSubjects.AGENT_TOOL_CALLED).map((e) => e.data)).toEqual([
      expect.objectContaining({ step: 1, callId: 'call_1', toolId: 'calculator', output: { expression: '6 * 7', value: 42 } }),
    ]);
  });
});
