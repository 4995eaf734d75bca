/**
 * The web console in a real browser (playwright-core driving Debian's chromium), against the
 * platform started the way a person starts it: `scripts/start.ts` (npm start), each service
 * its own process, on a test nats-server. The fan-out screenshot is checked in under
 * docs/console/ (`UPDATE_SCREENSHOTS=1 npx vitest run test/platform/gateway-console.browser.test.ts`).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EventSubjects } from '@multi-agent/events';
import { NatsClient } from '@multi-agent/nats-client';
import { NatsServer, freePort } from '@multi-agent/testing';
import { repoRoot } from '../../scripts/platform/service-process.js';
import { waitFor } from './support/platform.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = join(tmpdir(), 'multi-agent-console');
// UPDATE_SCREENSHOTS=1 refreshes the one checked in; otherwise it goes to the temp directory too.
const CHECKED_IN = process.env.UPDATE_SCREENSHOTS === '1' ? join(repoRoot, 'docs', 'console') : SCREENSHOTS;

let server: NatsServer;
let platform: ChildProcess;
let platformExit: Promise<number | null>;
let output = '';
let browser: Browser;
let base: string;
/** The console URL npm start printed: with the run's API key in its fragment. */
let consoleUrl: string;
let apiKey: string;
let authHeaders: Record<string, string>;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: install it with apt-get install -y chromium (or set CHROMIUM_PATH)`);
  server = await NatsServer.start();
  const port = await freePort();
  platform = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NATS_URL: server.url, PORT: String(port), NO_COLOR: '1', LOCAL_MODEL_TOKEN_DELAY_MS: '40' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  platformExit = new Promise((resolve) => platform.once('exit', (code) => resolve(code)));
  platform.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  platform.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const printed = await waitFor(() => /Web console: (http:\/\/\S+)/.exec(output)?.[1], 60_000, `npm start to print the console URL; output so far:\n${output}`);
  const url = new URL(printed.replace('localhost', '127.0.0.1'));
  base = url.origin;
  consoleUrl = url.href;
  apiKey = new URLSearchParams(url.hash.slice(1)).get('key') ?? '';
  authHeaders = { authorization: `Bearer ${apiKey}` };
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  await mkdir(SCREENSHOTS, { recursive: true });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  if (platform !== undefined && platform.exitCode === null) platform.kill('SIGKILL');
  await server?.stop();
});

async function startFromPage(page: Page, workflowId: string, fill: Record<string, string>): Promise<string> {
  await page.selectOption('#workflow-select', workflowId);
  for (const [name, value] of Object.entries(fill)) await page.fill(`#input-${name}`, value);
  await page.click('#start-button');
  await page.waitForURL(/#\/executions\/[0-9a-f-]{36}$/);
  return /#\/executions\/(.+)$/.exec(page.url())![1]!;
}

/** The text shown in one node's token panel. */
function nodeTokens(page: Page, nodeId: string): Promise<string | null> {
  return page.textContent(`#token-stream .node-tokens[data-node-id="${nodeId}"] pre`);
}

/** The ids of the token panels, in page order. */
async function panelIds(page: Page): Promise<(string | null)[]> {
  const panels = page.locator('#token-stream .node-tokens');
  return Promise.all(Array.from({ length: await panels.count() }, (_, i) => panels.nth(i).getAttribute('data-node-id')));
}

/**
 * In the page: the text lengths of both fan-out branches' panels once both have text. A
 * function, not a string: the console's CSP forbids eval, which a string predicate needs.
 */
const branchLengths = (): { optimist: number; sceptic: number } | undefined => {
  const doc = (globalThis as unknown as { document: { querySelector(selector: string): { textContent: string | null } | null } }).document;
  const optimist = doc.querySelector('#token-stream .node-tokens[data-node-id="optimist"] pre')?.textContent?.length ?? 0;
  const sceptic = doc.querySelector('#token-stream .node-tokens[data-node-id="sceptic"] pre')?.textContent?.length ?? 0;
  return optimist > 0 && sceptic > 0 ? { optimist, sceptic } : undefined;
};

async function executionState(executionId: string): Promise<{ nodes: Record<string, { output: { text: string } }> }> {
  return (await (await fetch(`${base}/api/executions/${executionId}`, { headers: authHeaders })).json()) as { nodes: Record<string, { output: { text: string } }> };
}

