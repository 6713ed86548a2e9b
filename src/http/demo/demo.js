// A minimal single-page client of the auth API. It uses only the HTTP contract: the `session`
// cookie (HttpOnly, set by POST /auth/sessions) authenticates every call, so requests go out
// with `credentials: 'include'`. Served from another origin than the auth server, the page names
// the server in `<html data-api="https://auth.example.com">`, and the server's ORIGIN lists the
// page's origin. Without data-api the page calls its own origin.
const API = (document.documentElement.dataset.api ?? '').replace(/\/+$/, '');
const { startRegistration, startAuthentication, browserSupportsWebAuthn } = window.SimpleWebAuthnBrowser;

const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  let res;
  try {
    res = await fetch(API + path, {
      method,
      credentials: 'include',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    // Unreachable, or CORS refused the answer: the browser does not say which.
    throw new Error(`Cannot reach the auth server at ${API || location.origin} (is it running, and is ${location.origin} in its ORIGIN?).`);
  }
  const data = res.status === 204 ? null : await res.json();
  if (!res.ok) throw Object.assign(new Error(data.error.message), { status: res.status, code: data.error.code });
  return data;
}

function say(message, isError = false) {
  $('status').textContent = message;
  $('status').classList.toggle('error', isError);
}

// Runs a UI action, reporting its failure instead of throwing.
const action = (fn) => async (event) => {
  event?.preventDefault();
  try {
    await fn();
  } catch (error) {
    const hint = error.code === 'reauthentication_required' ? ' Sign out and in again, then retry.' : '';
    say(`${error.message}${hint}`, true);
  }
};

function row(text, detail, buttonLabel, onClick) {
  const li = document.createElement('li');
  const label = document.createElement('span');
  label.append(text, document.createElement('br'), Object.assign(document.createElement('small'), { textContent: detail }));
  li.append(label);
  if (buttonLabel) {
    const button = Object.assign(document.createElement('button'), { textContent: buttonLabel, className: 'quiet' });
    button.addEventListener('click', action(onClick));
    li.append(button);
  }
  return li;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : 'never');

async function render() {
  let current;
  try {
    current = await api('GET', '/auth/sessions/current');
  } catch (error) {
    if (error.status !== 401) throw error;
  }
  $('signed-out').hidden = Boolean(current);
  $('signed-in').hidden = !current;
  if (!current) return;

  $('who').textContent = current.user.email;
  $('how').textContent = `(via ${current.session.method === 'passkey' ? 'a passkey' : 'an emailed code'})`;

  const { passkeys } = await api('GET', '/auth/passkeys');
  $('passkeys').replaceChildren(
    ...passkeys.map((p) =>
      row(p.name, `added ${when(p.createdAt)}, last used ${when(p.lastUsedAt)}`, 'Remove', async () => {
        await api('DELETE', `/auth/passkeys/${p.id}`);
        say(`Passkey "${p.name}" removed.`);
        await render();
      }),
    ),
  );
  if (passkeys.length === 0) $('passkeys').append(row('No passkeys yet.', 'Add one to sign in without email next time.'));

  const { sessions } = await api('GET', '/auth/sessions');
  $('sessions').replaceChildren(
    ...sessions.map((s) =>
      row(s.current ? 'This session' : s.userAgent ?? 'Unknown device', `${s.method}, since ${when(s.createdAt)}`, s.current ? null : 'Revoke', async () => {
        await api('DELETE', `/auth/sessions/${s.id}`);
        say('Session revoked.');
        await render();
      }),
    ),
  );
}

$('request-code').addEventListener('submit', action(async () => {
  const { expiresAt } = await api('POST', '/auth/verify', { email: $('email').value });
  say(`Code sent to ${$('email').value}; it expires at ${new Date(expiresAt).toLocaleTimeString()}.`);
  $('code').focus();
}));

$('code-sign-in').addEventListener('submit', action(async () => {
  await api('POST', '/auth/sessions', { method: 'otp', email: $('email').value, token: $('code').value.trim() });
  say('Signed in with an emailed code.');
  await render();
}));

$('passkey-sign-in').addEventListener('click', action(async () => {
  const optionsJSON = await api('POST', '/auth/passkeys/authenticate/options');
  const credential = await startAuthentication({ optionsJSON });
  const { token, email } = await api('POST', '/auth/passkeys/authenticate/verify', credential);
  await api('POST', '/auth/sessions', { method: 'passkey', email, token });
  say('Signed in with a passkey.');
  await render();
}));

$('add-passkey').addEventListener('submit', action(async () => {
  const optionsJSON = await api('POST', '/auth/passkeys/register/options');
  const credential = await startRegistration({ optionsJSON });
  const { passkey } = await api('POST', '/auth/passkeys/register/verify', { ...credential, name: $('passkey-name').value });
  say(`Passkey "${passkey.name}" added.`);
  $('passkey-name').value = '';
  await render();
}));

$('sign-out').addEventListener('click', action(async () => {
  await api('DELETE', '/auth/sessions');
  say('Signed out.');
  await render();
}));

await action(async () => {
  await render();
  say(browserSupportsWebAuthn() ? 'Ready.' : 'Ready (this browser has no WebAuthn: passkeys will not work).');
})();
