// The executions page: every execution, newest first, filtered by status and workflow, a page
// at a time (cursors), its statuses refreshed every couple of seconds.

import { $, api, badge, el, formatMs, formatTime, poll } from './dom.js';

const REFRESH_MS = 2000;
const PAGE_SIZE = 20;
const STATUSES = ['requested', 'running', 'completed', 'failed', 'cancelled'];

// The cursors of the pages before the current one: "Newer" goes back one.
let pages = [undefined];
let generation = 0;

function query() {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  const status = $('#executions-status').value;
  const workflow = $('#executions-workflow').value;
  if (status) params.set('status', status);
  if (workflow) params.set('workflowId', workflow);
  const cursor = pages.at(-1);
  if (cursor) params.set('cursor', cursor);
  return `/api/executions?${params}`;
}

function progress(nodes) {
  return Object.entries(nodes)
    .map(([status, n]) => `${n} ${status}`)
    .join(', ');
}

function why(summary) {
  if (summary.status === 'failed' && summary.error) {
    return `${summary.error.code ?? 'ERROR'}${summary.error.nodeId ? ` in node ${summary.error.nodeId}` : ''}: ${summary.error.message}`;
  }
  if (summary.status === 'cancelled') return `cancelled${summary.cancellation?.cancelledBy ? ` by ${summary.cancellation.cancelledBy}` : ''}${summary.cancellation?.reason ? `: ${summary.cancellation.reason}` : ''}`;
  return '';
}

function render(body) {
  const counts = body.counts ?? {};
  const selected = $('#executions-status').value;
  for (const option of $('#executions-status').options) {
    if (option.value) option.textContent = `${option.value} (${counts[option.value] ?? 0})`;
  }
  $('#executions-status').value = selected;
  $('#executions-total').textContent = `${body.total} executions · page ${pages.length}`;
  $('#executions-table tbody').replaceChildren(
    ...body.executions.map((s) => {
      const end = s.finishedAt ? Date.parse(s.finishedAt) : Date.now();
      const reason = why(s);
      return el(
        'tr',
        { 'data-execution-id': s.executionId, 'data-status': s.status },
        el('td', {}, el('a', { href: `#/executions/${s.executionId}` }, el('code', { text: s.executionId.slice(0, 8) }))),
        el('td', { text: s.workflowId }),
        el('td', {}, badge(s.status)),
        el('td', { text: formatTime(s.requestedAt) }),
        el('td', { text: s.startedAt ? formatMs(end - Date.parse(s.startedAt)) : '' }),
        el('td', { text: progress(s.nodes) }),
        el('td', { class: s.status === 'failed' ? 'detail error reason' : 'detail reason', text: reason, title: reason }),
      );
    }),
  );
  $('#executions-newer').disabled = pages.length === 1;
  $('#executions-older').disabled = body.nextCursor === undefined;
  $('#executions-older').dataset.cursor = body.nextCursor ?? '';
  $('#view-executions').dataset.loaded = 'true';
}

function restart() {
  generation += 1;
  const mine = generation;
  poll(
    async () => render(await api(query())),
    REFRESH_MS,
    () => mine === generation && location.hash === '#/executions',
    (err) => ($('#executions-error').textContent = err.message),
  );
}

/** Wires the filters and pager once. */
export function setUpExecutions(workflows) {
  $('#executions-status').replaceChildren(el('option', { value: '', text: 'any status' }), ...STATUSES.map((s) => el('option', { value: s, text: s })));
  $('#executions-workflow').replaceChildren(el('option', { value: '', text: 'any workflow' }), ...workflows.map((w) => el('option', { value: w.id, text: w.name })));
  const refilter = () => {
    pages = [undefined];
    restart();
  };
  $('#executions-status').addEventListener('change', refilter);
  $('#executions-workflow').addEventListener('change', refilter);
  $('#executions-older').addEventListener('click', () => {
    pages.push($('#executions-older').dataset.cursor);
    restart();
  });
  $('#executions-newer').addEventListener('click', () => {
    pages.pop();
    restart();
  });
}

/** Shows the page (and keeps refreshing it while it is shown). */
export function showExecutions() {
  $('#executions-error').textContent = '';
  restart();
}
