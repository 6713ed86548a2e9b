import { Agent, request } from 'node:http';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { SoftAuthenticator } from '../../test/helpers/webauthn';

/**
 * The sign-in flows of each server, as a browser (and its passkey) would drive them. Every
 * answer is checked: a wrong status or a body without what the next step needs throws.
 */

interface Answer {
  status: number;
  body: any;
  cookies: Record<string, string>;
}

/** Told of every request's start and end (`bench:profile` counts the SQL of each step with it). */
export interface CallObserver {
  before(step: string): void;
  after(step: string): void;
}
let observer: CallObserver | undefined;
export function observeCalls(next: CallObserver | undefined): void {
  observer = next;
}

/**
 * Keep-alive connections shared by the rounds' workers. node:http rather than `fetch`: undici's
 * fetch spent about 0.26 ms of the bench's CPU per request here against 0.06 ms, CPU the servers
 * it loads share.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

function send(method: string, url: string, headers: Record<string, string>, body: string | undefined): Promise<{ status: number; text: string; setCookie: string[] }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), setCookie: res.headers['set-cookie'] ?? [] }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function call(method: string, url: string, expect: number, init: { headers?: Record<string, string>; json?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  const step = `${method} ${new URL(url).pathname}`;
  observer?.before(step);
  const res = await send(method, url, headers, init.json === undefined ? undefined : JSON.stringify(init.json));
  const text = res.text;
  observer?.after(step);
  if (res.status !== expect) throw new Error(`${method} ${url}: expected ${expect}, got ${res.status}: ${text.slice(0, 300)}`);
  const cookies: Record<string, string> = {};
  for (const line of res.setCookie) {
    const pair = line.split(';', 1)[0]!;
    const eq = pair.indexOf('=');
    cookies[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { status: res.status, body: text ? JSON.parse(text) : null, cookies };
}

const cookieHeader = (cookies: Record<string, string>) =>
  Object.entries(cookies)
    .map(([name, value]) => `${name}=${value}`)
    .join('; ');

export interface SignedIn {
  /** Headers that authenticate a request as this session. */
  headers: Record<string, string>;
  /** The session token (this server: also the `session` cookie's value). */
  token: string;
}

export interface AuthClient {
  name: string;
  /** The origin the server expects in WebAuthn client data and on cookie-authenticated POSTs. */
  origin: string;
  /** Asks for a code, reads it from the SMTP sink, exchanges it for a session. */
  signInWithCode(email: string): Promise<SignedIn>;
  registerPasskey(session: SignedIn, authenticator: SoftAuthenticator): Promise<void>;
  /** A discoverable-credential sign-in with the authenticator's passkey, through to a session. */
  signInWithPasskey(authenticator: SoftAuthenticator): Promise<SignedIn>;
}

type CodeSource = (email: string) => Promise<string>;

/** This server (API.md). */
export function thisServerClient(base: string, origin: string, codeFor: CodeSource): AuthClient {
  const session = (answer: Answer): SignedIn => {
    const token = answer.body?.token;
    if (typeof token !== 'string' || !answer.body.session?.id) throw new Error(`no session in ${JSON.stringify(answer.body).slice(0, 300)}`);
    return { headers: { authorization: `Bearer ${token}` }, token };
  };
  return {
    name: 'this',
    origin,
    async signInWithCode(email) {
      const code = codeFor(email);
      code.catch(() => {}); // a failed request below is the error to report, not a missing mail
      await call('POST', `${base}/auth/verify`, 202, { json: { email } });
      return session(await call('POST', `${base}/auth/sessions`, 201, { json: { method: 'otp', email, token: await code } }));
    },
    async registerPasskey(signedIn, authenticator) {
      const options = await call('POST', `${base}/auth/passkeys/register/options`, 200, { headers: signedIn.headers });
      const credential = await authenticator.register(options.body as PublicKeyCredentialCreationOptionsJSON);
      await call('POST', `${base}/auth/passkeys/register/verify`, 201, { headers: signedIn.headers, json: { ...credential, name: 'bench' } });
    },
    async signInWithPasskey(authenticator) {
      const options = await call('POST', `${base}/auth/passkeys/authenticate/options`, 200);
      const assertion = await authenticator.authenticate(options.body as PublicKeyCredentialRequestOptionsJSON);
      const verified = await call('POST', `${base}/auth/passkeys/authenticate/verify`, 200, { json: assertion });
      const { token, email } = verified.body as { token: string; email: string };
      return session(await call('POST', `${base}/auth/sessions`, 201, { json: { method: 'passkey', email, token } }));
    },
  };
}

export const PEER_SESSION_COOKIE = 'better-auth.session_token';
const PEER_CHALLENGE_COOKIE = 'better-auth.better-auth-passkey';

/** better-auth with its email-OTP and passkey plugins, mounted on /api/auth. */
export function peerClient(base: string, origin: string, codeFor: CodeSource): AuthClient {
  const api = `${base}/api/auth`;
  const session = (answer: Answer): SignedIn => {
    const cookie = answer.cookies[PEER_SESSION_COOKIE];
    if (!cookie || !answer.body?.user?.id) throw new Error(`no session in ${JSON.stringify(answer.body).slice(0, 300)}`);
    return { headers: { cookie: `${PEER_SESSION_COOKIE}=${cookie}` }, token: cookie };
  };
  return {
    name: 'better-auth',
    origin,
    async signInWithCode(email) {
      const code = codeFor(email);
      code.catch(() => {}); // a failed request below is the error to report, not a missing mail
      await call('POST', `${api}/email-otp/send-verification-otp`, 200, { headers: { origin }, json: { email, type: 'sign-in' } });
      return session(await call('POST', `${api}/sign-in/email-otp`, 200, { headers: { origin }, json: { email, otp: await code } }));
    },
    async registerPasskey(signedIn, authenticator) {
      const options = await call('GET', `${api}/passkey/generate-register-options`, 200, { headers: signedIn.headers });
      const credential = await authenticator.register(options.body as PublicKeyCredentialCreationOptionsJSON);
      const cookie = `${signedIn.headers.cookie}; ${cookieHeader(pick(options.cookies, PEER_CHALLENGE_COOKIE))}`;
      await call('POST', `${api}/passkey/verify-registration`, 200, { headers: { cookie, origin }, json: { response: credential, name: 'bench' } });
    },
    async signInWithPasskey(authenticator) {
      const options = await call('GET', `${api}/passkey/generate-authenticate-options`, 200);
      const assertion = await authenticator.authenticate(options.body as PublicKeyCredentialRequestOptionsJSON);
      const cookie = cookieHeader(pick(options.cookies, PEER_CHALLENGE_COOKIE));
      const verified = await call('POST', `${api}/passkey/verify-authentication`, 200, { headers: { cookie, origin }, json: { response: assertion } });
      if (!verified.body?.session?.id) throw new Error(`no session in ${JSON.stringify(verified.body).slice(0, 300)}`);
      return session(verified);
    },
  };
}

function pick(cookies: Record<string, string>, name: string): Record<string, string> {
  const value = cookies[name];
  if (!value) throw new Error(`the server set no ${name} cookie`);
  return { [name]: value };
}
