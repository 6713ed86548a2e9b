import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activity, otpCodes, rateLimits } from '../../src/db/schema';
import { clientRateLimitKey } from '../../src/domain/client-address';
import { createTestContext, ORIGIN, uniqueEmail, type TestContext } from '../helpers/app';
import { HOUR, MINUTE } from '../helpers/clock';
import { base64url, SoftAuthenticator } from '../helpers/webauthn';

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext();
});
afterAll(() => t.close());

let hosts = 0;
/** An IPv4 client address no other test uses, so that each test has per-IP budgets of its own. */
const freshIp = () => `198.18.${++hosts >> 8}.${hosts & 0xff}`;

const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');
const codeSignIn = (email: string, token: string, ip: string) =>
  t.request('POST', '/auth/sessions', { body: { method: 'otp', email, token }, headers: { 'x-forwarded-for': ip } });
const passkeyTokenSignIn = (ip: string) =>
  t.request('POST', '/auth/sessions', { body: { method: 'passkey', email: uniqueEmail(), token: 'not-a-token' }, headers: { 'x-forwarded-for': ip } });
/** An assertion answering a challenge the server never issued. */
const forgedAssertion = (ip: string) => {
  const clientDataJSON = base64url(new TextEncoder().encode(JSON.stringify({ type: 'webauthn.get', challenge: 'bm90LWlzc3VlZA', origin: ORIGIN })));
  const body = { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON, authenticatorData: 'AAAA', signature: 'AAAA' } };
  return t.request('POST', '/auth/passkeys/authenticate/verify', { body, headers: { 'x-forwarded-for': ip } });
};
/** Each failure kind in turn: a code guess with no live code, a bad passkey sign-in token, a forged assertion. */
const failure = (i: number, ip: string) =>
  [() => codeSignIn(uniqueEmail('nobody'), '123456', ip), () => passkeyTokenSignIn(ip), () => forgedAssertion(ip)][i % 3]!();

const hitsOf = async (key: string) => {
  const [row] = await t.db.select({ n: sql<number>`cardinality(${rateLimits.hits})`.mapWith(Number) }).from(rateLimits).where(eq(rateLimits.key, key));
  return row?.n ?? 0;
};
const attemptsOf = async (email: string) => (await t.db.select().from(otpCodes).where(eq(otpCodes.email, email)))[0]?.attempts;
const failuresLogged = async (userId: string) =>
  (await t.db.select().from(activity).where(and(eq(activity.userId, userId), eq(activity.action, 'sign_in_failed')))).length;
const activityCount = async () => (await t.db.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(activity))[0]!.n;

/** Spends `n` of the email's tries with wrong guesses on fresh codes, from fresh addresses. */
async function spendTries(email: string, n: number): Promise<void> {
  while (n > 0) {
    const code = await t.requestCode(email, { 'x-forwarded-for': freshIp() });
    for (let i = 0; i < Math.min(n, 5); i++) expect((await codeSignIn(email, wrong(code), freshIp())).status).toBe(401);
    n -= Math.min(n, 5);
  }
}

