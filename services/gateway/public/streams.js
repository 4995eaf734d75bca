// The streams page: each stream's size, each durable's backlog and whether an instance runs it
// (pull requests waiting), and per service whether it is ready and how far behind it is.

import { $, api, badge, el, formatBytes, formatTime, poll } from './dom.js';

const REFRESH_MS = 3000;
let generation = 0;

function render(body) {
  $('#services-table tbody').replaceChildren(
    ...body.services.map((s) => {
      const problems = [...(s.missing ?? []).map((d) => `${d}: missing`), ...(s.down ?? []).map((d) => `${d}: no instance`)];
      return el(
        'tr',
        { 'data-service': s.service, 'data-ready': String(s.ready) },
        el('td', { text: s.service }),
        el('td', {}, badge(s.ready ? 'ready' : 'down')),
        el('td', { text: String(s.lag) }),
        el('td', { class: problems.length > 0 ? 'detail error' : 'detail muted', text: problems.join(', ') || `${s.durables.length} durable(s)` }),
      );
    }),
  );
  $('#streams-table tbody').replaceChildren(
    ...body.streams.map((s) =>
      el(
        'tr',
        { 'data-stream': s.name },
        el('td', {}, el('code', { text: s.name })),
        el('td', { class: 'number', text: String(s.messages) }),
        el('td', { class: 'number', text: formatBytes(s.bytes) }),
        el('td', { class: 'number', text: String(s.consumerCount) }),
        el('td', { text: formatTime(s.lastTimestamp) }),
        el('td', { class: 'muted', text: s.subjects.join(' ') }),
      ),
    ),
  );
  $('#consumers-table tbody').replaceChildren(
    ...body.consumers.map((c) =>
      el(
        'tr',
        { 'data-consumer': c.name, 'data-liveness': c.liveness },
        el('td', { text: c.stream }),
        el('td', {}, el('code', { text: c.name })),
        el('td', { text: c.service ?? '' }),
        el('td', {}, el('code', { text: c.filter })),
        el('td', { class: 'number', text: String(c.pending) }),
        el('td', { class: 'number', text: String(c.ackPending) }),
        el('td', { class: 'number', text: String(c.redelivered) }),
        el('td', { class: 'number', text: String(c.waiting) }),
        el('td', {}, badge(c.liveness)),
        el('td', { text: formatTime(c.lastActive) }),
      ),
    ),
  );
  $('#view-streams').dataset.loaded = 'true';
}

/** Shows the page (and keeps refreshing it while it is shown). */
export function showStreams() {
  generation += 1;
  const mine = generation;
  poll(
    async () => render(await api('/api/streams')),
    REFRESH_MS,
    () => mine === generation && location.hash === '#/streams',
    (err) => ($('#streams-error').textContent = err.message),
  );
}
