// The web console. The run page: pick a workflow, start it, watch its tokens stream (SSE, a
// panel per node), its nodes and its event timeline, cancel it. The operator pages (executions, dead letters,
// streams) live in their own modules; this one routes between them. Plain DOM, no build step.
// Everything from the server is inserted as text.

import { askForToken, hasToken } from './auth.js';
import { $, api, confirmAction, el, formatMs, post, short } from './dom.js';
import { EventStream } from './event-stream.js';
import { setUpDeadLetters, showDeadLetters } from './dead-letters.js';
import { setUpExecutions, showExecutions } from './executions.js';
import { showStreams } from './streams.js';

const POLL_MS = 500;
const ENDED = ['completed', 'failed', 'cancelled'];

let workflows = [];
let view = { executionId: undefined, poll: undefined, source: undefined, synced: false };

// ---------------------------------------------------------------------------------------------
// Health

async function refreshHealth() {
  const badge = $('#health');
  try {
    const response = await fetch('/readyz');
    const body = await response.json();
    badge.dataset.status = body.status;
    badge.textContent = body.status === 'ok' ? `NATS ${body.nats.serverVersion ?? ''} · ready` : body.status;
  } catch {
    badge.dataset.status = 'down';
    badge.textContent = 'gateway unreachable';
  }
}

// ---------------------------------------------------------------------------------------------
// Workflow picker and input form

function renderWorkflow() {
  const workflow = workflows.find((w) => w.id === $('#workflow-select').value);
  if (workflow === undefined) return;
  $('#workflow-description').textContent = workflow.description ?? '';
  $('#workflow-nodes').replaceChildren(
    ...workflow.nodes.map((n) =>
      el(
        'li',
        {},
        el('code', { text: n.id }),
        ` ${n.type} ${n.type === 'agent' ? n.agent : n.tool}`,
        n.dependsOn.length > 0 ? ` ← ${n.dependsOn.join(', ')}` : '',
      ),
    ),
  );
  const fields = Object.entries(workflow.input ?? {}).map(([name, field]) => {
    const id = `input-${name}`;
    let control;
    if (field.type === 'object' || field.type === 'array') {
      control = el('textarea', { id, name, value: field.default === undefined ? '' : JSON.stringify(field.default, null, 2) });
    } else if (field.type === 'boolean') {
      control = el('input', { id, name, type: 'checkbox', checked: field.default === true });
    } else {
      control = el('input', { id, name, type: field.type === 'number' ? 'number' : 'text', step: 'any', value: field.default ?? '' });
    }
    control.dataset.type = field.type;
    return el(
      'div',
      {},
      el('label', { htmlFor: id, text: `${name}${field.required ? ' *' : ''}` }),
      control,
      field.description ? el('p', { class: 'field-help', text: field.description }) : undefined,
    );
  });
  $('#input-fields').replaceChildren(...fields);
}

function readInput() {
  const input = {};
  for (const control of $('#input-fields').querySelectorAll('[data-type]')) {
    const type = control.dataset.type;
    if (type === 'boolean') input[control.name] = control.checked;
    else if (control.value.trim() === '') continue;
    else if (type === 'number') input[control.name] = Number(control.value);
    else if (type === 'object' || type === 'array') {
      try {
        input[control.name] = JSON.parse(control.value);
      } catch {
        throw new Error(`${control.name}: not valid JSON`);
      }
    } else input[control.name] = control.value;
  }
  return input;
}

async function startExecution(event) {
  event.preventDefault();
  const button = $('#start-button');
  $('#start-error').textContent = '';
  button.disabled = true;
  try {
    const workflowId = $('#workflow-select').value;
    const started = await api(`/api/workflows/${encodeURIComponent(workflowId)}/executions`, {
      method: 'POST',
      body: JSON.stringify({ input: readInput() }),
    });
    remember(started.executionId, workflowId);
    location.hash = `#/executions/${started.executionId}`;
  } catch (err) {
    $('#start-error').textContent = err.message;
  } finally {
    button.disabled = false;
  }
}

