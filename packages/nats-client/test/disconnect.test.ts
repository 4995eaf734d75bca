import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServer } from '@multi-agent/testing';
import { NotConnectedError, PublishError } from '../src/index.js';
import type { NatsClient } from '../src/index.js';
import { connectClient, testEvent, uniqueToken, waitFor } from './support.js';

let server: NatsServer;

beforeAll(async () => {
  server = await NatsServer.start();
});

afterAll(async () => {
  await server.stop();
});

async function disconnected(c: NatsClient): Promise<void> {
  await server.kill();
  await waitFor(() => !c.isConnected, 10_000, 'the client to notice the disconnect');
}

describe('publish while disconnected', () => {
  it('fails at once with NotConnectedError when whenDisconnected is "fail"', async () => {
    const c = await connectClient(server.url, 'failfast', { whenDisconnected: 'fail', reconnectTimeWait: 100 });
    try {
      await disconnected(c);
      await expect(c.publish(testEvent(`vector.${uniqueToken()}.x`))).rejects.toThrow(NotConnectedError);
    } finally {
      await server.restart();
      await c.close();
    }
  });

  it('buffers and stores the event after the reconnect when whenDisconnected is "buffer"', async () => {
    const c = await connectClient(server.url, 'buffering', { whenDisconnected: 'buffer', reconnectTimeWait: 100, publishTimeoutMs: 10_000 });
    try {
      await disconnected(c);
      const event = testEvent(`vector.${uniqueToken()}.x`);
      const publishing = c.publish(event);
      await server.restart();
      const result = await publishing;
      expect(result.stream).toBe('EVENTS');
      const stored = await c.jetstream.jsm.streams.getMessage('EVENTS', { seq: result.seq! });
      expect(stored?.json<{ eventId: string }>().eventId).toBe(event.eventId);
    } finally {
      await c.close();
    }
  });

  it('fails with PublishError, never a false success, when the server stays away past the publish timeout', async () => {
    const c = await connectClient(server.url, 'timeouts', { reconnectTimeWait: 100, publishTimeoutMs: 500 });
    try {
      await disconnected(c);
      await expect(c.publish(testEvent(`vector.${uniqueToken()}.x`))).rejects.toThrow(PublishError);
    } finally {
      await server.restart();
      await c.close();
    }
  });
});
