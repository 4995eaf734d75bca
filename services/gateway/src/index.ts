/**
 * `@multi-agent/gateway-service`: the HTTP API and web console of the Multi-Agent Platform.
 *
 * @packageDocumentation
 */
export { defaultPublicDir, gatewayDefaults, startGateway } from './gateway.js';
export type { GatewayOptions, RunningGateway } from './gateway.js';
export { HttpError } from './http-error.js';
export { ApiKeyConfigError, createApiKey, hashApiKey, parseApiKeys } from './auth/api-keys.js';
export type { ApiKeyEntry } from './auth/api-keys.js';
export type { GatewayAuthOptions } from './auth/authenticate.js';
export type { Identity, Role } from './auth/identity.js';
export type { JwtOptions } from './auth/jwt.js';
