// What every page of the console shares: building elements (server data always as text),
// calling the API, formatting, and the confirmation dialog.

import { authFetch } from './auth.js';

export const $ = (selector) => document.querySelector(selector);

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('data-')) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child !== undefined && child !== null) node.append(child);
  return node;
}

export async function api(path, init) {
  const response = await authFetch(path, { ...init, headers: { 'content-type': 'application/json', ...init?.headers } });
  const body = await response.json().catch(() => ({}));
  // Refusals carry a typed code (INPUT_TOO_LARGE, EXECUTION_FINISHED, ...): show it with the reason.
  if (!response.ok) throw new Error(body.message ? `${body.error ?? 'ERROR'}: ${body.message}` : `HTTP ${response.status}`);
  return body;
}

/** POST with a JSON body: the only way the state-changing routes accept a request. */
export function post(path, body) {
  return api(path, { method: 'POST', body: JSON.stringify(body) });
}

export function short(value, max = 140) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (text === undefined) return '';
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export function formatMs(ms) {
  return ms === undefined ? '' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function formatTime(iso) {
  return iso ? new Date(iso).toLocaleString(undefined, { hour12: false }) : '';
}

export function badge(status) {
  return el('span', { class: 'badge', 'data-status': status, text: status });
}

/** Asks before a change: resolves true when the operator confirms. */
export function confirmAction(title, message, action) {
  const dialog = $('#confirm-dialog');
  $('#confirm-title').textContent = title;
  $('#confirm-message').textContent = message;
  $('#confirm-ok').textContent = action;
  // Escape closes the dialog without a value: it must not read as the previous answer.
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
  });
}

/** Runs `refresh` now and every `ms` while `isCurrent()` holds; errors go to `onError`. */
export function poll(refresh, ms, isCurrent, onError) {
  const tick = async () => {
    if (!isCurrent()) return;
    try {
      await refresh();
    } catch (err) {
      onError(err);
    }
    if (isCurrent()) setTimeout(tick, ms);
  };
  void tick();
}