it('runs a workflow from the page, streams its tokens live, survives a reload mid-stream, and shows nodes and the event tree', async () => {
  const page = await browser.newPage();
  const tokenRequests: string[] = [];
  page.on('request', (request) => {
    if (request.url().includes('/tokens')) tokenRequests.push(request.url());
  });
  await page.goto(consoleUrl);
  await page.waitForSelector('body[data-ready="true"]');
  // The key left the address bar (and the history) for the tab's sessionStorage.
  expect(page.url()).toBe(`${base}/`);
  await expect.poll(() => page.textContent('#health')).toContain('ready');
  const executionId = await startFromPage(page, 'research-summary', { topic: 'browser automation' });

  // Mid-stream: some tokens shown, the execution still running.
  await expect.poll(async () => (await nodeTokens(page, 'research'))?.length ?? 0, { timeout: 20_000, interval: 20 }).toBeGreaterThan(40);
  const seenBeforeReload = Number(await page.getAttribute('#token-stream', 'data-last-seq'));
  expect(seenBeforeReload).toBeGreaterThan(0);
  expect(await page.getAttribute('#execution-status', 'data-status')).not.toBe('completed');
  await page.screenshot({ path: join(SCREENSHOTS, 'streaming.png'), fullPage: true });

  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForSelector('#execution-status[data-status="completed"]', { timeout: 30_000 });
  await page.waitForSelector('#token-stream[data-state="complete"]', { timeout: 30_000 });
  await page.screenshot({ path: join(SCREENSHOTS, 'completed.png'), fullPage: true });

  // The page reopened the stream after the last token it had, not from the start...
  const resumed = tokenRequests.at(-1)!;
  const resumedAfter = Number(new URL(resumed).searchParams.get('lastEventId'));
  expect(resumedAfter).toBeGreaterThanOrEqual(seenBeforeReload);
  const receivedAfterReload = Number(await page.getAttribute('#token-stream', 'data-received'));
  // ...and each node's panel shows exactly its model's output: no gap, no duplicate.
  const state = await executionState(executionId);
  expect(await panelIds(page)).toEqual(['research', 'summarise']);
  expect(await nodeTokens(page, 'research')).toBe(state.nodes.research!.output.text);
  expect(await nodeTokens(page, 'summarise')).toBe(state.nodes.summarise!.output.text);
  const total = Number(await page.getAttribute('#token-stream', 'data-last-seq'));
  expect(receivedAfterReload).toBe(total - resumedAfter);
  expect(receivedAfterReload).toBeLessThan(total);

  // Node states and the event timeline (a causation tree under the request).
  const rows = page.locator('#nodes tbody tr');
  expect(await rows.count()).toBe(2);
  for (const [i, nodeId] of ['research', 'summarise'].entries()) {
    expect(await rows.nth(i).getAttribute('data-node-id')).toBe(nodeId);
    expect(await rows.nth(i).getAttribute('data-status')).toBe('completed');
  }
  expect(await page.textContent('#execution-output')).toBe(state.nodes.summarise!.output.text);
  const log = (await (await fetch(`${base}/api/executions/${executionId}/events`, { headers: authHeaders })).json()) as { events: unknown[] };
  await expect.poll(() => page.locator('#timeline li').count()).toBe(log.events.length);
  expect(await page.$$('#timeline > li')).toHaveLength(1);
  expect(await page.$('#timeline > li[data-event-type="workflow.execution.requested"] li[data-event-type="execution.completed"]')).not.toBeNull();
  await page.close();
}, 90_000);

it('shows the tokens of each node in its own panel, the two branches of a fan-out streaming at the same time', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(consoleUrl);
  await page.waitForSelector('body[data-ready="true"]');
  const executionId = await startFromPage(page, 'perspectives', {});

  // The first moment both branch panels show text: how much each had then (read in one go, in the page).
  const firstOverlap = await page.waitForFunction(branchLengths, undefined, { polling: 'raf', timeout: 20_000 });
  const atOverlap = (await firstOverlap.jsonValue()) as { optimist: number; sceptic: number };
  await expect.poll(async () => (await nodeTokens(page, 'sceptic'))?.length ?? 0, { timeout: 10_000, interval: 20 }).toBeGreaterThan(120);
  await page.screenshot({ path: join(CHECKED_IN, 'tokens-by-node.png') });

  await page.waitForSelector('#execution-status[data-status="completed"]', { timeout: 30_000 });
  await page.waitForSelector('#token-stream[data-state="complete"]', { timeout: 30_000 });
  const state = await executionState(executionId);
  expect((await panelIds(page)).sort()).toEqual(['optimist', 'sceptic', 'verdict']);
  for (const nodeId of ['optimist', 'sceptic', 'verdict']) expect(await nodeTokens(page, nodeId)).toBe(state.nodes[nodeId]!.output.text);
  // When both had begun, neither was done: the branches streamed at the same time, not one after the other.
  expect(atOverlap.optimist).toBeLessThan(state.nodes.optimist!.output.text.length);
  expect(atOverlap.sceptic).toBeLessThan(state.nodes.sceptic!.output.text.length);
  await page.close();
}, 60_000);

