/** Test support: a fake OpenAI-compatible chat completions server speaking the streaming SSE format. */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the fake received. */
export interface FakeOpenAiRequest {
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

/** A fake OpenAI-compatible server: answers POST /v1/chat/completions with a scripted SSE body. */
export class FakeOpenAi {
  server!: Server;
  requests: FakeOpenAiRequest[] = [];
  /** Writes the answer to `request` (the body it sent, e.g. its `messages` and `tools`). */
  script: (res: ServerResponse, request: FakeOpenAiRequest) => void = () => undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const request = { headers: req.headers, body: JSON.parse(raw) as Record<string, unknown> };
        this.requests.push(request);
        if (req.url !== '/v1/chat/completions') {
          res.writeHead(404).end();
          return;
        }
        this.script(res, request);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** One SSE chunk of a chat completion stream. */
export function chunk(content: string): string {
  return `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
}

/** A tool call the fake's model asks for. */
export interface FakeToolCall {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

/**
 * The SSE chunks of an answer that asks for `calls`, as OpenAI streams them: per call a first
 * fragment with its id and name, then its JSON arguments in two pieces, then `finish_reason:
 * tool_calls` and `[DONE]`.
 */
export function toolCallChunks(calls: readonly FakeToolCall[]): string {
  const data = (delta: unknown, finish: string | null = null): string =>
    `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const parts = calls.flatMap((call, index) => {
    const args = JSON.stringify(call.arguments);
    const half = Math.floor(args.length / 2);
    return [
      data({ role: 'assistant', content: null, tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }),
      data({ tool_calls: [{ index, function: { arguments: args.slice(0, half) } }] }),
      data({ tool_calls: [{ index, function: { arguments: args.slice(half) } }] }),
    ];
  });
  return `${parts.join('')}${data({}, 'tool_calls')}data: [DONE]\n\n`;
}
