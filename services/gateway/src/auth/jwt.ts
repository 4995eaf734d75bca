/**
 * JWTs from an identity provider, verified with `jose` against the provider's JWKS (fetched and
 * cached by `createRemoteJWKSet`, refetched when a token names an unknown key id). The issuer
 * and audience must match; `exp`/`nbf` are checked. The subject (`sub`) is the user; the role is
 * `admin` when the roles claim (default `roles`, a string or an array) holds `admin`.
 */
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { HttpError } from '../http-error.js';
import type { Identity } from './identity.js';

/** Where the gateway finds the provider's keys, and what a token must say. */
export interface JwtOptions {
  /** URL of the provider's JSON Web Key Set. */
  jwksUrl: string;
  /** Required `iss`. */
  issuer: string;
  /** Required `aud` (one of the token's audiences). */
  audience: string;
  /** Claim holding the roles (default `roles`). */
  rolesClaim?: string;
}

/** Signatures of a provider's public keys only: never a shared secret, never `none`. */
const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** Failures of the provider (its JWKS slow, not 200, not a key set), not of the token. */
const PROVIDER_FAILURES = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

/** Verifies JWTs against one provider. */
export class JwtVerifier {
  private readonly keys: ReturnType<typeof createRemoteJWKSet>;
  private readonly rolesClaim: string;

  constructor(private readonly options: JwtOptions) {
    this.keys = createRemoteJWKSet(new URL(options.jwksUrl));
    this.rolesClaim = options.rolesClaim ?? 'roles';
  }

  /**
   * The identity a token proves.
   *
   * @throws HttpError 401 `INVALID_TOKEN` (with the `jose` code as `reason`), 503 `AUTH_UNAVAILABLE` when the JWKS cannot be fetched
   */
  async verify(token: string): Promise<Identity> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, { issuer: this.options.issuer, audience: this.options.audience, algorithms: ASYMMETRIC_ALGORITHMS }));
    } catch (err) {
      if (err instanceof errors.JOSEError && !PROVIDER_FAILURES.has(err.code)) {
        throw new HttpError(401, 'INVALID_TOKEN', `the JWT was refused: ${err.message}`, { reason: err.code });
      }
      // A network failure fetching the JWKS is a plain TypeError: the provider, not the token.
      throw new HttpError(503, 'AUTH_UNAVAILABLE', 'the identity provider\'s keys could not be read; try again later');
    }
    if (typeof payload.sub !== 'string' || payload.sub === '' || payload.sub.length > 128) {
      throw new HttpError(401, 'INVALID_TOKEN', 'the JWT has no usable subject ("sub")', { reason: 'NO_SUBJECT' });
    }
    const roles: unknown = payload[this.rolesClaim];
    const isAdmin = roles === 'admin' || (Array.isArray(roles) && roles.includes('admin'));
    return { userId: payload.sub, role: isAdmin ? 'admin' : 'user', via: 'jwt' };
  }
}
