/**
 * The nats-server configuration of the platform's identities: `auth.conf` holds the account
 * with one nkey user per identity and its derived permissions (include it into any server
 * config); `nats.conf` is a whole single-server config around it. The Kubernetes manifests
 * carry the same permissions on password users instead (`renderPasswordAuthorization`).
 * There is no `no_auth_user`: a connection without a key or password is refused.
 */
import type { BusIdentity, NatsPermissions } from '@multi-agent/service-kit';
import type { IdentityKey } from './keys.js';

/** The account every platform identity belongs to. */
export const PLATFORM_ACCOUNT = 'PLATFORM';

const quote = (s: string): string => JSON.stringify(s);

function list(subjects: readonly string[], indent: string): string {
  if (subjects.length === 0) return '[]';
  return `[\n${subjects.map((s) => `${indent}  ${quote(s)}`).join('\n')}\n${indent}]`;
}

/** One user entry at `indent`: its credential lines, then its permissions. */
function user(indent: string, identity: BusIdentity, credentials: readonly string[], permissions: NatsPermissions): string {
  const i = `${indent}    `;
  const direction = (name: string, p: { allow: string[]; deny: string[] }): string =>
    [`${i}${name}: {`, `${i}  allow: ${list(p.allow, `${i}  `)}`, ...(p.deny.length === 0 ? [] : [`${i}  deny: ${list(p.deny, `${i}  `)}`]), `${i}}`].join('\n');
  return [
    `${indent}# ${identity}`,
    `${indent}{`,
    ...credentials.map((c) => `${indent}  ${c}`),
    `${indent}  permissions: {`,
    direction('publish', permissions.publish),
    direction('subscribe', permissions.subscribe),
    ...(permissions.allowResponses ? [`${i}allow_responses: true`] : []),
    `${indent}  }`,
    `${indent}}`,
  ].join('\n');
}

/** `auth.conf`: the account block with every identity. */
export function renderAuthConfig(users: readonly { key: IdentityKey; permissions: NatsPermissions }[]): string {
  return [
    '# Written by `multi-agent auth generate` from the bus-access declaration: regenerate, do not edit.',
    `# One account, ${PLATFORM_ACCOUNT}, with JetStream; one nkey user per identity. No no_auth_user:`,
    '# a connection without a known key is refused.',
    'accounts {',
    `  ${PLATFORM_ACCOUNT} {`,
    '    jetstream: enabled',
    '    users: [',
    users.map((u) => user('      ', u.key.identity, [`nkey: ${quote(u.key.publicKey)}`], u.permissions)).join('\n'),
    '    ]',
    '  }',
    '}',
    '',
  ].join('\n');
}

/** `nats.conf`: a single server with JetStream and the identities of `auth.conf`. */
export function renderServerConfig(options: { port: number; storeDir: string }): string {
  return [
    '# Written by `multi-agent auth generate`: a single nats-server with JetStream and the',
    '# platform identities. For a server of your own, include auth.conf into its config instead.',
    `port: ${options.port}`,
    'jetstream {',
    `  store_dir: ${quote(options.storeDir)}`,
    '}',
    'include ./auth.conf',
    '',
  ].join('\n');
}

/** The server-side variable that holds the password of `identity` (`NATS_PASSWORD_GATEWAY`). */
export function passwordVariableOf(identity: BusIdentity): string {
  return `NATS_PASSWORD_${identity.toUpperCase()}`;
}

/**
 * The `authorization` block of the Kubernetes NATS config (deploy/k8s/base/nats-config.yaml): one
 * password user per identity in the global account, each password read from its variable
 * (the NATS pods set it from the identity's Secret), with the same permissions as the
 * generated nkey users.
 */
export function renderPasswordAuthorization(users: readonly { identity: BusIdentity; permissions: NatsPermissions }[]): string {
  return [
    '# Written by `multi-agent auth generate --k8s` from the bus-access declaration: regenerate,',
    '# do not edit. One password user per identity, its password from $NATS_PASSWORD_<IDENTITY>.',
    'authorization {',
    '  users: [',
    users.map((u) => user('    ', u.identity, [`user: ${u.identity}, password: $${passwordVariableOf(u.identity)}`], u.permissions)).join('\n'),
    '  ]',
    '}',
  ].join('\n');
}
