import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { codeIn, receivedMails, request, requestCode, signIn, uniqueEmail, waitForMail, workerOutput, workerUrl } from './client';

const sql = postgres(inject('workerDatabaseUrl'), { max: 1, onnotice: () => {} });
afterAll(() => sql.end());

describe('code sign-in on Workers', () => {
  it('mails a code over SMTP from the worker and signs in with it', async () => {
    const email = uniqueEmail();
    const verify = await request('POST', '/auth/verify', { body: { email: ` ${email.toUpperCase()} ` } });
    expect(verify.status).toBe(202);
    expect(Date.parse(verify.body.expiresAt)).toBeGreaterThan(Date.now());

    const mail = await waitForMail(email);
    expect(mail.from).toContain('auth@example.com');
    const code = codeIn(mail);

    const res = await request('POST', '/auth/sessions', {
      body: { method: 'otp', email, token: code },
      headers: { 'user-agent': 'worker-test', 'cf-connecting-ip': '203.0.113.7' },
    });
    expect(res.status).toBe(201);
    expect(res.body.token).toMatch(/^[\w-]+\.[\w-]{43}$/);
    expect(res.body.user).toMatchObject({ email, role: 'user', identity: expect.stringMatching(/^c200[0-9a-f]{60}$/) });
    expect(res.body.session).toMatchObject({ method: 'otp', current: true, userAgent: 'worker-test' });
    expect(res.headers.get('set-cookie')).toContain(`session=${res.body.token}`);

    // The rows are in the PostgreSQL database behind the Hyperdrive binding.
    const [row] = await sql<{ email: string }[]>`select email from users where id = ${res.body.user.id}`;
    expect(row?.email).toBe(email);
  });

  it('answers 202 even when the mail server refuses the mail, and logs the failure', async () => {
    const email = uniqueEmail('bounce');
    const res = await request('POST', '/auth/verify', { body: { email } });
    expect(res.status).toBe(202);
    const deadline = Date.now() + 10_000;
    while (!workerOutput().includes('sending a sign-in code failed') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(workerOutput()).toMatch(/"level":"error","msg":"sending a sign-in code failed".*550/);
  });

  it('takes the client address from cf-connecting-ip', async () => {
    const { session } = await signIn(uniqueEmail(), { 'cf-connecting-ip': '198.51.100.23' });
    expect(session.ipAddress).toBe('198.51.100.23');
  });

  it('refuses a wrong code and a used one with 401 invalid_code', async () => {
    const email = uniqueEmail();
    const code = await requestCode(email);
    const wrong = await request('POST', '/auth/sessions', {
      body: { method: 'otp', email, token: code === '000000' ? '111111' : '000000' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_code');

    expect((await request('POST', '/auth/sessions', { body: { method: 'otp', email, token: code } })).status).toBe(201);
    const again = await request('POST', '/auth/sessions', { body: { method: 'otp', email, token: code } });
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('invalid_code');
  });

  it('marks ADMIN_EMAILS accounts (a [vars] value) as admins', async () => {
    const { user } = await signIn('boss@example.com');
    expect(user.role).toBe('admin');
  });

  it('rate-limits code requests per email with 429 and Retry-After', async () => {
    const email = uniqueEmail();
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 6; i++) {
      last = await request('POST', '/auth/verify', { body: { email } });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429]);
    expect(last!.body.error.code).toBe('rate_limited');
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    // Five mails went out, not six.
    await waitForMail(email, 5);
    await new Promise((r) => setTimeout(r, 300));
    expect(receivedMails().filter((m) => m.to.includes(email))).toHaveLength(5);
  });
});

describe('sessions on Workers', () => {
  it('lists the caller’s sessions, newest first, and revokes one', async () => {
    const first = await signIn();
    const second = await signIn(first.email);

    const list = await request('GET', '/auth/sessions', { token: second.token });
    expect(list.status).toBe(200);
    expect(list.body.sessions.map((s: { id: string }) => s.id)).toEqual([second.session.id, first.session.id]);
    expect(list.body.sessions[0].current).toBe(true);
    expect(list.body.sessions[1].current).toBe(false);

    const revoke = await request('DELETE', `/auth/sessions/${first.session.id}`, { token: second.token });
    expect(revoke.status).toBe(204);

    const revoked = await request('GET', '/auth/sessions/current', { token: first.token });
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.code).toBe('unauthorized');

    const after = await request('GET', '/auth/sessions', { token: second.token });
    expect(after.body.sessions.map((s: { id: string }) => s.id)).toEqual([second.session.id]);
  });

  it('signs the current session out with DELETE /auth/sessions and clears the cookie', async () => {
    const { token } = await signIn();
    const out = await request('DELETE', '/auth/sessions', { token });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/session=;/);
    expect((await request('GET', '/auth/sessions', { token })).status).toBe(401);
  });

  it('answers 404 for another account’s session', async () => {
    const alice = await signIn();
    const bob = await signIn();
    const res = await request('DELETE', `/auth/sessions/${alice.session.id}`, { token: bob.token });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect((await request('GET', '/auth/sessions/current', { token: alice.token })).status).toBe(200);
  });
});

describe('configuration from [vars] on Workers', () => {
  it('allows CORS from ORIGIN only', async () => {
    const preflight = (origin: string) =>
      fetch(new URL('/auth/sessions', workerUrl), {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' },
      });
    const allowed = await preflight('http://localhost:5173');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await preflight('https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('errors on Workers', () => {
  it('answers bad input with 400 invalid_request and issues, never a 500', async () => {
    const res = await request('POST', '/auth/verify', { body: { email: 'not-an-email' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', message: expect.any(String) });
    expect(res.body.error.issues).toEqual(expect.any(Array));

    const notJson = await request('POST', '/auth/sessions', { body: '{not json', headers: { 'content-type': 'application/json' } });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('invalid_request');
  });

  it('answers 401 without credentials and 413 for a body over 64 KiB', async () => {
    const anonymous = await request('GET', '/auth/sessions');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('unauthorized');

    const big = await request('POST', '/auth/verify', { body: { email: 'a@example.com', pad: 'x'.repeat(70_000) } });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('payload_too_large');
  });

  it('answers an unknown route with 404 in the error shape', async () => {
    const res = await request('GET', '/nope');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });
});
