/**
 * `@multi-agent/testing`: real `nats-server` processes for tests (never mocks): a single server
 * or a cluster on free loopback ports with a temp JetStream store, and a TCP proxy for network
 * faults.
 *
 * @packageDocumentation
 */
export { natsServerBinary } from './binary.js';
export { freePort } from './free-port.js';
export { NatsServer, type NatsServerOptions } from './nats-server.js';
export { NatsCluster, type NatsClusterOptions } from './nats-cluster.js';
export { TcpProxy } from './tcp-proxy.js';
