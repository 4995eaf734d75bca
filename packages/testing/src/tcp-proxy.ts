import { connect, createServer, type Server, type Socket } from 'node:net';

/** One client connection through the proxy and its upstream connection to the target. */
interface Pair {
  client: Socket;
  upstream: Socket;
}

/** Writes `chunk` to `to`, pausing `from` until `to` drains if its buffer is full. */
function forward(chunk: Buffer, from: Socket, to: Socket): void {
  if (to.destroyed) return;
  if (!to.write(chunk)) {
    from.pause();
    to.once('drain', () => from.resume());
  }
}

/**
 * A TCP proxy on `127.0.0.1` in front of a server (typically a {@link NatsServer}) for network
 * fault tests: drop every connection at once, swallow what clients send, or cut a connection
 * when a given chunk comes back from the server. Point the client at {@link TcpProxy.url}.
 *
 * @example
 * ```ts
 * const proxy = await TcpProxy.start({ port: server.port });
 * const nc = await connect({ servers: proxy.url });
 * proxy.cutAll(); // the client sees a dropped connection and reconnects through the proxy
 * ```
 */
export class TcpProxy {
  /** Port the proxy listens on. */
  readonly port: number;
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;

  private readonly server: Server;
  private readonly pairs = new Set<Pair>();
  private blackholed = false;
  private serverDataFn: ((chunk: Buffer) => boolean) | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(server: Server, port: number, private readonly target: { host: string; port: number }) {
    this.server = server;
    this.port = port;
    this.url = `nats://127.0.0.1:${port}`;
  }

  /**
   * Listens on `127.0.0.1` (on `options.listenPort`, default a free port) and forwards each
   * accepted connection to `target` (host default `127.0.0.1`).
   */
  static async start(target: { host?: string; port: number }, options: { listenPort?: number } = {}): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.listenPort ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('TcpProxy: listener reported no port');
    const proxy = new TcpProxy(server, address.port, { host: target.host ?? '127.0.0.1', port: target.port });
    server.on('connection', (client) => proxy.accept(client));
    return proxy;
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

  /**
   * While on, bytes from clients are dropped instead of forwarded (the server never sees them),
   * so e.g. a publish reaches nobody and no ack comes back. Connections stay open and new ones
   * are still accepted; server-to-client bytes still flow.
   */
  blackhole(on: boolean): void {
    this.blackholed = on;
  }

  /**
   * Calls `fn` for each chunk flowing server -> client; when it returns `false` the chunk is
   * dropped and that connection is cut (e.g. cut the connection right before a PubAck reaches
   * the client). A chunk may hold several protocol messages or part of one. `undefined` removes
   * the hook.
   */
  onServerData(fn: ((chunk: Buffer) => boolean) | undefined): void {
    this.serverDataFn = fn;
  }

  /** Stops listening and destroys every open connection. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.cutAll();
    });
    return this.stopping;
  }

  private accept(client: Socket): void {
    if (this.stopping) {
      client.destroy();
      return;
    }
    // Writes to `upstream` while it is still connecting are queued by node:net.
    const upstream = connect({ host: this.target.host, port: this.target.port });
    const pair: Pair = { client, upstream };
    this.pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (chunk: Buffer) => {
      if (!this.blackholed) forward(chunk, client, upstream);
    });
    upstream.on('data', (chunk: Buffer) => {
      const fn = this.serverDataFn;
      if (fn !== undefined && !fn(chunk)) {
        this.cut(pair);
        return;
      }
      forward(chunk, upstream, client);
    });
    for (const socket of [client, upstream]) {
      socket.on('error', () => this.cut(pair));
      socket.on('end', () => this.cut(pair));
      socket.on('close', () => this.cut(pair));
    }
  }

  private cut(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream.destroy();
  }
}
