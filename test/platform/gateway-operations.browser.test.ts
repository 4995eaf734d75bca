/**
 * The console's operator pages in a real browser (playwright-core driving Debian's chromium),
 * the platform in-process on a test nats-server: executions (list, filter, live status, a
 * failure's reason), cancelling a running execution, dead letters (replay and purge behind a
 * confirmation) and streams/consumers. It takes the screenshots checked in under docs/console/
 * (`UPDATE_SCREENSHOTS=1 npx vitest run test/platform/gateway-operations.browser.test.ts`).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EventSubjects } from '@multi-agent/events';
import type { DomainEvent } from '@multi-agent/events';
import { NonRetryableError } from '@multi-agent/nats-client';
import type { Subscription } from '@multi-agent/nats-client';
import { NatsServer } from '@multi-agent/testing';
import { repoRoot } from '../../scripts/platform/service-process.js';
import { startInProcess } from './support/in-process.js';
import type { InProcessPlatform } from './support/in-process.js';
import { waitFor } from './support/platform.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// UPDATE_SCREENSHOTS=1 refreshes the ones checked in; otherwise they go to a temp directory.
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(repoRoot, 'docs', 'console') : join(tmpdir(), 'multi-agent-console');

let server: NatsServer;
let platform: InProcessPlatform;
let browser: Browser;
let page: Page;
let base: string;
let vectorsBroken = true;
let vectors: Subscription;
const failedIds: string[] = [];

async function api(path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(
    `${base}${path}`,
    body === undefined ? { headers: platform.authHeaders } : { method: 'POST', headers: { 'content-type': 'application/json', ...platform.authHeaders }, body: JSON.stringify(body) },
  );
  return (await response.json()) as Record<string, unknown>;
}

async function ended(executionId: string): Promise<void> {
  await waitFor(async () => ['completed', 'failed'].includes((await api(`/api/executions/${executionId}`)).status as string), 30_000, `${executionId} to end`);
}

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

async function confirm(): Promise<void> {
  await page.waitForSelector('#confirm-dialog[open]');
  await page.click('#confirm-ok');
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: install it with apt-get install -y chromium (or set CHROMIUM_PATH)`);
  server = await NatsServer.start();
  platform = await startInProcess(server.url, { tokenDelayMs: 40 });
  base = platform.gatewayUrl;
  for (const people of [4, 0, 3]) {
    const { executionId } = (await api('/api/workflows/split-bill/executions', { input: { people } })) as { executionId: string };
    await ended(executionId);
    if (people === 0) failedIds.push(executionId);
  }
  // A consumer that dead-letters what it gets until it is "fixed".
  vectors = await platform.observer.subscribe(
    EventSubjects.VECTOR_UPSERTED,
    async (_event: DomainEvent) => {
      if (vectorsBroken) throw new NonRetryableError('the vector index is offline');
    },
    'vector-indexer',
  );
  for (const id of ['doc-1', 'doc-2']) await platform.observer.publish({ eventType: EventSubjects.VECTOR_UPSERTED, data: { collection: 'docs', ids: [id] } });
  await waitFor(async () => (await api('/api/dead-letters')).total === 2, 15_000, 'two dead letters');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  // Signed in as npm start's URL does it: the key in the fragment, kept by the tab.
  await page.goto(`${base}/#key=${platform.apiKey}`);
  await page.waitForSelector('body[data-ready="true"]');
  await mkdir(SCREENSHOTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await vectors?.stop();
  await platform?.stop();
  await server?.stop();
});

it('lists executions newest first, filters them, shows why one failed and a new one live', async () => {
  await page.goto(`${base}/#/executions`);
  await page.waitForSelector('#view-executions[data-loaded="true"]');
  expect(await page.locator('#executions-table tbody tr').count()).toBe(3);
  const failedRow = page.locator(`#executions-table tr[data-execution-id="${failedIds[0]}"]`);
  expect(await failedRow.getAttribute('data-status')).toBe('failed');
  expect(await failedRow.locator('td.reason').textContent()).toMatch(/^DIVISION_BY_ZERO in node share: division by zero/);

  await page.selectOption('#executions-status', 'failed');
  await expect.poll(() => page.locator('#executions-table tbody tr').count()).toBe(1);
  await page.selectOption('#executions-status', '');

  // Started elsewhere: it appears at the top, running, without a reload.
  const { executionId } = (await api('/api/workflows/research-summary/executions', { input: { topic: 'operations' } })) as { executionId: string };
  const row = page.locator(`#executions-table tbody tr:first-child[data-execution-id="${executionId}"]`);
  await expect.poll(() => row.getAttribute('data-status'), { timeout: 10_000 }).toBe('running');
  await screenshot('executions');

  // Open it and cancel it: confirmed in a dialog, then no node runs any more.
  await row.locator('a').click();
  await page.waitForSelector('#execution-status[data-status="running"]');
  await page.click('#cancel-button');
  await confirm();
  await page.waitForSelector('#execution-status[data-status="cancelled"]', { timeout: 10_000 });
  expect(await page.textContent('#execution-output')).toBe('CANCELLED by test-admin: cancelled from the console');
  // The node that was running is cancelled (research, or summarise if research had finished); none runs on.
  const nodeRows = page.locator('#nodes tbody tr');
  const statuses: (string | null)[] = [];
  for (let i = 0; i < (await nodeRows.count()); i++) statuses.push(await nodeRows.nth(i).getAttribute('data-status'));
  expect(statuses.filter((s) => s === 'cancelled')).toHaveLength(1);
  expect(statuses.filter((s) => s === 'running' || s === 'pending')).toEqual([]);
  expect(await page.isHidden('#cancel-button')).toBe(true);
  await page.waitForSelector('#timeline li[data-event-type="execution.cancelled"]');
  expect((await api(`/api/executions/${executionId}`)).status).toBe('cancelled');
  // The model service completes the execution's token stream once it is cancelled.
  await page.waitForSelector('#token-stream[data-state="complete"]', { timeout: 15_000 });
  await screenshot('execution-cancelled');
}, 30_000);

it('replays a dead letter after a confirmation, shows its new eventId, then purges it once handled', async () => {
  await page.goto(`${base}/#/dead-letters`);
  await page.waitForSelector('#view-dead-letters[data-loaded="true"]');
  const rows = page.locator('#dead-letters-table tbody tr');
  expect(await rows.count()).toBe(2);
  expect(await page.textContent('#dead-letters-counts li[data-reason="non-retryable"]')).toBe('2 non-retryable');
  expect(await rows.first().textContent()).toContain('NonRetryableError: the vector index is offline');

  vectorsBroken = false;
  const oldest = Number(await rows.last().getAttribute('data-dlq-sequence'));
  await rows.last().locator('input[type="checkbox"]').check();
  await page.click('#dead-letters-replay');
  await confirm();
  await expect.poll(() => page.textContent('#dead-letters-result')).toMatch(new RegExp(`^#${oldest}: replayed → new eventId [0-9a-f-]{36}$`));
  const newEventId = /new eventId (\S+)$/.exec((await page.textContent('#dead-letters-result'))!)![1];
  const listed = (await api('/api/dead-letters')).records as { dlqSequence: number; replay?: { eventId: string } }[];
  expect(listed.find((r) => r.dlqSequence === oldest)!.replay!.eventId).toBe(newEventId);
  await page.waitForSelector(`#dead-letters-table tr[data-dlq-sequence="${oldest}"][data-handled="true"]`);
  await screenshot('dead-letters');

  await page.click('#dead-letters-purge-handled');
  await confirm();
  await expect.poll(() => page.textContent('#dead-letters-result')).toBe(`purged 1 record(s): #${oldest}`);
  await expect.poll(() => rows.count()).toBe(1);
}, 30_000);

it('shows streams, durables with their instances, and every service ready', async () => {
  await page.goto(`${base}/#/streams`);
  await page.waitForSelector('#view-streams[data-loaded="true"]');
  for (const service of ['gateway', 'orchestration', 'agent', 'tool', 'model']) {
    expect(await page.getAttribute(`#services-table tr[data-service="${service}"]`, 'data-ready')).toBe('true');
  }
  expect(await page.getAttribute('#consumers-table tr[data-consumer="tool-tool_execution_requested"]', 'data-liveness')).toBe('alive');
  const events = (await api('/api/streams')).streams as { name: string; messages: number }[];
  const shown = await page.textContent('#streams-table tr[data-stream="EVENTS"] td.number');
  expect(Number(shown)).toBeGreaterThan(0);
  expect(Number(shown)).toBeLessThanOrEqual(events.find((s) => s.name === 'EVENTS')!.messages);
  await screenshot('streams');
}, 20_000);
