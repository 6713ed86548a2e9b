// The "Sign in with OpenID Connect" example: an app that signs in through this server as an
// OpenID Connect provider with oidc-client-ts (authorization code + PKCE, refresh tokens), and
// checks the id_token with jose against the server's JWKS before showing its claims.
// Bundled by scripts/build-demo.ts (esbuild) into src/http/demo/assets.ts.
//
// Served by the server itself at /demo/oidc, it uses the built-in `demo` client. Served from
// another origin, the page names the provider and its client on <html>:
// `<html data-issuer="https://auth.example.com" data-client-id="my-app">`; the page's own URL
// (without its query) is the redirect URI and the post-logout redirect URI to register.
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { UserManager } from 'oidc-client-ts';

const $ = (id) => document.getElementById(id);
const data = document.documentElement.dataset;
const issuer = data.issuer || location.origin;
const clientId = data.clientId ?? 'demo';
const pageUrl = `${location.origin}${location.pathname}`;

const manager = new UserManager({
  authority: issuer,
  client_id: clientId,
  redirect_uri: pageUrl,
  post_logout_redirect_uri: pageUrl,
  response_type: 'code',
  scope: 'openid email profile offline_access',
  // Renewal is the "Renew" button here; an app would rather set automaticSilentRenew: true.
  automaticSilentRenew: false,
});

/** The claims shown first; the rest follow in the token's order. */
const FIRST = ['sub', 'hex_identity', 'email'];

function say(message, isError = false) {
  $('status').textContent = message;
  $('status').classList.toggle('error', isError);
}

const action = (fn) => async (event) => {
  event?.preventDefault();
  const button = event?.currentTarget;
  if (button) button.disabled = true;
  try {
    await fn();
  } catch (error) {
    say(describe(error), true);
  } finally {
    if (button) button.disabled = false;
  }
};

function describe(error) {
  // An authorization error sent back to the redirect URI (`error`, `error_description`).
  if (error?.error) return `The provider answered ${error.error}${error.error_description ? `: ${error.error_description}` : ''}.`;
  if (error instanceof TypeError) return `Cannot reach ${issuer} (is it running, and is this page's origin one of its client's redirect URIs?).`;
  return error?.message ?? String(error);
}

let jwks;
let jwksUri;
/** The id_token's claims, once its signature, `iss`, `aud` and `exp` have been checked. */
async function verifiedClaims(idToken) {
  if (!jwks) {
    jwksUri = (await manager.metadataService.getMetadata()).jwks_uri;
    jwks = createRemoteJWKSet(new URL(jwksUri));
  }
  return jwtVerify(idToken, jwks, { issuer, audience: clientId, algorithms: ['ES256'] });
}

const when = (seconds) => new Date(seconds * 1000).toLocaleString();

function claimRow(name, value) {
  const row = document.createElement('tr');
  const text = ['iat', 'exp', 'auth_time'].includes(name) ? `${value} (${when(value)})` : typeof value === 'string' ? value : JSON.stringify(value);
  row.append(Object.assign(document.createElement('th'), { scope: 'row', textContent: name }));
  const cell = document.createElement('td');
  cell.append(Object.assign(document.createElement('code'), { textContent: text }));
  cell.dataset.claim = name;
  row.append(cell);
  return row;
}

async function render(user) {
  $('signed-out').hidden = Boolean(user);
  $('signed-in').hidden = !user;
  if (!user) return;
  let verified;
  try {
    verified = await verifiedClaims(user.id_token);
  } catch (error) {
    $('verified').textContent = '';
    $('claims').replaceChildren();
    throw new Error(`The id_token did not verify (${error.code ?? error.message}). Renew or sign in again.`);
  }
  const { payload, protectedHeader } = verified;
  $('verified').textContent = `✓ Signature verified with key ${protectedHeader.kid} of ${jwksUri}; iss, aud and exp checked.`;
  const names = [...FIRST.filter((name) => name in payload), ...Object.keys(payload).filter((name) => !FIRST.includes(name))];
  $('claims').replaceChildren(...names.map((name) => claimRow(name, payload[name])));
}

$('sign-in').addEventListener('click', action(async () => {
  say('Going to the sign-in page…');
  await manager.signinRedirect();
}));

$('renew').addEventListener('click', action(async () => {
  const before = await manager.getUser();
  const user = await manager.signinSilent();
  await render(user);
  const rotated = user?.refresh_token && user.refresh_token !== before?.refresh_token;
  say(`Renewed at ${new Date().toLocaleTimeString()}: a new id_token${rotated ? ' and a new refresh token' : ''}.`);
}));

$('sign-out').addEventListener('click', action(async () => {
  say('Signing out…');
  // With state, the provider sends it back and signoutCallback() can tell this return apart.
  await manager.signoutRedirect({ state: 'signed-out' });
}));

await action(async () => {
  if (data.clientId === '') {
    $('no-client').hidden = false;
    $('client-example').textContent = `OIDC_CLIENTS='[{"id":"demo","name":"OIDC example","redirectUris":["${pageUrl}"],"postLogoutRedirectUris":["${pageUrl}"]}]'`;
    say('This server has no client for this page.', true);
    return;
  }
  const params = new URLSearchParams(location.search);
  if (params.has('code') || params.has('error')) {
    // Back from the provider: exchange the code (or read the error), then drop it from the URL.
    try {
      await manager.signinCallback();
    } finally {
      history.replaceState(null, '', pageUrl);
    }
    const user = await manager.getUser();
    await render(user);
    say(`Signed in as ${user.profile.email ?? user.profile.sub}.`);
    return;
  }
  if (params.has('state')) {
    try {
      await manager.signoutCallback();
    } finally {
      history.replaceState(null, '', pageUrl);
    }
    await render(null);
    say('Signed out.');
    return;
  }
  const user = await manager.getUser();
  await render(user);
  say(user ? `Signed in as ${user.profile.email ?? user.profile.sub}.` : 'Not signed in.');
})();