describe('the per-email guess budget', () => {
  it('is not spent by guesses at an email with no live code, which stay off its log', async () => {
    const owner = await t.signIn();
    for (let i = 0; i < 40; i++) {
      const res = await codeSignIn(owner.email, String(100000 + i), freshIp());
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid_code');
    }
    expect(await hitsOf(`otp-verify:email:${owner.email}`)).toBe(0);
    expect(await failuresLogged(owner.user.id)).toBe(0);
    const code = await t.requestCode(owner.email);
    expect((await codeSignIn(owner.email, code, freshIp())).status).toBe(201);
  });

  it('counts tries against live codes, 10 an hour across codes; a refused try leaves the code untouched', async () => {
    const owner = await t.signIn();
    await spendTries(owner.email, 10);
    expect(await failuresLogged(owner.user.id)).toBe(10);
    const fresh = await t.requestCode(owner.email);
    const before = await activityCount();
    const refused = await codeSignIn(owner.email, fresh, freshIp());
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await attemptsOf(owner.email)).toBe(0);
    expect(await activityCount()).toBe(before);
  });

  it('slides: tries spread over a window edge never exceed 10 in any hour', async () => {
    const email = uniqueEmail();
    await spendTries(email, 1);
    t.clock.advance(50 * MINUTE);
    await spendTries(email, 9);
    // A fixed window opened by the first try would start afresh here and allow 10 more.
    t.clock.advance(11 * MINUTE);
    const code = await t.requestCode(email);
    expect((await codeSignIn(email, wrong(code), freshIp())).status).toBe(401);
    const refused = await codeSignIn(email, code, freshIp());
    expect(refused.status).toBe(429);
    // The 9 tries leave the window 60 minutes after they were made, 49 minutes from now.
    expect(Number(refused.headers.get('retry-after'))).toBe(49 * 60);
    t.clock.advance(49 * MINUTE);
    expect((await codeSignIn(email, await t.requestCode(email), freshIp())).status).toBe(201);
  });

  it('is exact under 50 parallel wrong guesses at one code: 5 tries, the code burned, 5 tries left', async () => {
    const owner = await t.signIn();
    const code = await t.requestCode(owner.email);
    const results = await Promise.all(Array.from({ length: 50 }, () => codeSignIn(owner.email, wrong(code), freshIp())));
    expect(results.every((r) => r.status === 401)).toBe(true);
    expect(await attemptsOf(owner.email)).toBe(5);
    expect(await hitsOf(`otp-verify:email:${owner.email}`)).toBe(5);
    expect(await failuresLogged(owner.user.id)).toBe(5);
    // The burned code is refused; a fresh one signs in and resets the count.
    expect((await codeSignIn(owner.email, code, freshIp())).status).toBe(401);
    expect((await codeSignIn(owner.email, await t.requestCode(owner.email), freshIp())).status).toBe(201);
    expect(await hitsOf(`otp-verify:email:${owner.email}`)).toBe(0);
  });

  it('is exact under 50 parallel wrong guesses with 2 tries left: 2 charged, the rest refused, the code keeps 3 tries', async () => {
    const owner = await t.signIn();
    await spendTries(owner.email, 8);
    const code = await t.requestCode(owner.email);
    const before = await activityCount();
    const results = await Promise.all(Array.from({ length: 50 }, () => codeSignIn(owner.email, wrong(code), freshIp())));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(2);
    expect(statuses.filter((s) => s === 429)).toHaveLength(48);
    expect(await hitsOf(`otp-verify:email:${owner.email}`)).toBe(10);
    expect(await attemptsOf(owner.email)).toBe(2);
    expect(await activityCount()).toBe(before + 2);
    // The owner's right code is refused while the budget is spent, without costing the code a try.
    const refused = await codeSignIn(owner.email, code, freshIp());
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(3600);
    expect(await attemptsOf(owner.email)).toBe(2);
    t.clock.advance(HOUR);
    expect((await codeSignIn(owner.email, await t.requestCode(owner.email), freshIp())).status).toBe(201);
  });
});

