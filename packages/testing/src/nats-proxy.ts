import type { Socket } from 'node:net';
import { ProxyBase, forward, listenFor, type ProxyPair } from './proxy-base.js';

/** Which way a protocol operation travels through a {@link NatsProxy}. */
export type NatsOpDirection = 'client-to-server' | 'server-to-client';

/**
 * One NATS protocol operation seen by a {@link NatsProxy}: `PUB`/`HPUB`/`SUB`/`CONNECT`... from
 * the client, `MSG`/`HMSG`/`INFO`/`+OK`... from the server.
 */
export interface NatsOp {
  /** Upper-case operation name: `PUB`, `HPUB`, `MSG`, `HMSG`, `SUB`, `UNSUB`, `PING`, `INFO`... */
  readonly op: string;
  /** Subject of `PUB`/`HPUB`/`MSG`/`HMSG`/`SUB`. */
  readonly subject?: string | undefined;
  /** Reply subject of `PUB`/`HPUB`/`MSG`/`HMSG`, when it has one. */
  readonly reply?: string;
  /** Header block of `HPUB`/`HMSG` (`NATS/1.0\r\n...`), as text. */
  readonly headers?: string;
  /** Payload of `PUB`/`HPUB`/`MSG`/`HMSG` (without headers). */
  readonly payload?: Buffer;
  /** The control line, e.g. `PUB orders.new _INBOX.x 42`. */
  readonly line: string;
  /** The whole operation as it travels on the wire. */
  readonly raw: Buffer;
}

/**
 * What happens to an operation: forwarded (`pass`), silently swallowed (`drop`; the connection
 * stays open), or swallowed and the connection cut (`cut`; the client sees a dropped TCP
 * connection, as when a network link dies).
 */
export type NatsOpVerdict = 'pass' | 'drop' | 'cut';

/** Decides the fate of one operation; may also act (e.g. SIGKILL a worker) before answering. */
export type NatsOpHook = (op: NatsOp, direction: NatsOpDirection) => NatsOpVerdict | void;

const CRLF = Buffer.from('\r\n');
/** Operations followed by a payload (its size is the last argument, header size the one before). */
const WITH_PAYLOAD = new Set(['PUB', 'HPUB', 'MSG', 'HMSG']);
/** A control line longer than this without CRLF is not NATS protocol: pass it through unparsed. */
const MAX_CONTROL_LINE = 64 * 1024;

/** Splits a byte stream into whole NATS protocol operations. */
class OpFramer {
  private buffer: Buffer = Buffer.alloc(0);
  private broken = false;

  /** Appends `chunk`; returns the operations it completed (an incomplete tail is kept). */
  push(chunk: Buffer): { ops: NatsOp[]; passthrough?: Buffer } {
    if (this.broken) return { ops: [], passthrough: chunk };
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const ops: NatsOp[] = [];
    let offset = 0;
    for (;;) {
      const eol = this.buffer.indexOf(CRLF, offset);
      if (eol < 0) {
        if (this.buffer.length - offset > MAX_CONTROL_LINE) return this.giveUp(ops, offset);
        break;
      }
      const line = this.buffer.toString('latin1', offset, eol);
      const parts = line.trim().split(/\s+/);
      const op = (parts[0] ?? '').toUpperCase();
      let end = eol + 2;
      let parsed: Omit<NatsOp, 'raw'> = { op, line };
      if (WITH_PAYLOAD.has(op)) {
        const args = parts.slice(1);
        const total = Number(args.at(-1));
        const headerBytes = op.startsWith('H') ? Number(args.at(-2)) : 0;
        if (!Number.isInteger(total) || !Number.isInteger(headerBytes)) return this.giveUp(ops, offset);
        end = eol + 2 + total + 2;
        if (this.buffer.length < end) break;
        const body = this.buffer.subarray(eol + 2, eol + 2 + total);
        // PUB subj [reply] n | HPUB subj [reply] h n | MSG subj sid [reply] n | HMSG subj sid [reply] h n
        const withoutReply = op === 'PUB' ? 2 : op === 'HMSG' ? 4 : 3;
        const reply = args.length > withoutReply ? args[op.endsWith('MSG') ? 2 : 1] : undefined;
        parsed = {
          op,
          line,
          subject: args[0],
          ...(reply !== undefined ? { reply } : {}),
          ...(headerBytes > 0 ? { headers: body.toString('utf8', 0, headerBytes) } : {}),
          payload: Buffer.from(body.subarray(headerBytes)),
        };
      } else if (op === 'SUB') {
        parsed = { op, line, subject: parts[1] };
      }
      ops.push({ ...parsed, raw: Buffer.from(this.buffer.subarray(offset, end)) });
      offset = end;
    }
    this.buffer = Buffer.from(this.buffer.subarray(offset));
    return { ops };
  }