function remember(executionId, workflowId) {
  const recent = JSON.parse(sessionStorage.getItem('recent') ?? '[]');
  recent.unshift({ executionId, workflowId, at: new Date().toISOString() });
  sessionStorage.setItem('recent', JSON.stringify(recent.slice(0, 10)));
  renderRecent();
}

function renderRecent() {
  const recent = JSON.parse(sessionStorage.getItem('recent') ?? '[]');
  $('#recent').replaceChildren(
    ...recent.map((r) => el('li', {}, el('a', { href: `#/executions/${r.executionId}`, text: `${r.workflowId} · ${r.executionId.slice(0, 8)}` }))),
  );
}

// ---------------------------------------------------------------------------------------------
// Live tokens: SSE, one panel per node (each token names the node that produced it; the
// branches of a fan-out stream at the same time). Resumable across reloads: each node's text
// and the last sequence seen are kept in sessionStorage, and the stream is reopened after that
// sequence.

function streamKey(executionId) {
  return `node-tokens:${executionId}`;
}

/** The panel of one node's tokens, made on its first token; tokens without a node share one. */
function nodePanel(output, nodeId) {
  const existing = [...output.children].find((panel) => panel.dataset.nodeId === nodeId);
  if (existing !== undefined) return existing;
  const panel = el(
    'section',
    { class: 'node-tokens', 'data-node-id': nodeId },
    el('h4', {}, nodeId === '' ? 'execution' : el('code', { text: nodeId }), ' ', el('small', { class: 'muted' })),
    el('pre', { class: 'tokens' }),
  );
  output.append(panel);
  return panel;
}

function openTokenStream(executionId) {
  const saved = JSON.parse(sessionStorage.getItem(streamKey(executionId)) ?? '{"nodes":[],"lastSeq":0,"done":false}');
  const output = $('#token-stream');
  output.replaceChildren();
  for (const [nodeId, text] of saved.nodes) nodePanel(output, nodeId).querySelector('pre').textContent = text;
  let lastSeq = saved.lastSeq;
  let received = 0;
  const info = $('#stream-info');
  const describe = (state) => {
    output.dataset.state = state;
    output.dataset.lastSeq = String(lastSeq);
    const resumed = saved.lastSeq > 0 ? ` · resumed after #${saved.lastSeq}` : '';
    const nodes = output.children.length > 1 ? ` · ${output.children.length} nodes` : '';
    info.textContent = `${state} · ${lastSeq} tokens${nodes}${resumed}`;
  };
  if (saved.done) {
    describe('complete');
    return undefined;
  }
  const query = lastSeq > 0 ? `?lastEventId=${lastSeq}` : '';
  const source = new EventStream(`/api/executions/${executionId}/tokens${query}`);
  output.dataset.resumedFrom = String(saved.lastSeq);
  describe('waiting');
  const save = (done) => {
    const nodes = [...output.children].map((panel) => [panel.dataset.nodeId, panel.querySelector('pre').textContent]);
    sessionStorage.setItem(streamKey(executionId), JSON.stringify({ nodes, lastSeq, done }));
  };
  let streaming;
  source.onmessage = (message) => {
    const { token, seq, nodeId = '' } = JSON.parse(message.data);
    if (seq <= lastSeq) return; // never twice, whatever a proxy or a retry does
    lastSeq = seq;
    received += 1;
    const panel = nodePanel(output, nodeId);
    const text = panel.querySelector('pre');
    text.append(token);
    text.scrollTop = text.scrollHeight;
    // The cursor blinks in the panel that got the latest token.
    if (streaming !== panel) {
      streaming?.removeAttribute('data-streaming');
      panel.dataset.streaming = 'true';
      streaming = panel;
    }
    panel.querySelector('small').textContent = `last #${seq}`;
    save(false);
    describe('streaming');
  };
  source.addEventListener('end', () => {
    source.close();
    streaming?.removeAttribute('data-streaming');
    save(true);
    describe('complete');
    output.dataset.received = String(received);
  });
  source.addEventListener('error', (event) => {
    if (event.data !== undefined) {
      // An error the server reported; a dropped connection has no data and reconnects by itself.
      source.close();
      info.textContent = `stream failed: ${JSON.parse(event.data).message}`;
    }
  });
  return source;
}

