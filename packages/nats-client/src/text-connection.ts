/**
 * A thin view of the core connection whose messages carry `data` as a string, so the guide's
 * frontend snippet (`JSON.parse(msg.data)`) works as written. For anything else use `raw`.
 */
import type { Msg, NatsConnection, Subscription as NatsSubscription } from '@nats-io/nats-core';

/** A core NATS message with its payload decoded as UTF-8 text. */
export interface TextMsg {
  subject: string;
  /** The payload as a UTF-8 string. */
  data: string;
  /** Header value by name. */
  header(name: string): string | undefined;
  /** The raw message. */
  raw: Msg;
}

/** A core subscription yielding {@link TextMsg}s. */
export interface TextSubscription extends AsyncIterable<TextMsg> {
  unsubscribe(): void;
}

const decoder = new TextDecoder();

/** Core publish/subscribe with text payloads. */
export class TextConnection {
  constructor(readonly raw: NatsConnection) {}

  /** Subscribes to a subject (wildcards allowed); iterate it with `for await`. */
  subscribe(subject: string, options?: { queue?: string; max?: number }): TextSubscription {
    const sub: NatsSubscription = this.raw.subscribe(subject, options);
    return {
      unsubscribe: () => sub.unsubscribe(),
      async *[Symbol.asyncIterator]() {
        try {
          for await (const msg of sub) {
            yield {
              subject: msg.subject,
              data: decoder.decode(msg.data),
              header: (name: string) => msg.headers?.get(name) || undefined,
              raw: msg,
            };
          }
        } finally {
          // Leaving the loop (e.g. `break` on completion) ends the server-side interest too.
          sub.unsubscribe();
        }
      },
    };
  }

  /** Publishes a string (or bytes) on a core subject. */
  publish(subject: string, data: string | Uint8Array): void {
    this.raw.publish(subject, data);
  }
}