describe('the per-IP cap on failed sign-ins', () => {
  it('refuses every sign-in from an address after 30 failures on any sign-in route, until the window passes', async () => {
    const ip = freshIp();
    for (let i = 0; i < 30; i++) expect((await failure(i, ip)).status).toBe(401);

    const victim = uniqueEmail('victim');
    const code = await t.requestCode(victim, { 'x-forwarded-for': freshIp() });
    const before = await activityCount();
    for (const attempt of [() => codeSignIn(victim, code, ip), () => passkeyTokenSignIn(ip), () => forgedAssertion(ip)]) {
      const res = await attempt();
      expect(res.status).toBe(429);
      expect(res.body.error.code).toBe('rate_limited');
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    }
    // Refused before the code was looked at: it is untouched, and nothing was logged.
    expect(await attemptsOf(victim)).toBe(0);
    expect(await activityCount()).toBe(before);
    // Other addresses are unaffected.
    expect((await failure(0, freshIp())).status).toBe(401);

    t.clock.advance(15 * MINUTE);
    expect((await codeSignIn(victim, await t.requestCode(victim, { 'x-forwarded-for': freshIp() }), ip)).status).toBe(201);
  });

  it('does not spend a blocked client’s passkey challenge', async () => {
    const account = await t.signIn();
    const authenticator = new SoftAuthenticator(ORIGIN);
    const options = await t.request('POST', '/auth/passkeys/register/options', { token: account.token });
    const credential = await authenticator.register(options.body);
    expect((await t.request('POST', '/auth/passkeys/register/verify', { token: account.token, body: { ...credential, name: 'Key' } })).status).toBe(201);

    const ip = freshIp();
    for (let i = 0; i < 30; i++) expect((await forgedAssertion(ip)).status).toBe(401);
    const challenge = await t.request('POST', '/auth/passkeys/authenticate/options', { headers: { 'x-forwarded-for': ip } });
    const assertion = await authenticator.authenticate(challenge.body);
    const blocked = await t.request('POST', '/auth/passkeys/authenticate/verify', { body: assertion, headers: { 'x-forwarded-for': ip } });
    expect(blocked.status).toBe(429);
    const elsewhere = await t.request('POST', '/auth/passkeys/authenticate/verify', { body: assertion, headers: { 'x-forwarded-for': freshIp() } });
    expect(elsewhere.status).toBe(200);
  });

  it('counts failures only: successful sign-ins from the address are not counted', async () => {
    const ip = freshIp();
    for (let i = 0; i < 29; i++) expect((await failure(i, ip)).status).toBe(401);
    for (let i = 0; i < 3; i++) {
      const email = uniqueEmail();
      expect((await codeSignIn(email, await t.requestCode(email), ip)).status).toBe(201);
    }
    expect((await failure(0, ip)).status).toBe(401);
    expect((await failure(1, ip)).status).toBe(429);
  });

  it('slides: failures spread over a window edge never exceed 30 in any 15 minutes', async () => {
    const ip = freshIp();
    expect((await failure(0, ip)).status).toBe(401);
    t.clock.advance(14 * MINUTE);
    for (let i = 0; i < 29; i++) expect((await failure(i, ip)).status).toBe(401);
    t.clock.advance(2 * MINUTE);
    expect((await failure(1, ip)).status).toBe(401);
    const refused = await failure(2, ip);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBe(13 * 60);
  });

  it('is exact under 50 parallel failures: 30 counted, 20 refused', async () => {
    const ip = freshIp();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => failure(i, ip)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(30);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
    expect(await hitsOf(`sign-in-failures:ip:${ip}`)).toBe(30);
  });

  it('keys IPv6 clients by /64 and IPv4-mapped addresses as IPv4', async () => {
    for (let i = 0; i < 15; i++) expect((await failure(i, `2001:db8:7:${'a'}::${i + 1}`)).status).toBe(401);
    for (let i = 0; i < 15; i++) expect((await failure(i, `2001:0db8:0007:000a:ffff:${i}:0:1%eth0`)).status).toBe(401);
    expect((await failure(0, '2001:db8:7:a:1234::9')).status).toBe(429);
    expect((await failure(0, '2001:db8:7:b::1')).status).toBe(401);

    const ip = freshIp();
    for (let i = 0; i < 30; i++) expect((await failure(i, i % 2 ? ip : `::ffff:${ip}`)).status).toBe(401);
    expect((await failure(0, ip)).status).toBe(429);
    expect((await failure(0, `::FFFF:${ip}`)).status).toBe(429);
  });

  it('keeps the full address on sessions and activity rows', async () => {
    const email = uniqueEmail();
    const code = await t.requestCode(email, { 'x-forwarded-for': '2001:db8:9::42' });
    const res = await codeSignIn(email, code, '2001:db8:9::42');
    expect(res.status).toBe(201);
    expect(res.body.session.ipAddress).toBe('2001:db8:9::42');
    const [row] = await t.db.select().from(activity).where(and(eq(activity.userId, res.body.user.id), eq(activity.action, 'session_created')));
    expect(row!.ipAddress).toBe('2001:db8:9::42');
  });
});

