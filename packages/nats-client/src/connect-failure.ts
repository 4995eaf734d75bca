/**
 * Why a first connection failed, as one of the client's typed errors: refused credentials
 * (`AUTH_FAILED`), a failed TLS handshake (`TLS_FAILED`), anything else `NOT_CONNECTED`.
 *
 * One case needs a second look: a server that requires a client certificate (`verify: true`)
 * completes the TLS 1.3 handshake and only then sends its refusal, which nats.js does not
 * report; the connect just times out. After a timeout of a client with TLS settings the servers
 * are therefore probed with a handshake of our own, bounded by the connect timeout, and its TLS
 * error (if any) is reported.
 */
import type { EventBusError } from '@multi-agent/events';
import { errors } from '@nats-io/nats-core';
import { readFileSync } from 'node:fs';
import { isIP, connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { NatsConfig } from './config.js';
import { AuthFailedError, NotConnectedError, TlsFailedError } from './errors.js';
import { maskUrlCredentials } from './redact.js';

/** Node's and OpenSSL's codes for certificate and handshake failures. */
const TLS_ERROR_CODE = /^(ERR_SSL_|ERR_TLS_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|CERT_|HOSTNAME_MISMATCH)/;

/** The first `code` on the error or its causes that names a TLS failure. */
function tlsErrorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TLS_ERROR_CODE.test(code)) return code;
  }
  return undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The typed error for a failed first connect to `config.servers`. */
export async function connectFailure(err: unknown, config: NatsConfig): Promise<EventBusError> {
  const servers = maskUrlCredentials(config.servers.join(', '));
  if (err instanceof errors.AuthorizationError || err instanceof errors.UserAuthenticationExpiredError) {
    return new AuthFailedError(`${servers} refused the client's credentials: ${messageOf(err)}`, { cause: err });
  }
  // Only a client set up for TLS pays for the probe: a plain timeout stays one connect timeout.
  const probe = err instanceof errors.TimeoutError && config.tls !== undefined;
  const refusal = tlsErrorCode(err) !== undefined ? err : probe ? await tlsRefusal(config) : undefined;
  if (refusal !== undefined) {
    return new TlsFailedError(`TLS handshake with ${servers} failed (${tlsErrorCode(refusal) ?? 'TLS'}): ${messageOf(refusal)}`, { cause: refusal });
  }
  return new NotConnectedError(maskUrlCredentials(`could not connect to ${servers}: ${messageOf(err)}`));
}

/** The first TLS error a handshake with one of the servers ends in, or `undefined`. */
async function tlsRefusal(config: NatsConfig): Promise<Error | undefined> {
  const deadline = Date.now() + config.connectTimeoutMs;
  for (const server of config.servers) {
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    const error = await handshakeError(server, config.tls, left);
    if (error !== undefined) return error;
  }
  return undefined;
}

/**
 * Reads the server's INFO, upgrades to TLS as nats.js does and sends a PING: resolves the TLS
 * error that ends this, or `undefined` when the server answered, is not TLS or is unreachable.
 */
async function handshakeError(server: string, tls: NatsConfig['tls'], timeoutMs: number): Promise<Error | undefined> {
  const { hostname, port } = new URL(server.replace(/^\w+:/, 'http:'));
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  let files: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  try {
    files = {
      ...(tls?.caFile === undefined ? {} : { ca: readFileSync(tls.caFile) }),
      ...(tls?.certFile === undefined ? {} : { cert: readFileSync(tls.certFile) }),
      ...(tls?.keyFile === undefined ? {} : { key: readFileSync(tls.keyFile) }),
    };
  } catch {
    return undefined; // nats.js reported the unreadable file already
  }
  return new Promise((resolve) => {
    const sockets: Socket[] = [];
    const done = (error?: Error): void => {
      // Resolve first: destroying a socket can emit 'close' (and so call this) synchronously.
      resolve(error);
      clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
    };
    const timer = setTimeout(done, timeoutMs);
    const tcp = tcpConnect({ host, port: port === '' ? 4222 : Number(port) });
    sockets.push(tcp);
    tcp.once('error', () => done());
    let info = '';
    tcp.on('data', (chunk: Buffer) => {
      info += chunk.toString('latin1');
      if (!info.includes('\r\n')) return;
      tcp.removeAllListeners('data');
      if (!/"tls_(required|available)":\s*true/.test(info)) {
        done();
        return;
      }
      const secure = tlsConnect({
        socket: tcp,
        host,
        ...(isIP(host) === 0 ? { servername: host } : {}),
        ...files,
      });
      sockets.push(secure);
      secure.once('error', done);
      secure.once('secureConnect', () => secure.write('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n'));
      secure.once('data', () => done());
      secure.once('close', () => done());
    });
  });
}