it('npm start printed a key for the console; the API refuses requests without it', async () => {
  expect(apiKey).toMatch(/^mak_[A-Za-z0-9_-]{43}$/);
  // Printed once, in the console URL and the API key line; no service logged it.
  expect(output.split(apiKey).length - 1).toBe(2);
  expect((await fetch(`${base}/api/workflows`)).status).toBe(401);
  expect((await fetch(`${base}/api/workflows`, { headers: authHeaders })).status).toBe(200);
});

it('asks for the key when the page has none, and works once it is given', async () => {
  const page = await browser.newPage();
  await page.goto(`${base}/`);
  await page.waitForSelector('#key-dialog[open]');
  await page.fill('#key-input', 'mak_not-the-key');
  await page.click('#key-ok');
  // The wrong key is refused and asked for again.
  await page.waitForSelector('#key-dialog[open]');
  await expect.poll(() => page.textContent('#key-reason')).toContain('refused');
  await page.fill('#key-input', apiKey);
  await page.click('#key-ok');
  await page.waitForSelector('body[data-ready="true"]');
  expect(await page.$$eval('#workflow-select option', (options) => options.length)).toBe(3);
  await page.close();
}, 60_000);

it('shows a failing tool: the node, the execution and the reason', async () => {
  const page = await browser.newPage();
  await page.goto(consoleUrl);
  await page.waitForSelector('body[data-ready="true"]');
  await startFromPage(page, 'split-bill', { people: '0' });
  await page.waitForSelector('#execution-status[data-status="failed"]', { timeout: 30_000 });
  expect(await page.textContent('#execution-output')).toBe('DIVISION_BY_ZERO in node share: division by zero in "round(120 * (1 + 10 / 100) / 0, 2)"');
  expect(await page.getAttribute('#nodes tr[data-node-id="share"]', 'data-status')).toBe('failed');
  expect(await page.getAttribute('#nodes tr[data-node-id="message"]', 'data-status')).toBe('skipped');
  expect(await page.textContent('#nodes tr[data-node-id="share"] td.detail')).toContain('DIVISION_BY_ZERO');
  await page.screenshot({ path: join(SCREENSHOTS, 'failed.png'), fullPage: true });
  await page.close();
}, 60_000);

it('shows why an input is refused, and why an execution the orchestration refused failed', async () => {
  const page = await browser.newPage();
  await page.goto(consoleUrl);
  await page.waitForSelector('body[data-ready="true"]');
  await page.selectOption('#workflow-select', 'split-bill');
  await page.fill('#input-receipt', `${'{"a":'.repeat(100)}1${'}'.repeat(100)}`);
  await page.click('#start-button');
  await expect.poll(() => page.textContent('#start-error')).toMatch(/^INPUT_TOO_DEEP: input nested too deeply/);

  // Published straight to the bus, past the gateway: the orchestration fails it, the console shows why.
  const client = new NatsClient({ servers: [server.url] }, 'console-test', { deadLetterWatcher: false });
  await client.connect();
  const executionId = randomUUID();
  await client.publish({
    eventType: EventSubjects.WORKFLOW_EXECUTION_REQUESTED,
    correlationId: executionId,
    data: { workflowId: 'split-bill', userId: 'console-test', executionId, input: { receipt: { total: 1, note: 'x'.repeat(900_000) }, people: 2 } },
  });
  await client.close();
  await page.goto(`${base}/#/executions/${executionId}`);
  await page.waitForSelector('#execution-status[data-status="failed"]', { timeout: 30_000 });
  expect(await page.textContent('#execution-output')).toMatch(/^INPUT_TOO_LARGE: input too large: \d+ KB makes the execution record \d\.\d MB, limit 768 KB/);
  await page.close();
}, 60_000);

it('shuts the platform down gracefully on Ctrl-C', async () => {
  platform.kill('SIGINT');
  const code = await Promise.race([platformExit, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
  expect(code).toBe(0);
  for (const service of ['gateway', 'orchestration', 'agent', 'tool', 'model']) {
    expect(output).toMatch(new RegExp(`\\[${service}\\]\\s+\\S+ INFO  stopped`));
  }
  expect(output).toContain('[start]');
  expect(output.trimEnd().endsWith('stopped')).toBe(true);
}, 40_000);
