// The hosted sign-in page's script (src/http/pages/oidc.ts renders the page). It signs in through
// the same HTTP routes as any client of the API — POST /auth/verify and POST /auth/sessions for an
// emailed code; POST /auth/passkeys/authenticate/options + verify, then POST /auth/sessions, for a
// passkey — so limits, activity and the `session` cookie are the API's. Signed in, it continues
// the authorization request, which redirects back to the app with a code.
// Bundled with @simplewebauthn/browser by scripts/build-demo.ts into src/http/pages/assets.ts.
import { browserSupportsWebAuthn, browserSupportsWebAuthnAutofill, startAuthentication } from '@simplewebauthn/browser';

const $ = (id) => document.getElementById(id);
const main = $('sign-in');
const continueUrl = `/oauth/authorize/continue?request=${encodeURIComponent(main.dataset.request)}`;
const emailForm = $('email-form');
const codeForm = $('code-form');
const email = $('email');
const code = $('code');
const passkeyButton = $('passkey');
/** The address the last code went to: the code is checked against it, whatever the field says now. */
let sentTo = null;
let finished = false;

class ApiError extends Error {
  constructor(status, code, retryAfter) {
    super(code);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

async function post(path, body) {
  let res;
  try {
    res = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network');
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data?.error?.code ?? 'unknown', Number(res.headers.get('retry-after')) || null);
  return data;
}

const inMinutes = (seconds) => {
  const minutes = Math.max(1, Math.ceil((seconds ?? 60) / 60));
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
};

/**
 * What went wrong, in words. `wording` maps an HTTP status of this step to its sentence; the
 * rest is the same for every step. A WebAuthn error's own message is never shown: it is written
 * for developers and differs between browsers.
 */
function describe(error, wording = {}) {
  if (error instanceof ApiError) {
    if (error.status === 429) return `Too many attempts — try again in ${inMinutes(error.retryAfter)}.`;
    if (error.status === 0) return 'Cannot reach the server. Check your connection and try again.';
    if (wording[error.status]) return wording[error.status];
    if (error.status >= 500) return 'Signing in is not possible right now. Try again in a moment.';
    return 'Something went wrong. Try again.';
  }
  switch (error?.name) {
    case 'NotAllowedError':
      return 'The passkey prompt was closed.';
    case 'SecurityError':
      return 'Passkeys cannot be used on this address. Use an emailed code instead.';
    case 'InvalidStateError':
    case 'NotSupportedError':
    case 'UnknownError':
    case 'ConstraintError':
      return 'This device could not use a passkey. Try again, or use an emailed code.';
    default:
      return 'Something went wrong with the passkey. Try again, or use an emailed code.';
  }
}

const isAbort = (error) => error?.name === 'AbortError' || error?.code === 'ERROR_CEREMONY_ABORTED';

function say(text) {
  $('error').textContent = '';
  $('status').textContent = text;
}

function sayError(text, field) {
  $('status').textContent = '';
  $('error').textContent = text;
  for (const input of [email, code]) input.removeAttribute('aria-invalid');
  if (field) {
    field.setAttribute('aria-invalid', 'true');
    field.setAttribute('aria-describedby', field === code ? 'error code-help' : 'error');
    field.focus();
  }
}

/** Runs one step with its button disabled, so a double click does not send twice. */
async function busy(button, step) {
  button.disabled = true;
  try {
    await step();
  } finally {
    if (!finished) button.disabled = false;
  }
}

function signedIn(how) {
  finished = true;
  for (const button of document.querySelectorAll('button')) button.disabled = true;
  say(`Signed in ${how}. Returning to ${main.dataset.client}…`);
  location.assign(continueUrl);
}

emailForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const address = email.value.trim();
  if (!/^[^\s@]+@[^\s@]+$/.test(address)) return sayError('Enter your email address, like name@example.com.', email);
  void busy(emailForm.querySelector('button'), async () => {
    say('Sending a code…');
    try {
      await post('/auth/verify', { email: address });
    } catch (error) {
      // Only a refused address is the field's fault; a limit or an outage is not.
      return sayError(describe(error, { 400: 'Enter a valid email address.' }), error.status === 400 ? email : null);
    }
    sentTo = address;
    email.removeAttribute('aria-invalid');
    $('code-help').textContent = `Enter the 6-digit code we sent to ${address}. It is valid for 10 minutes.`;
    codeForm.hidden = false;
    // Signing in is the next step now; sending again stays possible, as the quieter button.
    emailForm.querySelector('button').classList.add('secondary');
    say('Code sent. Check your email.');
    code.value = '';
    code.focus();
  });
});

