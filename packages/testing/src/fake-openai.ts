/** Test support: a fake OpenAI-compatible chat completions server speaking the streaming SSE format. */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A fake OpenAI-compatible server: answers POST /v1/chat/completions with a scripted SSE body. */
export class FakeOpenAi {
  server!: Server;
  requests: { headers: IncomingMessage['headers']; body: Record<string, unknown> }[] = [];
  script: (res: ServerResponse) => void = () => undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        this.requests.push({ headers: req.headers, body: JSON.parse(raw) as Record<string, unknown> });
        if (req.url !== '/v1/chat/completions') {
          res.writeHead(404).end();
          return;
        }
        this.script(res);
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

