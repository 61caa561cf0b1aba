// PyMD's example single-page app. It keeps its PKCE verifier across the redirect to the IdP in
// sessionStorage (one tab, removed on return), and its tokens in memory only: never in
// localStorage, never in a cookie. Everything shown is set as text, never as HTML.
'use strict';

const tokens = { access: null, refresh: null, timer: null, renewals: 0 };
const PENDING = 'pymd-spa-pending';
const $ = (id) => document.getElementById(id);

function show(id, visible) { $(id).hidden = !visible; }
function status(text) { $('status').textContent = text; }
function fail(message) {
  $('error').textContent = message;
  show('error', true);
}

function base64url(bytes) {
  let s = '';
  bytes.forEach((b) => { s += String.fromCharCode(b); });
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function pkcePair() {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return { verifier, challenge: base64url(new Uint8Array(digest)) };
}

async function post(path, body) {
  const r = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await r.json().catch(() => ({}));
  if (!r.ok) {
    throw new Error(`${answer.error || r.status}: ${answer.error_description || 'request failed'}`);
  }
  return answer;
}

async function signIn() {
  const { verifier, challenge } = await pkcePair();
  const started = await post('/api/v1/auth/authorize', { codeChallenge: challenge });
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state: started.state }));
  window.location.assign(started.authorizeUrl);
}

function hold(answer) {
  tokens.access = answer.accessToken;
  tokens.refresh = answer.refreshToken || tokens.refresh;
  clearTimeout(tokens.timer);
  // Renew a minute before expiry (at least five seconds from now).
  const inMs = Math.max(5, (answer.expiresIn || 0) - 60) * 1000;
  tokens.timer = setTimeout(() => { renew().catch((e) => fail(e.message)); }, inMs);
}

async function renew() {
  if (!tokens.refresh) return;
  hold(await post('/api/v1/auth/refresh', { refreshToken: tokens.refresh }));
  tokens.renewals += 1;
  $('renewals').textContent = String(tokens.renewals);
}

async function listDocuments() {
  const r = await fetch('/api/v1/documents', {
    headers: { authorization: `Bearer ${tokens.access}` },
  });
  if (!r.ok) throw new Error(`the documents could not be listed (${r.status})`);
  const { documents } = await r.json();
  const list = $('documents');
  list.replaceChildren(...documents.map((d) => {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = `/documents/${encodeURIComponent(d.id)}`;
    a.textContent = d.title;
    li.append(a);
    return li;
  }));
  show('no-documents', documents.length === 0);
}

async function finishSignIn(params) {
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || 'null');
  sessionStorage.removeItem(PENDING);
  window.history.replaceState(null, '', '/spa/');
  if (params.get('error')) {
    throw new Error(`the sign-in was refused: ${params.get('error_description') || params.get('error')}`);
  }
  if (!pending || pending.state !== params.get('state')) {
    throw new Error('this sign-in was not started here (state mismatch)');
  }
  const answer = await post('/api/v1/auth/callback', {
    code: params.get('code'),
    state: pending.state,
    codeVerifier: pending.verifier,
  });
  hold(answer);
  $('who').textContent = answer.user.name || answer.user.email || answer.user.userId;
  show('signed-out', false);
  show('signed-in', true);
  status('Signed in.');
  await listDocuments();
}

function forget() {
  clearTimeout(tokens.timer);
  Object.assign(tokens, { access: null, refresh: null, timer: null });
  show('signed-in', false);
  show('signed-out', true);
  status('Signed out: the tokens are forgotten.');
}

document.addEventListener('DOMContentLoaded', () => {
  const run = (f) => () => { show('error', false); f().catch((e) => fail(e.message)); };
  $('sign-in').addEventListener('click', run(signIn));
  $('reload').addEventListener('click', run(listDocuments));
  $('renew').addEventListener('click', run(async () => { await renew(); await listDocuments(); }));
  $('sign-out').addEventListener('click', forget);
  const params = new URLSearchParams(window.location.search);
  if (window.location.pathname === '/spa/callback') {
    run(() => finishSignIn(params))();
  }
});
