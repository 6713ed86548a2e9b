import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { sendRequest, type RequestOptions, type TestResponse } from '../helpers/http';

/**
 * Talks to the worker running under `wrangler dev --local` (started by test/worker/setup.ts) over
 * real HTTP, and reads the mail it sent through SMTP. New flow tests only need these helpers.
 * The worker reads the system clock, which a test cannot move: expiry and rate-limit windows
 * are tested by the Node suite, with a controllable clock.
 */
export const workerUrl = inject('workerUrl');
const mailDir = inject('mailDir');

/** What wrangler and the worker have printed so far. */
export function workerOutput(): string {
  return readFileSync(inject('workerLog'), 'utf8');
}

export type { RequestOptions, TestResponse } from '../helpers/http';

let counter = 0;
/** An email no other test uses. */
export function uniqueEmail(prefix = 'worker'): string {
  return `${prefix}-${process.pid}-${++counter}-${randomBytes(3).toString('hex')}@example.com`;
}

export function request<T = any>(method: string, path: string, options?: RequestOptions): Promise<TestResponse<T>> {
  return sendRequest<T>((url, init) => fetch(new URL(url, workerUrl), { ...init, redirect: 'manual' }), method, path, options);
}

export interface ReceivedMail {
  to: string[];
  from: string;
  subject: string;
  text: string;
}

/** Every mail the loopback SMTP server received so far, oldest first. */
export function receivedMails(): ReceivedMail[] {
  return readdirSync(mailDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(mailDir, f), 'utf8')) as ReceivedMail);
}

/**
 * Waits for the `n`-th mail to `email` (1 = the first) to arrive: the worker sends it with
 * `ctx.waitUntil` after answering, so it may land a moment after the 202.
 */
export async function waitForMail(email: string, n = 1, timeoutMs = 15_000): Promise<ReceivedMail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mails = receivedMails().filter((m) => m.to.includes(email));
    if (mails.length >= n) return mails[n - 1]!;
    if (Date.now() > deadline) throw new Error(`no mail #${n} to ${email} within ${timeoutMs} ms (got ${mails.length})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function codeIn(mail: ReceivedMail): string {
  const code = mail.text.match(/\b(\d{6})\b/)?.[1];
  if (!code) throw new Error(`no code in mail: ${mail.text}`);
  return code;
}

/** Requests a code for `email` and returns it from the mail that arrives. */
export async function requestCode(email: string, headers?: Record<string, string>): Promise<string> {
  const before = receivedMails().filter((m) => m.to.includes(email)).length;
  const res = await request('POST', '/auth/verify', { body: { email }, headers });
  if (res.status !== 202) throw new Error(`POST /auth/verify answered ${res.status}: ${JSON.stringify(res.body)}`);
  return codeIn(await waitForMail(email, before + 1));
}

/** Signs in with an emailed code; returns the 201 body and the Set-Cookie header. */
export async function signIn(email: string = uniqueEmail(), headers?: Record<string, string>) {
  const code = await requestCode(email, headers);
  const res = await request('POST', '/auth/sessions', { body: { method: 'otp', email, token: code }, headers });
  if (res.status !== 201) throw new Error(`sign-in answered ${res.status}: ${JSON.stringify(res.body)}`);
  return { ...(res.body as { token: string; session: any; user: any }), email, setCookie: res.headers.get('set-cookie') };
}
