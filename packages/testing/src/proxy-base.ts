/**
 * What every test proxy shares: listen on `127.0.0.1`, open one upstream connection per client,
 * keep the pairs so they can all be cut at once, and stop cleanly. Subclasses decide what
 * flows between the two sockets of a pair.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** One client connection through a proxy and its upstream connection to the target. */
export interface ProxyPair {
  client: Socket;
  upstream: Socket;
}

/** Writes `data` to `to`, pausing `from` until `to` drains if its buffer is full. */
export function forward(to: Socket, from: Socket, data: Buffer): void {
  if (to.destroyed || data.length === 0) return;
  if (!to.write(data)) {
    from.pause();
    to.once('drain', () => from.resume());
  }
}

/** Target and listener of a proxy being started. */
export interface ProxyEndpoints {
  server: Server;
  port: number;
  target: { host: string; port: number };
}

/** Listens on `127.0.0.1` (on `listenPort`, default a free port) for a proxy to `target`. */
export async function listenFor(target: { host?: string; port: number }, listenPort = 0): Promise<ProxyEndpoints> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('proxy: listener reported no port');
  return { server, port: address.port, target: { host: target.host ?? '127.0.0.1', port: target.port } };
}

/** Base of {@link TcpProxy} and {@link NatsProxy}. */
export abstract class ProxyBase {
  /** Port the proxy listens on. */
  readonly port: number;
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;

  private readonly server: Server;
  private readonly target: { host: string; port: number };
  private readonly pairs = new Set<ProxyPair>();
  private stopping: Promise<void> | undefined;

  protected constructor({ server, port, target }: ProxyEndpoints) {
    this.server = server;
    this.port = port;
    this.target = target;
    this.url = `nats://127.0.0.1:${port}`;
    server.on('connection', (client) => this.accept(client));
  }

  /** Number of open client connections through the proxy. */
  get connections(): number {
    return this.pairs.size;
  }

  /**
   * Destroys every open connection through the proxy at once (the client sees a dropped TCP
   * connection). New connections are still accepted.
   */
  cutAll(): void {
    for (const pair of [...this.pairs]) this.cut(pair);
  }

  /** Stops listening and destroys every open connection. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.cutAll();
    });
    return this.stopping;
  }

  /** Connects the data flow of a new pair (both sockets are already set up). */
  protected abstract wire(pair: ProxyPair): void;

  /** True while the pair is open. */
  protected isOpen(pair: ProxyPair): boolean {
    return this.pairs.has(pair);
  }

  /** Destroys one pair's sockets. */
  protected cut(pair: ProxyPair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream.destroy();
  }

  private accept(client: Socket): void {
    if (this.stopping) {
      client.destroy();
      return;
    }
    // Writes to `upstream` while it is still connecting are queued by node:net.
    const upstream = connect({ host: this.target.host, port: this.target.port });
    const pair: ProxyPair = { client, upstream };
    this.pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.wire(pair);
    for (const socket of [client, upstream]) {
      socket.on('error', () => this.cut(pair));
      socket.on('end', () => this.cut(pair));
      socket.on('close', () => this.cut(pair));
    }
  }
}
