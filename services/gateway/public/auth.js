// The console's credential: the API key (or identity-provider token) of the person using it,
// kept in sessionStorage (this tab only, gone when it closes). The URL `npm start` prints
// carries the key in its fragment (#key=...), which a browser never sends to a server; it is
// moved to sessionStorage and out of the address bar before the page routes. Every API call and
// token stream sends it as a bearer token; a 401 asks for it again. No cookies: a page of
// another site can never make this browser send it.

const STORAGE_KEY = 'gateway-token';

function takeTokenFromFragment() {
  const match = /^#key=([^&]+)$/.exec(location.hash);
  if (match === null) return;
  sessionStorage.setItem(STORAGE_KEY, decodeURIComponent(match[1]));
  // Not in the history nor a bookmark: the key is not to be shared by sharing a link.
  history.replaceState(null, '', `${location.pathname}${location.search}`);
}

// Before any module reads location.hash as a page route.
takeTokenFromFragment();

export function hasToken() {
  return sessionStorage.getItem(STORAGE_KEY) !== null;
}

/** Asks for a key in the sign-in dialog, keeps it, and reloads the page with it. */
export function askForToken(reason) {
  const dialog = document.querySelector('#key-dialog');
  if (dialog.open) return;
  document.querySelector('#key-reason').textContent = reason ?? '';
  dialog.addEventListener(
    'close',
    () => {
      const value = document.querySelector('#key-input').value.trim();
      if (dialog.returnValue !== 'ok' || value === '') return;
      sessionStorage.setItem(STORAGE_KEY, value);
      location.reload();
    },
    { once: true },
  );
  dialog.showModal();
}

/** `fetch` with the bearer token; a 401 (no key, or a wrong or expired one) asks for one. */
export async function authFetch(path, init = {}) {
  const token = sessionStorage.getItem(STORAGE_KEY);
  const headers = { ...init.headers, ...(token === null ? {} : { authorization: `Bearer ${token}` }) };
  const response = await fetch(path, { ...init, headers });
  if (response.status === 401) {
    sessionStorage.removeItem(STORAGE_KEY);
    askForToken(token === null ? 'This gateway needs an API key.' : 'The gateway refused the key: it is wrong or has expired.');
  }
  return response;
}
