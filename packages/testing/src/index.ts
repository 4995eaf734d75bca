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
export { makePki, type Pki } from './pki.js';
export { NatsCluster, type NatsClusterOptions } from './nats-cluster.js';
export { TcpProxy } from './tcp-proxy.js';
export { Collector, rejectionOf, waitFor } from './conditions.js';
export { NatsProxy, type NatsOp, type NatsOpDirection, type NatsOpHook, type NatsOpVerdict } from './nats-proxy.js';
export { ServiceProcess, type ServiceExit, type ServiceProcessOptions } from './service-process.js';
export {
  auditStream,
  consumerState,
  readStream,
  type ConsumerState,
  type ReadStreamOptions,
  type StoredMessage,
  type StreamAudit,
} from './stream-audit.js';
export { replicasOf, waitForStreamCurrent, waitForStreamLeader, type ReplicaView } from './cluster-streams.js';
export { FakeOpenAi, chunk as openAiChunk, toolCallChunks as openAiToolCallChunks } from './fake-openai.js';
export type { FakeOpenAiRequest, FakeToolCall } from './fake-openai.js';
