/**
 * A throwaway public-key infrastructure for TLS tests, made with the `openssl` CLI: a CA, a
 * server certificate for 127.0.0.1 and a client certificate signed by it, and an unrelated CA
 * a client can wrongly trust.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Paths of the PEM files made by {@link makePki}. */
export interface Pki {
  /** The temp directory holding every file; remove it when done. */
  dir: string;
  /** The CA that signed the server and client certificates. */
  caFile: string;
  /** Server certificate for `127.0.0.1` and `localhost` (and the names passed to {@link makePki}). */
  serverCertFile: string;
  serverKeyFile: string;
  /** Client certificate (`clientAuth`) for mutual TLS. */
  clientCertFile: string;
  clientKeyFile: string;
  /** A CA that signed none of the above. */
  otherCaFile: string;
}

async function openssl(...args: string[]): Promise<void> {
  await run('openssl', args);
}

async function makeCa(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  await openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', key, '-out', cert);
  return { cert, key };
}

async function issue(dir: string, ca: { cert: string; key: string }, name: string, extensions: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, extensions);
  await openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`, '-keyout', key, '-out', csr);
  await openssl('x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', cert);
  return { cert, key };
}

/**
 * Makes the CA, certificates and the unrelated CA in a fresh temp directory under
 * `os.tmpdir()`; `serverNames` are added to the server certificate's DNS names. Needs the
 * `openssl` CLI. EC P-256 keys, valid for two days.
 */
export async function makePki(serverNames: string[] = []): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), 'multi-agent-pki-'));
  const ca = await makeCa(dir, 'ca');
  const other = await makeCa(dir, 'other-ca');
  const names = ['IP:127.0.0.1', 'DNS:localhost', ...serverNames.map((n) => `DNS:${n}`)].join(',');
  const server = await issue(dir, ca, 'server', `subjectAltName=${names}\nextendedKeyUsage=serverAuth\n`);
  const client = await issue(dir, ca, 'client', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caFile: ca.cert,
    serverCertFile: server.cert,
    serverKeyFile: server.key,
    clientCertFile: client.cert,
    clientKeyFile: client.key,
    otherCaFile: other.cert,
  };
}
