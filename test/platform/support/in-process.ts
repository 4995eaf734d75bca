/**
 * Test support: the whole platform (or part of it) in this process, one bus client per
 * service, on a real nats-server. `stop()` stops services, then closes clients.
 */
import { startAgentService } from '@multi-agent/agent-service';
import type { AgentServiceOptions } from '@multi-agent/agent-service';
import { createApiKey, parseApiKeys, startGateway } from '@multi-agent/gateway-service';
import type { GatewayOptions } from '@multi-agent/gateway-service';
import { LocalModelProvider, startModelService } from '@multi-agent/model-service';
import type { ModelProvider } from '@multi-agent/model-service';
import type { NatsClient } from '@multi-agent/nats-client';
import { startOrchestration } from '@multi-agent/orchestration-service';
import type { OrchestrationOptions } from '@multi-agent/orchestration-service';
import { ExecutionStore, loadWorkflows } from '@multi-agent/service-kit';
import type { WorkflowDefinition } from '@multi-agent/service-kit';
import { startToolService } from '@multi-agent/tool-service';
import type { ToolDefinition } from '@multi-agent/tool-service';
import { Cleanup, connectService } from './platform.js';

/** A service that can run in-process. */
export type ServiceName = 'gateway' | 'orchestration' | 'agent' | 'tool' | 'model';

/** Options of {@link startInProcess}. */
export interface InProcessOptions {
  /** Default: the repository's `workflows/`. */
  workflows?: Map<string, WorkflowDefinition>;
  /** Which services to run (default all five). */
  services?: ServiceName[];
  /** Pace of the local model (ms per token, default 2). */
  tokenDelayMs?: number;
  provider?: ModelProvider;
  orchestration?: Partial<OrchestrationOptions>;
  agent?: Partial<AgentServiceOptions>;
  tools?: ToolDefinition[];
  /** Gateway settings beyond the defaults (its auth is an admin key, see `authHeaders`, unless set here). */
  gateway?: Partial<GatewayOptions>;
}

/** A running in-process platform. */
export interface InProcessPlatform {
  /** The gateway's base URL, when it runs. */
  gatewayUrl: string;
  /** An admin API key of the gateway (name `test-admin`). */
  apiKey: string;
  /** `authorization: Bearer <apiKey>`, to spread into a request's headers. */
  authHeaders: Record<string, string>;
  /** A client for the test itself (publishing, reading streams). */
  observer: NatsClient;
  store: ExecutionStore;
  workflows: Map<string, WorkflowDefinition>;
  stop(): Promise<void>;
}

/** Starts the chosen services on `url`. */
export async function startInProcess(url: string, options: InProcessOptions = {}): Promise<InProcessPlatform> {
  const cleanup = new Cleanup();
  const services = new Set(options.services ?? ['gateway', 'orchestration', 'agent', 'tool', 'model']);
  const workflows = options.workflows ?? (await loadWorkflows());
  const client = async (name: string): Promise<NatsClient> => {
    const c = await connectService(url, name);
    cleanup.add(() => c.close());
    return c;
  };
  try {
    const observer = await client('test-observer');
    let gatewayUrl = '';
    const admin = createApiKey('test-admin', 'admin');
    if (services.has('tool')) cleanup.add(await startToolService(await client('tool'), { tools: options.tools ?? [] }));
    if (services.has('model')) {
      const provider = options.provider ?? new LocalModelProvider({ tokenDelayMs: options.tokenDelayMs ?? 2 });
      cleanup.add(await startModelService(await client('model'), { provider }));
    }
    if (services.has('agent')) cleanup.add(await startAgentService(await client('agent'), { workflows, ...options.agent }));
    if (services.has('orchestration')) {
      cleanup.add(await startOrchestration(await client('orchestration'), { workflows, sweepIntervalMs: 200, ...options.orchestration }));
    }
    if (services.has('gateway')) {
      const gateway = await startGateway(await client('gateway'), {
        workflows,
        port: 0,
        sseHeartbeatMs: 1000,
        auth: { apiKeys: parseApiKeys(admin.entry) },
        ...options.gateway,
      });
      cleanup.add(gateway);
      gatewayUrl = gateway.url;
    }
    const store = await ExecutionStore.open(observer.jetstream.js);
    return { gatewayUrl, apiKey: admin.key, authHeaders: { authorization: `Bearer ${admin.key}` }, observer, store, workflows, stop: () => cleanup.run() };
  } catch (err) {
    await cleanup.run();
    throw err;
  }
}
