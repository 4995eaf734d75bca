/**
 * `@multi-agent/gateway-service`: the HTTP API and web console of the Multi-Agent Platform.
 *
 * @packageDocumentation
 */
export { defaultPublicDir, gatewayDefaults, startGateway } from './gateway.js';
export type { GatewayOptions, RunningGateway } from './gateway.js';
export { HttpError } from './http-error.js';
