// A reference single-page client of the auth API. It uses only the HTTP contract: the `session`
// cookie (HttpOnly, set by POST /auth/sessions) authenticates every call, so requests go out
// with `credentials: 'include'`. Served from another origin than the auth server, the page names
// the server in `<html data-api="https://auth.example.com">`, and the server's ORIGIN lists the
// page's origin. Without data-api the page calls its own origin.
const API = (document.documentElement.dataset.api ?? '').replace(/\/+$/, '');
const { startRegistration, startAuthentication, browserSupportsWebAuthn, browserSupportsWebAuthnAutofill, WebAuthnAbortService } =
  window.SimpleWebAuthnBrowser;

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
    const message = `Cannot reach the auth server at ${API || location.origin} (is it running, and is ${location.origin} in its ORIGIN?).`;
    throw Object.assign(new Error(message), { status: 0, code: 'unreachable' });
  }
  const data = res.status === 204 ? null : await res.json();
  if (!res.ok) throw Object.assign(new Error(data.error.message), { status: res.status, code: data.error.code });
  return data;
}

function say(message, isError = false) {
  $('status').textContent = message;
  $('status').classList.toggle('error', isError);
}

/**
 * What went wrong with a passkey prompt, in plain words. The browser's own text ("The operation
 * either timed out or was not allowed. See: https://www.w3.org/…") helps nobody; the error's name
 * and @simplewebauthn/browser's code say what happened.
 */
function describeWebAuthnError(error) {
  switch (error.code) {
    case 'ERROR_CEREMONY_ABORTED':
      return 'The passkey prompt was cancelled.';
    case 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED':
      return 'This device already has a passkey for this account.';
    case 'ERROR_INVALID_DOMAIN':
    case 'ERROR_INVALID_RP_ID':
      return 'Passkeys for this service cannot be used on this web address.';
    case 'ERROR_AUTHENTICATOR_MISSING_DISCOVERABLE_CREDENTIAL_SUPPORT':
    case 'ERROR_AUTHENTICATOR_MISSING_USER_VERIFICATION_SUPPORT':
    case 'ERROR_AUTHENTICATOR_NO_SUPPORTED_PUBKEYCREDPARAMS_ALG':
      return 'This device cannot hold a passkey for this service. Try another device or password manager.';
  }
  switch (error.cause?.name ?? error.name) {
    case 'NotAllowedError':
      return 'The passkey prompt was closed.';
    case 'AbortError':
      return 'The passkey prompt was cancelled.';
    case 'InvalidStateError':
      return 'This device already has a passkey for this account.';
    case 'SecurityError':
      return 'Passkeys for this service cannot be used on this web address.';
    case 'NotSupportedError':
      return 'This device cannot hold a passkey for this service. Try another device or password manager.';
    default:
      return 'The passkey did not work. Try again, or sign in with an emailed code.';
  }
}

/** An error from the API (or the network) carries a status; anything else in a passkey step came from WebAuthn. */
const messageOf = (error) => (error.status !== undefined ? error.message : describeWebAuthnError(error));

// Runs a UI action, reporting its failure instead of throwing.
const action = (fn) => async (event) => {
  event?.preventDefault();
  try {
    await fn();
  } catch (error) {
    const hint = error.code === 'reauthentication_required' ? ' Sign out and in again, then retry.' : '';
    say(`${messageOf(error)}${hint}`, true);
  }
};

const button = (text, { label, className = 'quiet', onClick }) => {
  const element = Object.assign(document.createElement('button'), { textContent: text, className, type: 'button' });
  // The visible word is the verb; the accessible name also says what it acts on ("Remove Laptop").
  if (label) element.setAttribute('aria-label', label);
  element.addEventListener('click', action(onClick));
  return element;
};

function row(text, detail, ...buttons) {
  const li = document.createElement('li');
  const label = document.createElement('span');
  label.append(text, document.createElement('br'), Object.assign(document.createElement('small'), { textContent: detail }));
  li.append(label);
  if (buttons.length) {
    const actions = Object.assign(document.createElement('span'), { className: 'actions' });
    actions.append(...buttons);
    li.append(actions);
  }
  return li;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : 'never');

