import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

/**
 * The pages of the OpenID Connect provider, served on ISSUER's origin. Each returns a whole HTML
 * document; the route sets the status and the Content-Security-Policy (src/http/routes/oauth.ts):
 * scripts of this origin only (no inline script), the inline `<style>`, `fetch` to this origin.
 */

/** Where the hosted sign-in page's scripts are served (src/http/routes/oauth-assets.ts). */
export const ASSETS_PATH = '/oauth/assets';

// Plain and calm, as the demo page: system font, one accent colour, large tap targets, visible focus.
const STYLE = `
  :root { color-scheme: light; --accent: #1f6feb; --accent-dark: #1a5fcc; --text: #1f2328; --muted: #59636e; --line: #d1d9e0; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--text); background: #f6f8fa; }
  main { max-width: 26rem; margin: 3rem auto; padding: 2rem 1.75rem; background: #fff; border: 1px solid var(--line); border-radius: 12px; }
  @media (max-width: 30rem) { main { margin: 0; min-height: 100vh; border: 0; border-radius: 0; padding: 1.5rem 1.25rem; } }
  .product { margin: 0 0 .25rem; color: var(--muted); font-size: .9rem; }
  h1 { margin: 0 0 1.25rem; font-size: 1.4rem; line-height: 1.3; overflow-wrap: anywhere; }
  p { overflow-wrap: anywhere; }
  form { margin: 0 0 1rem; }
  label { display: block; margin: 0 0 .35rem; font-weight: 600; }
  .help { margin: -.15rem 0 .5rem; color: var(--muted); font-size: .95rem; }
  input { display: block; width: 100%; min-height: 2.75rem; padding: .5rem .75rem; font: inherit; color: inherit; background: #fff; border: 1px solid #8c959f; border-radius: 8px; }
  input[aria-invalid="true"] { border-color: #cf222e; }
  button { display: block; width: 100%; min-height: 2.75rem; margin-top: .75rem; padding: .5rem 1rem; font: inherit; font-weight: 600; border: 1px solid var(--accent); border-radius: 8px; background: var(--accent); color: #fff; cursor: pointer; }
  button:hover { background: var(--accent-dark); }
  button.secondary { background: #fff; color: var(--accent-dark); }
  button.secondary:hover { background: #f3f7fe; }
  button:disabled { opacity: .6; cursor: progress; }
  :focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
  input:focus-visible { outline-offset: 0; border-color: var(--accent); }
  .or { display: flex; align-items: center; gap: .75rem; margin: 1.25rem 0 .25rem; color: var(--muted); font-size: .9rem; }
  .or::before, .or::after { content: ""; flex: 1; border-top: 1px solid var(--line); }
  .notice { margin: 0 0 1rem; padding: .6rem .8rem; border-radius: 8px; background: #f6f8fa; }
  .notice:empty { display: none; }
  .error { background: #ffebe9; color: #82071e; }
  .fine { margin: 1.5rem 0 0; color: var(--muted); font-size: .85rem; }
  [hidden] { display: none !important; }
`;

interface DocumentOptions {
  scripts?: string[];
  /**
   * The page's referrer policy, over the server's `no-referrer`. Under `no-referrer` a browser
   * sends `Origin: null` with a form's POST, which the CSRF check must refuse; `same-origin` sends
   * the real origin to this server and still no referrer to any other.
   */
  referrer?: 'same-origin';
}

