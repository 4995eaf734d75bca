import { ProxyBase, forward, listenFor, type ProxyPair } from './proxy-base.js';

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
export class TcpProxy extends ProxyBase {
  private blackholed = false;
  private serverDataFn: ((chunk: Buffer) => boolean) | undefined;

  /**
   * Listens on `127.0.0.1` (on `options.listenPort`, default a free port) and forwards each
   * accepted connection to `target` (host default `127.0.0.1`).
   */
  static async start(target: { host?: string; port: number }, options: { listenPort?: number } = {}): Promise<TcpProxy> {
    return new TcpProxy(await listenFor(target, options.listenPort));
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

  protected wire(pair: ProxyPair): void {
    const { client, upstream } = pair;
    client.on('data', (chunk: Buffer) => {
      if (!this.blackholed) forward(upstream, client, chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      const fn = this.serverDataFn;
      if (fn !== undefined && !fn(chunk)) {
        this.cut(pair);
        return;
      }
      forward(client, upstream, chunk);
    });
  }
}
