/**
 * A decentralised-auth chain for tests, signed with nkeys as `nsc` would: an operator, one
 * account with JetStream enabled, and a user whose `.creds` file the client loads. The server
 * trusts the operator and learns the account from its config (`resolver: MEMORY`).
 */
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';
import { randomBytes } from 'node:crypto';

type Claims = Record<string, unknown>;

function base64url(data: string | Uint8Array): string {
  return Buffer.from(data).toString('base64url');
}

/** A JWT of `nats` claims about `subject`, signed by `issuer`. */
function signJwt(issuer: KeyPair, subject: KeyPair, name: string, nats: Claims): string {
  const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const claims = {
    jti: randomBytes(16).toString('hex').toUpperCase(),
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    name,
    sub: subject.getPublicKey(),
    nats: { ...nats, version: 2 },
  };
  const payload = base64url(JSON.stringify(claims));
  const signature = base64url(issuer.sign(new TextEncoder().encode(`${header}.${payload}`)));
  return `${header}.${payload}.${signature}`;
}

const UNLIMITED = { subs: -1, data: -1, payload: -1 };

/** A `.creds` file's text: the user JWT and the user's seed, in the armour nats.js parses. */
function credsFile(jwt: string, seed: Uint8Array): string {
  return [
    '-----BEGIN NATS USER JWT-----',
    jwt,
    '------END NATS USER JWT------',
    '',
    '-----BEGIN USER NKEY SEED-----',
    new TextDecoder().decode(seed),
    '------END USER NKEY SEED------',
    '',
  ].join('\n');
}

/** An operator, an account and a user of it; `serverConfig` makes a server trust them. */
export interface JwtChain {
  /** nats-server config text: the operator, and the accounts preloaded into a memory resolver. */
  serverConfig: string;
  /** A `.creds` file for the account's user, its public key and its seed. */
  creds: string;
  userPublicKey: string;
  userSeed: string;
  /** A `.creds` file for a user of an account the server does not know, and that user's seed. */
  foreignCreds: string;
  foreignUserSeed: string;
}

/** A fresh operator/account/user chain, and a user signed by an account the server never saw. */
export function makeJwtChain(): JwtChain {
  const operator = createOperator();
  const account = createAccount();
  const user = createUser();
  const operatorJwt = signJwt(operator, operator, 'test-operator', { type: 'operator' });
  const accountJwt = signJwt(operator, account, 'test-account', {
    type: 'account',
    limits: {
      ...UNLIMITED,
      imports: -1,
      exports: -1,
      wildcards: true,
      conn: -1,
      leaf: -1,
      mem_storage: -1,
      disk_storage: -1,
      streams: -1,
      consumer: -1,
    },
  });
  // JetStream needs a system account; the server must know it too.
  const system = createAccount();
  const systemJwt = signJwt(operator, system, 'SYS', { type: 'account', limits: { ...UNLIMITED, conn: -1 } });
  const userJwt = signJwt(account, user, 'test-user', { type: 'user', ...UNLIMITED });
  const stranger = createAccount();
  const strangerUser = createUser();
  const strangerJwt = signJwt(stranger, strangerUser, 'stranger', { type: 'user', ...UNLIMITED });
  return {
    serverConfig: [
      `operator: ${JSON.stringify(operatorJwt)}`,
      `system_account: ${system.getPublicKey()}`,
      'resolver: MEMORY',
      'resolver_preload: {',
      `  ${account.getPublicKey()}: ${JSON.stringify(accountJwt)}`,
      `  ${system.getPublicKey()}: ${JSON.stringify(systemJwt)}`,
      '}',
    ].join('\n'),
    creds: credsFile(userJwt, user.getSeed()),
    userPublicKey: user.getPublicKey(),
    userSeed: new TextDecoder().decode(user.getSeed()),
    foreignCreds: credsFile(strangerJwt, strangerUser.getSeed()),
    foreignUserSeed: new TextDecoder().decode(strangerUser.getSeed()),
  };
}