// ---------------------------------------------------------------------------------------------
// Execution state and timeline

function renderState(state) {
  $('#execution-id').textContent = state.executionId;
  $('#execution-workflow').textContent = state.workflowId;
  $('#execution-correlation').textContent = state.correlationId;
  const status = $('#execution-status');
  status.dataset.status = state.status;
  status.textContent = state.status;
  const end = state.finishedAt ? Date.parse(state.finishedAt) : Date.now();
  $('#execution-duration').textContent = state.startedAt ? formatMs(end - Date.parse(state.startedAt)) : '';
  // Set by the API when the execution carries a trace; shown as text to look it up in a tracer.
  $('#execution-trace').hidden = typeof state.traceId !== 'string';
  $('#execution-trace-id').textContent = typeof state.traceId === 'string' ? state.traceId : '';
  $('#cancel-button').hidden = ENDED.includes(state.status);
  const rows = Object.values(state.nodes).map((node) => {
    const time = node.startedAt ? formatMs((node.finishedAt ? Date.parse(node.finishedAt) : Date.now()) - Date.parse(node.startedAt)) : '';
    const detail = node.error
      ? `${node.error.code ?? 'ERROR'}: ${node.error.message}`
      : node.output === undefined
        ? ''
        : short(node.output.text ?? node.output);
    return el(
      'tr',
      { 'data-node-id': node.id, 'data-status': node.status },
      el('td', {}, el('code', { text: node.id })),
      el('td', { text: node.type }),
      el('td', {}, el('span', { class: 'badge', 'data-status': node.status, text: node.status })),
      el('td', { text: time }),
      el('td', { class: node.error ? 'detail error' : 'detail', text: detail, title: detail }),
    );
  });
  $('#nodes tbody').replaceChildren(...rows);
  const result = $('#execution-result');
  if (ENDED.includes(state.status)) {
    result.hidden = false;
    const out = $('#execution-output');
    out.dataset.status = state.status;
    out.textContent =
      state.status === 'failed'
        ? `${state.error?.code ?? 'ERROR'}${state.error?.nodeId ? ` in node ${state.error.nodeId}` : ''}: ${state.error?.message ?? ''}`
        : state.status === 'cancelled'
          ? `CANCELLED by ${state.cancellation?.cancelledBy ?? 'someone'}${state.cancellation?.reason ? `: ${state.cancellation.reason}` : ''}`
          : typeof state.output?.text === 'string'
            ? state.output.text
            : JSON.stringify(state.output, null, 2);
  } else {
    result.hidden = true;
  }
}

function summarise(event) {
  const d = event.data ?? {};
  const parts = [];
  if (d.nodeId) parts.push(`node ${d.nodeId}`);
  if (d.agentId) parts.push(`agent ${d.agentId}`);
  if (d.toolId) parts.push(`tool ${d.toolId}`);
  if (d.workflowId && event.eventType.startsWith('workflow')) parts.push(`workflow ${d.workflowId}`);
  if (d.tokenCount !== undefined) parts.push(`${d.tokenCount} tokens`);
  if (d.error) parts.push(`${d.error.code ?? 'error'}: ${d.error.message}`);
  if (d.durationMs !== undefined) parts.push(formatMs(d.durationMs));
  return parts.join(' · ');
}

function renderTimeline(events) {
  const byId = new Map(events.map((e) => [e.eventId, { event: e, children: [] }]));
  const roots = [];
  for (const item of byId.values()) {
    const parent = item.event.causationId === undefined ? undefined : byId.get(item.event.causationId);
    if (parent === undefined) roots.push(item);
    else parent.children.push(item);
  }
  const start = events.length > 0 ? Date.parse(events[0].timestamp) : 0;
  const render = (item) => {
    const { event } = item;
    const family = event.eventType.split('.')[0];
    const li = el(
      'li',
      { 'data-event-type': event.eventType, 'data-event-id': event.eventId },
      el('span', { class: `event-type ${family}${event.eventType.endsWith('failed') ? ' failed' : ''}`, text: event.eventType }),
      ` ${summarise(event)} `,
      el('span', { class: 'event-meta', text: `+${Date.parse(event.timestamp) - start} ms · #${event.seq} · ${event.eventId.slice(0, 8)}` }),
    );
    if (item.children.length > 0) li.append(el('ul', {}, ...item.children.map(render)));
    return li;
  };
  $('#timeline').replaceChildren(...roots.map(render));
}

