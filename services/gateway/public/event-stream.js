// Server-Sent Events over fetch: an EventSource cannot send an Authorization header, and a
// token in the URL would end up in access logs. Same surface as the part of EventSource the
// console uses: `onmessage`, `addEventListener(type)` (`end`, `error`, ...), `close()`. A dropped
// connection reconnects after the server's `retry` with `Last-Event-ID`; a refusal (4xx/5xx) is
// an `error` event with the answer's JSON as `data`, and no retry.

import { authFetch } from './auth.js';

export class EventStream extends EventTarget {
  onmessage = null;
  #url;
  #abort = new AbortController();
  #closed = false;
  #lastEventId;
  #retryMs = 1000;

  constructor(url) {
    super();
    this.#url = url;
    void this.#run();
  }

  close() {
    this.#closed = true;
    this.#abort.abort();
  }

  async #run() {
    while (!this.#closed) {
      try {
        const headers = { accept: 'text/event-stream', ...(this.#lastEventId === undefined ? {} : { 'last-event-id': this.#lastEventId }) };
        const response = await authFetch(this.#url, { headers, signal: this.#abort.signal });
        if (!response.ok) {
          const body = await response.json().catch(() => ({ error: 'HTTP_ERROR', message: `HTTP ${response.status}` }));
          this.#dispatch('error', JSON.stringify(body));
          return;
        }
        await this.#read(response.body);
      } catch {
        // A dropped connection, or close(): the loop decides.
      }
      if (this.#closed) return;
      this.dispatchEvent(new Event('error'));
      await new Promise((resolve) => setTimeout(resolve, this.#retryMs));
    }
  }

  async #read(body) {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of body) {
      buffer += decoder.decode(chunk, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        this.#handleBlock(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (this.#closed) return;
      }
    }
  }

  #handleBlock(block) {
    let type = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      const colon = line.indexOf(':');
      if (colon === 0) continue; // a comment (keep-alive)
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') this.#lastEventId = value;
      else if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
      else if (field === 'retry' && /^\d+$/.test(value)) this.#retryMs = Number(value);
    }
    if (data.length > 0) this.#dispatch(type, data.join('\n'));
  }

  #dispatch(type, data) {
    const event = new MessageEvent(type, { data, lastEventId: this.#lastEventId ?? '' });
    if (type === 'message') this.onmessage?.(event);
    this.dispatchEvent(event);
  }
}
