// Internal: tiny GET helper for the nats-server monitoring endpoint (no keep-alive, bounded time).
import { get } from 'node:http';

/** Status code and body of one GET request. */
export interface HttpResult {
  status: number;
  body: string;
}

/** GETs `http://127.0.0.1:<port><path>`; rejects on connection errors or after `timeoutMs`. */
export function httpGet(port: number, path: string, timeoutMs = 2_000): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} on port ${port} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** GETs a monitoring path and parses the JSON body; rejects unless the status is 200. */
export async function httpGetJson(port: number, path: string, timeoutMs?: number): Promise<unknown> {
  const { status, body } = await httpGet(port, path, timeoutMs);
  if (status !== 200) throw new Error(`GET ${path} on port ${port} answered ${status}: ${body.slice(0, 200)}`);
  return JSON.parse(body) as unknown;
}