codeForm.addEventListener('submit', (event) => {
  event.preventDefault();
  // People paste codes with spaces or dashes; the code is its digits.
  const token = code.value.replace(/[\s-]/g, '');
  if (!/^\d{6}$/.test(token)) return sayError('Enter the 6-digit code from the email.', code);
  void busy(codeForm.querySelector('button'), async () => {
    say('Checking the code…');
    try {
      await post('/auth/sessions', { method: 'otp', email: sentTo, token });
    } catch (error) {
      const wrongCode = error.status === 400 || error.status === 401;
      return sayError(describe(error, { 400: 'Enter the 6-digit code from the email.', 401: 'That code is wrong or has expired.' }), wrongCode ? code : null);
    }
    signedIn('with the emailed code');
  });
});

/**
 * A passkey sign-in: the modal prompt of the button, or (`autofill`) the browser's passkey
 * suggestions on the Email field, which wait quietly until the person picks one. A failure says
 * whether the person had already chosen a passkey (`chosen`): before that, nobody asked for anything.
 */
async function signInWithPasskey(autofill) {
  const optionsJSON = await post('/auth/passkeys/authenticate/options');
  // A modal request started while these options were on their way: starting now would cancel it.
  if (autofill && modalActive) throw Object.assign(new Error('superseded'), { name: 'AbortError' });
  const credential = await startAuthentication({ optionsJSON, useBrowserAutofill: autofill });
  say('Checking the passkey…');
  let answer;
  try {
    answer = await post('/auth/passkeys/authenticate/verify', credential);
  } catch (error) {
    throw Object.assign(error, { chosen: true, wording: { 401: 'That passkey could not be used here. Try another one, or use an emailed code.' } });
  }
  try {
    await post('/auth/sessions', { method: 'passkey', email: answer.email, token: answer.token });
  } catch (error) {
    throw Object.assign(error, { chosen: true, wording: { 401: 'The passkey sign-in took too long. Try again.' } });
  }
  signedIn('with a passkey');
}

let autofillAvailable = false;
let modalActive = false;
let autofillRefresh;
/** How long one autofill request waits before it is replaced: its challenge lives 5 minutes. */
const AUTOFILL_REFRESH_MS = 4 * 60 * 1000;

/** Offers passkeys in the Email field's autofill until one is used or the button takes over. */
function offerAutofill() {
  clearTimeout(autofillRefresh);
  if (!autofillAvailable || finished || modalActive) return;
  // A new request cancels the previous one (quietly, below) and brings a fresh challenge.
  autofillRefresh = setTimeout(offerAutofill, AUTOFILL_REFRESH_MS);
  signInWithPasskey(true).catch((error) => {
    if (isAbort(error) || finished) return;
    // Options that did not come, or a request the browser dropped: the button still works, and
    // retrying here at once could loop. After a chosen passkey failed, offer the others again.
    if (!error.chosen) return clearTimeout(autofillRefresh);
    sayError(describe(error, error.wording));
    offerAutofill();
  });
}

if (passkeyButton) {
  if (!browserSupportsWebAuthn()) {
    $('passkey-option').hidden = true;
  } else {
    passkeyButton.addEventListener('click', () => {
      void busy(passkeyButton, async () => {
        say('Waiting for your passkey…');
        modalActive = true;
        clearTimeout(autofillRefresh);
        try {
          await signInWithPasskey(false);
        } catch (error) {
          if (finished) return;
          sayError(describe(error, error.wording));
          modalActive = false;
          offerAutofill();
        }
      });
    });
    browserSupportsWebAuthnAutofill().then((available) => {
      autofillAvailable = available;
      offerAutofill();
    });
  }
}

// Back from the app through the browser's history: this request was used; a reload asks the
// server again, which (signed in now) sends the browser straight on.
window.addEventListener('pageshow', (event) => {
  if (event.persisted && finished) location.reload();
});
