// The dead letters page: the DLQ's records with why they failed and the event itself; replay or
// purge a selection, purge the handled ones (replayed, and the replay not dead-lettered again),
// each after a confirmation; counts by reason.

import { $, api, badge, confirmAction, el, formatTime, post } from './dom.js';

let records = [];

function selected() {
  return [...document.querySelectorAll('#dead-letters-table tbody input[type="checkbox"]:checked')].map((box) => Number(box.value));
}

function updateButtons() {
  const count = selected().length;
  $('#dead-letters-replay').disabled = count === 0;
  $('#dead-letters-purge').disabled = count === 0;
  $('#dead-letters-selection').textContent = count === 0 ? '' : `${count} selected`;
}

function renderCounts(counts) {
  $('#dead-letters-counts').replaceChildren(
    ...Object.entries(counts.byReason).map(([reason, n]) =>
      el('li', { 'data-reason': reason, class: n === 0 ? 'muted' : '' }, el('strong', { text: String(n) }), ` ${reason}`),
    ),
    el('li', { 'data-reason': 'handled' }, el('strong', { text: String(counts.handled) }), ' handled'),
  );
  $('#dead-letters-purge-handled').disabled = counts.handled === 0;
}

function replayCell(record) {
  if (record.replay === undefined) return el('td', { text: record.event === undefined ? 'not replayable' : '' });
  return el(
    'td',
    {},
    badge(record.handled ? 'handled' : 'replayed'),
    el('div', { class: 'event-meta', text: `→ ${record.replay.eventId.slice(0, 8)} · ${formatTime(record.replay.replayedAt)}` }),
  );
}

function render(body) {
  records = body.records;
  renderCounts(body.counts);
  const consumer = $('#dead-letters-consumer').value;
  $('#dead-letters-consumer').replaceChildren(
    el('option', { value: '', text: 'any consumer' }),
    ...Object.entries(body.counts.byConsumer).map(([name, n]) => el('option', { value: name, text: `${name} (${n})` })),
  );
  $('#dead-letters-consumer').value = consumer;
  const reason = $('#dead-letters-reason').value;
  $('#dead-letters-reason').replaceChildren(el('option', { value: '', text: 'any reason' }), ...Object.keys(body.counts.byReason).map((r) => el('option', { value: r, text: r })));
  $('#dead-letters-reason').value = reason;
  $('#dead-letters-table tbody').replaceChildren(
    ...records.map((r) => {
      const event = r.event === undefined ? `(not an event: ${r.rawPayloadBase64?.length ?? 0} base64 characters)` : JSON.stringify(r.event, null, 2);
      return el(
        'tr',
        { 'data-dlq-sequence': String(r.dlqSequence), 'data-handled': String(r.handled) },
        el('td', {}, el('input', { type: 'checkbox', value: String(r.dlqSequence), onchange: updateButtons, ariaLabel: `select record ${r.dlqSequence}` })),
        el('td', { text: String(r.dlqSequence) }),
        el('td', {}, el('span', { class: 'badge', 'data-status': 'failed', text: r.reason })),
        el('td', { text: r.service }),
        el('td', {}, el('code', { text: r.consumer })),
        el('td', { text: String(r.failureCount) }),
        el('td', { text: `${formatTime(r.firstFailureAt)}${r.lastFailureAt === r.firstFailureAt ? '' : ` → ${formatTime(r.lastFailureAt)}`}` }),
        el(
          'td',
          { class: 'dead-letter-detail' },
          el('div', { class: 'error', text: `${r.errorClass}: ${r.errorMessage}` }),
          el('details', {}, el('summary', { text: `${r.originalSubject} · ${r.stream} #${r.streamSequence}` }), el('pre', { class: 'output', text: event })),
        ),
        replayCell(r),
      );
    }),
  );
  $('#dead-letters-all').checked = false;
  updateButtons();
  $('#view-dead-letters').dataset.loaded = 'true';
}

async function refresh() {
  const params = new URLSearchParams();
  if ($('#dead-letters-consumer').value) params.set('consumer', $('#dead-letters-consumer').value);
  if ($('#dead-letters-reason').value) params.set('reason', $('#dead-letters-reason').value);
  render(await api(`/api/dead-letters?${params}`));
}

function report(text) {
  $('#dead-letters-result').textContent = text;
}

async function act(title, message, action, run) {
  if (!(await confirmAction(title, message, action))) return;
  try {
    report(await run());
    await refresh();
  } catch (err) {
    report(err.message);
  }
}

async function replaySelected() {
  const sequences = selected();
  await act('Replay dead letters', `Publish ${sequences.length} event(s) again to their original subjects, each with a new eventId?`, 'Replay', async () => {
    const { results } = await post('/api/dead-letters/replay', { sequences });
    return results.map((r) => `#${r.dlqSequence}: ${r.status}${r.eventId ? ` → new eventId ${r.eventId}` : ''}${r.reason ? ` (${r.reason})` : ''}`).join('\n');
  });
}

async function purge(body, what) {
  await act('Purge dead letters', `Delete ${what} from the DLQ stream? This cannot be undone.`, 'Purge', async () => {
    const { purged, notFound } = await post('/api/dead-letters/purge', body);
    return `purged ${purged.length} record(s)${purged.length > 0 ? `: #${purged.join(', #')}` : ''}${notFound.length > 0 ? ` · already gone: #${notFound.join(', #')}` : ''}`;
  });
}

/** Wires the buttons and filters once. */
export function setUpDeadLetters() {
  const reload = () => void refresh().catch((err) => report(err.message));
  $('#dead-letters-consumer').addEventListener('change', reload);
  $('#dead-letters-reason').addEventListener('change', reload);
  $('#dead-letters-refresh').addEventListener('click', reload);
  $('#dead-letters-replay').addEventListener('click', () => void replaySelected());
  $('#dead-letters-purge').addEventListener('click', () => void purge({ sequences: selected() }, `${selected().length} selected record(s)`));
  $('#dead-letters-purge-handled').addEventListener('click', () => void purge({ handled: true }, 'every handled record (replayed, and the replay not dead-lettered again)'));
  $('#dead-letters-all').addEventListener('change', (event) => {
    for (const box of document.querySelectorAll('#dead-letters-table tbody input[type="checkbox"]')) box.checked = event.target.checked;
    updateButtons();
  });
}

/** Shows the page. */
export function showDeadLetters() {
  report('');
  void refresh().catch((err) => report(err.message));
}
