/** Test support: read a Server-Sent Events answer with fetch and parse it into events. */

/** One SSE event. */
export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** Options of {@link readSse}. */
export interface ReadSseOptions {
  headers?: Record<string, string>;
  /** Stop after this many events (the connection is dropped, like a browser losing it). */
  limit?: number;
  timeoutMs?: number;
}

/** Reads SSE events from `url` until the server ends the answer (or `limit` events arrived). */
export async function readSse(url: string, options: ReadSseOptions = {}): Promise<{ status: number; events: SseEvent[] }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`SSE read timed out: ${url}`)), options.timeoutMs ?? 20_000);
  try {
    const response = await fetch(url, { headers: { accept: 'text/event-stream', ...options.headers }, signal: abort.signal });
    const events: SseEvent[] = [];
    if (response.body === null || response.status !== 200) return { status: response.status, events };
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: SseEvent = { event: 'message', data: '' };
        let hasData = false;
        for (const line of block.split('\n')) {
          if (line.startsWith('id: ')) event.id = line.slice(4);
          else if (line.startsWith('event: ')) event.event = line.slice(7);
          else if (line.startsWith('data: ')) {
            event.data += line.slice(6);
            hasData = true;
          }
        }
        if (!hasData) continue;
        events.push(event);
        if (options.limit !== undefined && events.length >= options.limit) {
          abort.abort();
          return { status: response.status, events };
        }
      }
    }
    return { status: response.status, events };
  } finally {
    clearTimeout(timer);
  }
}

/** The text of the token events (of one node, when `nodeId` is given). */
export function tokenText(events: SseEvent[], nodeId?: string): string {
  return events
    .filter((e) => e.event === 'message')
    .map((e) => JSON.parse(e.data) as { token: string; nodeId?: string })
    .filter((t) => nodeId === undefined || t.nodeId === nodeId)
    .map((t) => t.token)
    .join('');
}
