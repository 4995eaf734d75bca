/** Who a request comes from, as its bearer token says. */
import { HttpError } from '../http-error.js';

/** What an identity may do: `user` works with its own executions; `admin` reads all and runs the operator routes. */
export type Role = 'user' | 'admin';

/** The roles, for parsing. */
export const ROLES: readonly Role[] = ['user', 'admin'];

/** The caller of a request. */
export interface Identity {
  /** The API key's name or the JWT's `sub`: an execution's `userId`. */
  userId: string;
  role: Role;
  /** Which kind of token proved it. */
  via: 'api-key' | 'jwt';
}

/** Whether `identity` may see an execution that `ownerId` started. */
export function mayRead(identity: Identity, ownerId: string): boolean {
  return identity.role === 'admin' || identity.userId === ownerId;
}

/**
 * The user of an execution is the caller the token proves, never what a body says: a body
 * naming a `userId` is refused (400 `USER_ID_FROM_TOKEN`) rather than silently overridden, so a
 * client that still sends one learns that it no longer counts.
 */
export function refuseBodyUserId(body: { userId?: unknown } | undefined): void {
  if (body?.userId !== undefined) {
    throw new HttpError(400, 'USER_ID_FROM_TOKEN', 'the body may not name a userId: the user is the caller of the bearer token');
  }
}