function document(title: string, body: HtmlEscapedString | Promise<HtmlEscapedString>, options: DocumentOptions = {}) {
  const scripts = options.scripts ?? [];
  return String(html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${options.referrer ? html`<meta name="referrer" content="${options.referrer}">
` : ''}<title>${title}</title>
<style>${raw(STYLE)}</style>
${scripts.map((src) => html`<script type="module" src="${src}"></script>
`)}</head>
<body>
${body}
</body>
</html>
`);
}

/** What the hosted sign-in page needs to continue an authorization request. */
export interface SignInPage {
  /** The pending authorization request; the page continues at `/oauth/authorize/continue?request=<id>` once signed in. */
  requestId: string;
  /** The client's display name ("Sign in to <name>"). */
  clientName: string;
  /** `login_hint`, pre-filled into the Email field. */
  loginHint: string | null;
  /** False when RP_ID does not cover ISSUER's host: the page then offers email codes only. */
  passkeys: boolean;
  /** `RP_NAME`, the product name. */
  productName: string;
}

/**
 * The hosted sign-in page: an emailed code (Email → Send code → Code → Sign in) and a passkey
 * (the button, and the browser's passkey autofill on the Email field). Its script
 * (`sign-in.js`) calls the `/auth/*` routes and then continues the authorization request.
 */
export function renderSignInPage(page: SignInPage): string {
  const scripts = [`${ASSETS_PATH}/sign-in.js`];
  return document(
    `Sign in to ${page.clientName}`,
    html`<main id="sign-in" data-request="${page.requestId}" data-passkeys="${page.passkeys ? 'on' : 'off'}" data-client="${page.clientName}">
<p class="product">${page.productName}</p>
<h1>Sign in to ${page.clientName}</h1>
<p id="error" class="notice error" role="alert"></p>
<p id="status" class="notice" role="status"></p>
<form id="email-form" novalidate>
<label for="email">Email</label>
<input id="email" name="email" type="email" inputmode="email" autocomplete="${page.passkeys ? 'username webauthn' : 'username'}" autocapitalize="none" spellcheck="false" maxlength="254" required value="${page.loginHint ?? ''}">
<button type="submit">Send code</button>
</form>
<form id="code-form" novalidate hidden>
<label for="code">Code</label>
<p id="code-help" class="help">The 6-digit code from the email.</p>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="12" required aria-describedby="code-help">
<button type="submit">Sign in</button>
</form>
${page.passkeys
  ? html`<div id="passkey-option">
<p class="or">or</p>
<button id="passkey" type="button" class="secondary">Sign in with a passkey</button>
</div>
`
  : ''}<noscript><p class="notice error">This page needs JavaScript to sign you in.</p></noscript>
</main>`,
    { scripts },
  );
}

export interface MessagePage {
  title: string;
  message: string;
  /** `error` (the default: a refused request) or `info` (e.g. signed out). */
  tone?: 'error' | 'info';
}

/** A page that only says something (a refused authorization request, a signed-out browser). */
export function renderMessagePage(page: MessagePage): string {
  const tone = page.tone ?? 'error';
  return document(
    page.title,
    html`<main class="message" data-tone="${tone}">
<h1>${page.title}</h1>
<p class="notice${tone === 'error' ? ' error' : ''}">${page.message}</p>
<p class="fine">You can close this page.</p>
</main>`,
  );
}

/** The sign-out confirmation of `GET /oauth/logout` without a valid `id_token_hint`: a form that POSTs back. */
export interface LogoutConfirmPage {
  /** Hidden fields to send back with the POST (`post_logout_redirect_uri`, `state`, `client_id`). */
  fields: Record<string, string>;
  /** `RP_NAME`, the product name, when the route knows it. */
  productName?: string;
}

/**
 * Asks before signing the browser out (a sign-out link without a valid `id_token_hint` could come
 * from anywhere). Its route's `form-action` names the post-logout redirect URI's origin, since
 * browsers apply it to the redirect that follows the POST.
 */
export function renderLogoutConfirmPage(page: LogoutConfirmPage): string {
  const inputs = Object.entries(page.fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">
`);
  return document(
    'Sign out',
    html`<main class="logout">
${page.productName ? html`<p class="product">${page.productName}</p>\n` : ''}<h1>Sign out?</h1>
<p>This signs you out on this browser. Apps you signed in to through it will ask you to sign in again.</p>
<form method="post" action="/oauth/logout">
${inputs}<button type="submit">Sign out</button>
</form>
<p class="fine">To stay signed in, close this page.</p>
</main>`,
    { referrer: 'same-origin' },
  );
}