async function refreshExecution(executionId) {
  const [state, log] = await Promise.all([api(`/api/executions/${executionId}`), api(`/api/executions/${executionId}/events`)]);
  if (view.executionId !== executionId) return true;
  if (!view.synced) {
    // After a reload (or a link), show the execution's workflow in the picker.
    view.synced = true;
    if ($('#workflow-select').value !== state.workflowId && workflows.some((w) => w.id === state.workflowId)) {
      $('#workflow-select').value = state.workflowId;
      renderWorkflow();
    }
  }
  renderState(state);
  renderTimeline(log.events);
  // A dead-lettered failure is not final: replaying its DLQ record revives the execution.
  const revivable = state.status === 'failed' && state.error?.code === 'DEAD_LETTERED';
  return ENDED.includes(state.status) && state.pendingEvents === 0 && !revivable;
}

async function cancelExecution() {
  const { executionId } = view;
  if (!(await confirmAction('Cancel execution', `Stop execution ${executionId}? No further node starts and the running agents stop.`, 'Cancel execution'))) return;
  $('#cancel-error').textContent = '';
  try {
    const state = await post(`/api/executions/${executionId}/cancel`, { reason: 'cancelled from the console' });
    if (view.executionId === executionId) renderState(state);
  } catch (err) {
    $('#cancel-error').textContent = err.message;
  }
}

function stopExecutionView() {
  clearTimeout(view.poll);
  view.source?.close();
  view = { executionId: undefined, poll: undefined, source: undefined, synced: false };
}

function showExecution(executionId) {
  stopExecutionView();
  view = { executionId, poll: undefined, source: undefined, synced: false };
  $('#cancel-error').textContent = '';
  $('#cancel-button').hidden = true;
  $('#execution-panel').hidden = false;
  $('#execution-id').textContent = executionId;
  $('#timeline').replaceChildren();
  $('#nodes tbody').replaceChildren();
  view.source = openTokenStream(executionId);
  const poll = async () => {
    let done = false;
    try {
      done = await refreshExecution(executionId);
    } catch (err) {
      $('#execution-duration').textContent = err.message;
    }
    if (!done && view.executionId === executionId) view.poll = setTimeout(poll, POLL_MS);
  };
  void poll();
}

// Pages by hash: #/ (run), #/executions/<id> (run, showing one), #/executions, #/dead-letters, #/streams.
const PAGES = { '#/executions': showExecutions, '#/dead-letters': showDeadLetters, '#/streams': showStreams };

function route() {
  const hash = location.hash;
  const match = /^#\/executions\/([A-Za-z0-9_-]{1,128})$/.exec(hash);
  const page = PAGES[hash] === undefined ? 'run' : hash.slice(2);
  for (const section of document.querySelectorAll('[data-page]')) section.hidden = section.dataset.page !== page;
  for (const link of document.querySelectorAll('nav a')) link.classList.toggle('current', link.dataset.nav === page);
  if (page !== 'run') {
    stopExecutionView();
    PAGES[hash]();
  } else if (match) {
    showExecution(match[1]);
  }
}

async function main() {
  void refreshHealth();
  setInterval(refreshHealth, 5000);
  if (!hasToken()) {
    askForToken('This gateway needs an API key.');
    return;
  }
  renderRecent();
  const { workflows: list } = await api('/api/workflows');
  workflows = list;
  $('#workflow-select').replaceChildren(...workflows.map((w) => el('option', { value: w.id, text: w.name })));
  $('#workflow-select').addEventListener('change', renderWorkflow);
  $('#start-form').addEventListener('submit', startExecution);
  $('#cancel-button').addEventListener('click', () => void cancelExecution());
  renderWorkflow();
  setUpExecutions(workflows);
  setUpDeadLetters();
  window.addEventListener('hashchange', route);
  route();
  document.body.dataset.ready = 'true';
}

void main();