describe('per-IP send limits', () => {
  it('share one counter across a /64', async () => {
    for (let i = 0; i < 100; i++) {
      const res = await t.request('POST', '/auth/verify', { body: { email: uniqueEmail('v6') }, headers: { 'x-forwarded-for': `2001:db8:5:5:${i.toString(16)}::1` } });
      expect(res.status).toBe(202);
    }
    const limited = await t.request('POST', '/auth/verify', { body: { email: uniqueEmail('v6') }, headers: { 'x-forwarded-for': '2001:db8:5:5::ffff' } });
    expect(limited.status).toBe(429);
    const other = await t.request('POST', '/auth/verify', { body: { email: uniqueEmail('v6') }, headers: { 'x-forwarded-for': '2001:db8:5:6::1' } });
    expect(other.status).toBe(202);
  });

  it('do not let a refused client spend the email’s sends', async () => {
    const ip = freshIp();
    for (let i = 0; i < 100; i++) await t.request('POST', '/auth/verify', { body: { email: uniqueEmail('send') }, headers: { 'x-forwarded-for': ip } });
    const victim = uniqueEmail('victim');
    for (let i = 0; i < 6; i++) expect((await t.request('POST', '/auth/verify', { body: { email: victim }, headers: { 'x-forwarded-for': ip } })).status).toBe(429);
    expect((await t.request('POST', '/auth/verify', { body: { email: victim }, headers: { 'x-forwarded-for': freshIp() } })).status).toBe(202);
  });
});

describe('RATE_LIMIT=off', () => {
  it('lifts the per-IP cap but keeps the per-email guess budget', async () => {
    const off = await createTestContext({ RATE_LIMIT: 'off' });
    try {
      for (let i = 0; i < 40; i++) {
        const res = await off.request('POST', '/auth/sessions', { body: { method: 'otp', email: uniqueEmail(), token: '123456' } });
        expect(res.status).toBe(401);
      }
      const email = uniqueEmail();
      for (let round = 0; round < 2; round++) {
        const code = await off.requestCode(email);
        for (let i = 0; i < 5; i++) await off.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: wrong(code) } });
      }
      const res = await off.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: await off.requestCode(email) } });
      expect(res.status).toBe(429);
    } finally {
      await off.close();
    }
  });
});

describe('clientRateLimitKey', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9'],
    [' 203.0.113.9 ', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['::FFFF:cb00:7109', '203.0.113.9'],
    ['0:0:0:0:0:ffff:203.0.113.9', '203.0.113.9'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:0DB8:0000:0000:ffff:0:0:1', '2001:db8:0:0::/64'],
    ['2001:db8:0:0:1::', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['[2001:db8:1:2::3]', '2001:db8:1:2::/64'],
    ['[2001:db8:1:2::3]:443', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::', '0:0:0:0::/64'],
    ['64:ff9b::203.0.113.9', '64:ff9b:0:0::/64'],
  ])('%s → %s', (address, key) => {
    expect(clientRateLimitKey(address)).toBe(key);
  });

  it('gives two addresses of one /64 one key and neighbouring /64s different keys', () => {
    expect(clientRateLimitKey('2001:db8:1:2:aaaa::1')).toBe(clientRateLimitKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'));
    expect(clientRateLimitKey('2001:db8:1:2::1')).not.toBe(clientRateLimitKey('2001:db8:1:3::1'));
    expect(clientRateLimitKey('203.0.113.9')).not.toBe(clientRateLimitKey('203.0.113.10'));
  });

  it.each(['not an ip', '1.2.3.256', '1.2.3', '2001:db8::1::2', '1:2:3:4:5:6:7:8:9', '12345::', '1.2.3.4::', ''])(
    'keys the non-address %j as given',
    (value) => {
      expect(clientRateLimitKey(value)).toBe(`raw:${value.trim().toLowerCase()}`);
    },
  );
});
