import { html, raw } from 'hono/html';

/**
 * The pages of the OpenID Connect provider, served on ISSUER's origin. Each returns a whole HTML
 * document; the route sets the status and the Content-Security-Policy (`PAGE_POLICY`).
 */

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

export function renderSignInPage(page: SignInPage): string {
  return String(html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to ${page.clientName}</title></head>
<body><main data-request="${page.requestId}" data-passkeys="${page.passkeys ? 'on' : 'off'}">
<h1>Sign in to ${page.clientName}</h1>
<p>${page.productName}</p>
<label for="email">Email</label> <input id="email" name="email" type="email" autocomplete="username webauthn" value="${page.loginHint ?? ''}">
</main></body></html>`);
}

export interface MessagePage {
  title: string;
  message: string;
}

/** A page that only says something (a refused authorization request, a signed-out browser). */
export function renderMessagePage(page: MessagePage): string {
  return String(html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title}</title></head>
<body><main><h1>${page.title}</h1><p>${page.message}</p></main></body></html>`);
}

/** The sign-out confirmation of `GET /oauth/logout` without a valid `id_token_hint`: a form that POSTs back. */
export interface LogoutConfirmPage {
  /** Hidden fields to send back with the POST (`post_logout_redirect_uri`, `state`, `client_id`). */
  fields: Record<string, string>;
}

export function renderLogoutConfirmPage(page: LogoutConfirmPage): string {
  const inputs = Object.entries(page.fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
  return String(html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign out</title></head>
<body><main><h1>Sign out?</h1>
<form method="post" action="/oauth/logout">${raw(inputs.join(''))}<button type="submit">Sign out</button></form>
</main></body></html>`);
}