  private giveUp(ops: NatsOp[], offset: number): { ops: NatsOp[]; passthrough: Buffer } {
    // Not NATS protocol (e.g. TLS): forward the rest untouched from now on.
    this.broken = true;
    const passthrough = Buffer.from(this.buffer.subarray(offset));
    this.buffer = Buffer.alloc(0);
    return { ops, passthrough };
  }
}

/**
 * A NATS-protocol-aware TCP proxy on `127.0.0.1`: unlike {@link TcpProxy}, which sees raw TCP
 * chunks, it frames the byte stream into whole protocol operations in both directions and lets
 * a hook pass, drop or cut on a precise one, e.g. *cut the connection when the PubAck of this
 * publish comes back* or *swallow this consumer's ack and SIGKILL the worker that sent it*.
 *
 * Point a client at {@link NatsProxy.url}. Only plain-text NATS is understood (no TLS). In a
 * cluster, servers advertise their peers' URLs and a client may reconnect around the proxy:
 * put it in front of a single server.
 *
 * @example
 * ```ts
 * const proxy = await NatsProxy.start({ port: server.port });
 * // Cut the connection right before a PubAck reaches the client:
 * proxy.onServerOp((op) => (op.op === 'MSG' && op.payload?.includes('"seq":') ? 'cut' : 'pass'));
 * ```
 */
export class NatsProxy extends ProxyBase {
  private clientHook: NatsOpHook | undefined;
  private serverHook: NatsOpHook | undefined;

  /** Listens on `127.0.0.1` (`options.listenPort`, default a free port) and forwards to `target`. */
  static async start(target: { host?: string; port: number }, options: { listenPort?: number } = {}): Promise<NatsProxy> {
    return new NatsProxy(await listenFor(target, options.listenPort));
  }

  /** Hook for operations from clients (`PUB`, `HPUB`, `SUB`, `CONNECT`, ...); `undefined` removes it. */
  onClientOp(hook: NatsOpHook | undefined): void {
    this.clientHook = hook;
  }

  /** Hook for operations from the server (`MSG`, `HMSG`, `INFO`, `-ERR`, ...); `undefined` removes it. */
  onServerOp(hook: NatsOpHook | undefined): void {
    this.serverHook = hook;
  }

  protected wire(pair: ProxyPair): void {
    const fromClient = new OpFramer();
    const fromServer = new OpFramer();
    pair.client.on('data', (chunk: Buffer) => this.relay(pair, fromClient, chunk, pair.client, pair.upstream, 'client-to-server'));
    pair.upstream.on('data', (chunk: Buffer) => this.relay(pair, fromServer, chunk, pair.upstream, pair.client, 'server-to-client'));
  }

  private relay(pair: ProxyPair, framer: OpFramer, chunk: Buffer, from: Socket, to: Socket, direction: NatsOpDirection): void {
    if (!this.isOpen(pair)) return;
    const { ops, passthrough } = framer.push(chunk);
    const out: Buffer[] = [];
    for (const op of ops) {
      const hook = direction === 'client-to-server' ? this.clientHook : this.serverHook;
      const verdict = hook?.(op, direction) ?? 'pass';
      if (verdict === 'cut') {
        forward(to, from, Buffer.concat(out));
        this.cut(pair);
        return;
      }
      if (verdict === 'pass') out.push(op.raw);
    }
    if (passthrough !== undefined) out.push(passthrough);
    forward(to, from, Buffer.concat(out));
  }
}