/** "Chrome on macOS" from a user agent, as the server names devices; the raw string otherwise. */
function device(userAgent) {
  if (!userAgent) return 'Unknown device';
  const browser = [[/Edg\//, 'Edge'], [/OPR\//, 'Opera'], [/Firefox\//, 'Firefox'], [/(Chrome|CriOS)\//, 'Chrome'], [/Safari\//, 'Safari']].find(([re]) => re.test(userAgent))?.[1];
  const platform = [[/iPhone/, 'iPhone'], [/iPad/, 'iPad'], [/Android/, 'Android'], [/CrOS/, 'ChromeOS'], [/Windows/, 'Windows'], [/Mac OS X/, 'macOS'], [/Linux/, 'Linux']].find(([re]) => re.test(userAgent))?.[1];
  return browser && platform ? `${browser} on ${platform}` : userAgent;
}

/** An inline form in a passkey's row to rename it. */
function renameForm(li, passkey) {
  const form = document.createElement('form');
  const id = `rename-${passkey.id}`;
  const label = Object.assign(document.createElement('label'), { htmlFor: id, textContent: `New name for ${passkey.name}` });
  const input = Object.assign(document.createElement('input'), { id, value: passkey.name, maxLength: 64, required: true, autocomplete: 'off' });
  const save = Object.assign(document.createElement('button'), { textContent: 'Save' });
  const cancel = button('Cancel', { onClick: render });
  const controls = Object.assign(document.createElement('div'), { className: 'row' });
  controls.append(input, save, cancel);
  form.append(label, controls);
  form.addEventListener('submit', action(async () => {
    const { passkey: renamed } = await api('PATCH', `/auth/passkeys/${passkey.id}`, { name: input.value });
    say(`Passkey renamed to "${renamed.name}".`);
    await render();
  }));
  li.replaceChildren(form);
  input.focus();
  input.select();
}

async function render() {
  let current;
  try {
    current = await api('GET', '/auth/sessions/current');
  } catch (error) {
    if (error.status !== 401) throw error;
  }
  $('signed-out').hidden = Boolean(current);
  $('signed-in').hidden = !current;
  if (!current) return false;

  $('who').textContent = current.user.email;
  $('how').textContent = `(via ${current.session.method === 'passkey' ? 'a passkey' : 'an emailed code'})`;

  const { passkeys } = await api('GET', '/auth/passkeys');
  $('passkeys').replaceChildren(
    ...passkeys.map((p) => {
      const li = row(
        p.name,
        `added ${when(p.createdAt)}, last used ${when(p.lastUsedAt)}`,
        button('Rename', { label: `Rename ${p.name}`, onClick: () => renameForm(li, p) }),
        button('Remove', {
          label: `Remove ${p.name}`,
          className: 'danger quiet',
          onClick: async () => {
            await api('DELETE', `/auth/passkeys/${p.id}`);
            say(`Passkey "${p.name}" removed.`);
            await render();
          },
        }),
      );
      return li;
    }),
  );
  if (passkeys.length === 0) $('passkeys').append(row('No passkeys yet.', 'Add one to sign in without email next time.'));

  const { sessions } = await api('GET', '/auth/sessions');
  $('sessions').replaceChildren(
    ...sessions.map((s) => {
      const name = s.current ? 'This session' : device(s.userAgent);
      const detail = `${s.method === 'passkey' ? 'passkey' : 'otp'}, since ${when(s.createdAt)}`;
      if (s.current) return row(name, detail);
      return row(name, detail, button('Revoke', {
        label: `Revoke ${name}, ${detail}`,
        onClick: async () => {
          await api('DELETE', `/auth/sessions/${s.id}`);
          say('Session revoked.');
          await render();
        },
      }));
    }),
  );
  return true;
}

/** Exchanges a passkey assertion for a session. */
async function signInWithAssertion(credential) {
  const { token, email } = await api('POST', '/auth/passkeys/authenticate/verify', credential);
  await api('POST', '/auth/sessions', { method: 'passkey', email, token });
  $('code').value = '';
  say('Signed in with a passkey.');
  await render();
}

/**
 * Passkey autofill: a conditional request that the browser answers when the person picks a
 * passkey in the email field's suggestions. It waits in the background while the page is signed
 * out; another ceremony (the button, a registration) or a code sign-in cancels it quietly.
 */
async function startAutofill() {
  if (!(await browserSupportsWebAuthnAutofill())) return;
  let credential;
  try {
    const optionsJSON = await api('POST', '/auth/passkeys/authenticate/options');
    credential = await startAuthentication({ optionsJSON, useBrowserAutofill: true });
  } catch (error) {
    // Cancelled by another ceremony, or ended by the browser without the person asking for
    // anything (no passkey for this site): nothing to tell. Only a failing server is news.
    if (error.status === undefined) return;
    say(messageOf(error), true);
    return;
  }
  await action(() => signInWithAssertion(credential))();
}

$('request-code').addEventListener('submit', action(async () => {
  const { expiresAt } = await api('POST', '/auth/verify', { email: $('email').value });
  say(`Code sent to ${$('email').value}; it expires at ${new Date(expiresAt).toLocaleTimeString()}.`);
  $('code').focus();
}));

$('code-sign-in').addEventListener('submit', action(async () => {
  await api('POST', '/auth/sessions', { method: 'otp', email: $('email').value, token: $('code').value.trim() });
  // Signed in: the waiting autofill request has nothing left to do.
  WebAuthnAbortService.cancelCeremony();
  $('code').value = '';
  say('Signed in with an emailed code.');
  await render();
}));

$('passkey-sign-in').addEventListener('click', action(async () => {
  const optionsJSON = await api('POST', '/auth/passkeys/authenticate/options');
  // Cancels the autofill request, if one is waiting: one ceremony at a time.
  const credential = await startAuthentication({ optionsJSON });
  await signInWithAssertion(credential);
}));

$('add-passkey').addEventListener('submit', action(async () => {
  const optionsJSON = await api('POST', '/auth/passkeys/register/options');
  const credential = await startRegistration({ optionsJSON });
  const name = $('passkey-name').value.trim();
  // Unnamed, the server names it after its provider or this browser ("iCloud Keychain", "Chrome on macOS").
  const { passkey } = await api('POST', '/auth/passkeys/register/verify', { ...credential, ...(name ? { name } : {}) });
  say(`Passkey "${passkey.name}" added.`);
  $('passkey-name').value = '';
  await render();
}));

$('sign-out').addEventListener('click', action(async () => {
  await api('DELETE', '/auth/sessions');
  $('code').value = '';
  say('Signed out.');
  await render();
}));

$('change-email').addEventListener('submit', action(async () => {
  const email = $('new-email').value;
  await api('POST', '/auth/account/email', { email });
  $('confirm-email').hidden = false;
  say(`Code sent to ${email}. Enter it to change the address.`);
  $('new-email-code').focus();
}));

$('confirm-email').addEventListener('submit', action(async () => {
  const { user } = await api('POST', '/auth/account/email/verify', { email: $('new-email').value, token: $('new-email-code').value.trim() });
  $('new-email').value = '';
  $('new-email-code').value = '';
  $('confirm-email').hidden = true;
  say(`Email changed to ${user.email}.`);
  await render();
}));

$('delete-account').addEventListener('click', () => {
  $('delete-account').hidden = true;
  $('delete-confirm').hidden = false;
  $('delete-account-cancel').focus();
});

$('delete-account-cancel').addEventListener('click', () => {
  $('delete-confirm').hidden = true;
  $('delete-account').hidden = false;
  $('delete-account').focus();
});

$('delete-account-confirm').addEventListener('click', action(async () => {
  await api('DELETE', '/auth/account');
  $('delete-confirm').hidden = true;
  $('delete-account').hidden = false;
  $('code').value = '';
  say('Your account was deleted.');
  await render();
}));

await action(async () => {
  const signedIn = await render();
  say(browserSupportsWebAuthn() ? 'Ready.' : 'Ready (this browser has no WebAuthn: passkeys will not work).');
  if (!signedIn) void startAutofill();
})();
