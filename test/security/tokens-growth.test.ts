import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, like } from 'drizzle-orm';
import { decodeJwt, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { migratePglite } from '../../src/db/migrate';
import { openPglite } from '../../src/db/pglite';
import { activity } from '../../src/db/schema';
import { purgeExpired } from '../../src/domain/maintenance';
import { getSigningKey } from '../../src/domain/keys/keys';
import { createTestContext, ORIGIN, type TestContext } from '../helpers/app';
import { DAY } from '../helpers/clock';
import { runNodeServerToExit, startNodeServer, type RunningServer } from '../helpers/server';
import { SoftAuthenticator } from '../helpers/webauthn';

// Findings of an outside audit: identity tokens that renew themselves, audiences, unbounded
// growth by anonymous clients, identities planted under someone's address, DATA_DIR modes.

let t: TestContext;
const ADMIN = 'boss@example.com';
beforeAll(async () => {
  t = await createTestContext({ ADMIN_EMAILS: ADMIN });
});
afterAll(() => t.close());

const basic = (token: string) => ({ authorization: `Basic ${Buffer.from(`token:${token}`).toString('base64')}` });
const nowS = (ctx: TestContext = t) => Math.floor(ctx.clock.now().getTime() / 1000);

async function newIdentity(ctx: TestContext = t): Promise<{ identity: string; token: string }> {
  const res = await ctx.request('POST', '/v1/identity');
  expect(res.status).toBe(200);
  return res.body;
}

/** Both names of the mint route, with Bearer and with Basic: their four statuses. */
async function mintStatuses(token: string, ctx: TestContext = t): Promise<number[]> {
  const statuses: number[] = [];
  for (const path of ['/v1/identity/websocket-token', '/identity/websocket_token']) {
    statuses.push((await ctx.request('POST', path, { token })).status);
    statuses.push((await ctx.request('POST', path, { headers: basic(token) })).status);
  }
  return statuses;
}

async function mint(token: string, ctx: TestContext = t): Promise<string> {
  const res = await ctx.request('POST', '/v1/identity/websocket-token', { token });
  expect(res.status).toBe(200);
  return res.body.token;
}

/** Signs claims with the server's own key, so only the claim under test differs from a real token. */
async function signWithServerKey(claims: JWTPayload, ctx: TestContext = t): Promise<string> {
  const key = await getSigningKey(ctx.deps);
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: key.kid }).sign(key.privateKey);
}

describe('websocket tokens never renew themselves', () => {
  it('a token minted by either route is 401 there, while it is still valid elsewhere', async () => {
    const { identity, token } = await newIdentity();
    const session = await t.signIn();
    for (const parent of [token, session.token]) {
      for (const path of ['/v1/identity/websocket-token', '/identity/websocket_token']) {
        const res = await t.request('POST', path, { token: parent });
        expect(res.status).toBe(200);
        const short = res.body.token as string;
        expect(decodeJwt(short)).toMatchObject({ exp: nowS() + 60, token_use: 'websocket' });
        expect(await mintStatuses(short)).toEqual([401, 401, 401, 401]);
        const refused = await t.request('POST', '/v1/identity/websocket-token', { token: short });
        expect(refused.body.error.code).toBe('unauthorized');
      }
    }
    // Still a valid credential for the identity routes until it expires.
    const short = await mint(token);
    expect((await t.request('GET', `/v1/identity/${identity}/verify`, { token: short })).status).toBe(204);
    // The parents keep minting.
    expect(await mintStatuses(token)).toEqual([200, 200, 200, 200]);
    expect(await mintStatuses(session.token)).toEqual([200, 200, 200, 200]);
  });

  it('revoking every session of a user ends its websocket tokens: they cannot be renewed', async () => {
    const admin = await t.signIn(ADMIN);
    const victim = await t.signIn();
    const short = await mint(victim.token);
    const revoked = await t.request('POST', `/admin/users/${victim.user.id}/revoke-sessions`, { token: admin.token });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked).toBeGreaterThan(0);

    expect(await mintStatuses(victim.token)).toEqual([401, 401, 401, 401]);
    expect(await mintStatuses(short)).toEqual([401, 401, 401, 401]);
    t.clock.advance(61_000);
    expect((await t.request('GET', `/v1/identity/${victim.user.identity}/verify`, { token: short })).status).toBe(401);
  });

  it('an id-token-like JWT for another audience does not mint; a long-lived token with a lifetime does', async () => {
    const { token } = await newIdentity();
    const claims = decodeJwt(token);
    const idToken = await signWithServerKey({ ...claims, aud: 'some-client-id', iat: nowS(), exp: nowS() + 3600 });
    expect(await mintStatuses(idToken)).toEqual([401, 401, 401, 401]);
    // A long-lived identity token issued with a configured lifetime carries `exp` and still mints.
    const withLifetime = await signWithServerKey({ ...claims, iat: nowS(), exp: nowS() + 30 * 86_400 });
    expect(await mintStatuses(withLifetime)).toEqual([200, 200, 200, 200]);
    // Any `token_use` marks a derived token, whatever its lifetime.
    const derived = await signWithServerKey({ ...claims, iat: nowS(), token_use: 'access' });
    expect(await mintStatuses(derived)).toEqual([401, 401, 401, 401]);
  });
});

describe('identity tokens are accepted only for TOKEN_AUDIENCE', () => {
  it('a token signed by our key for another audience, or none, is 401', async () => {
    const { identity, token } = await newIdentity();
    const claims = decodeJwt(token);
    expect(claims.aud).toEqual(['spacetimedb']);
    const verify = (jwt: string) => t.request('GET', `/v1/identity/${identity}/verify`, { token: jwt });

    for (const aud of [['other'], 'other', [], ['spacetimedb-x'], ['SPACETIMEDB']]) {
      const forged = await signWithServerKey({ ...claims, aud });
      expect((await verify(forged)).status, JSON.stringify(aud)).toBe(401);
      expect(await mintStatuses(forged)).toEqual([401, 401, 401, 401]);
    }
    const { aud: _, ...withoutAud } = claims;
    expect((await verify(await signWithServerKey(withoutAud))).status).toBe(401);

    // Controls: the real token, and the audience as a plain string or among others.
    expect((await verify(token)).status).toBe(204);
    expect((await verify(await signWithServerKey({ ...claims, aud: 'spacetimedb' }))).status).toBe(204);
    expect((await verify(await signWithServerKey({ ...claims, aud: ['other', 'spacetimedb'] }))).status).toBe(204);
  });

  it('follows a configured TOKEN_AUDIENCE', async () => {
    const custom = await createTestContext({ TOKEN_AUDIENCE: 'alpha, beta' });
    try {
      const { identity, token } = await newIdentity(custom);
      const claims = decodeJwt(token);
      expect(claims.aud).toEqual(['alpha', 'beta']);
      const verify = async (aud: string | string[]) =>
        (await custom.request('GET', `/v1/identity/${identity}/verify`, { token: await signWithServerKey({ ...claims, aud }, custom) })).status;
      expect(await verify(['beta'])).toBe(204);
      expect(await verify('alpha')).toBe(204);
      expect(await verify(['spacetimedb'])).toBe(401);
      expect(await mintStatuses(token, custom)).toEqual([200, 200, 200, 200]);
    } finally {
      await custom.close();
    }
  });
});

describe('GET /identity?email= lists the verified owner first', () => {
  it('planted identities come after the account that proved the address, marked unverified', async () => {
    const email = `owner-${Date.now()}@example.com`;
    // The attacker plants identities before the owner ever signs up.
    const planted = (await t.request('POST', `/identity?email=${email}`)).body;
    t.clock.advance(1_000);
    const claimer = await newIdentity();
    expect((await t.request('POST', `/v1/identity/${claimer.identity}/set-email?email=${email}`, { token: claimer.token })).status).toBe(200);
    t.clock.advance(1_000);
    const owner = await t.signIn(email);
    // The owner's account also claiming its own address does not list it twice.
    expect((await t.request('POST', `/v1/identity/${owner.user.identity}/set-email?email=${email}`, { token: owner.token })).status).toBe(200);
    t.clock.advance(1_000);
    const late = (await t.request('POST', `/identity?email=${email}`)).body;

    const res = await t.request('GET', `/identity?email=${email}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      identities: [
        { identity: owner.user.identity, email, verified: true },
        { identity: planted.identity, email, verified: false },
        { identity: claimer.identity, email, verified: false },
        { identity: late.identity, email, verified: false },
      ],
    });
  });

  it('is an empty list for an address nobody carries, and 400 without one', async () => {
    expect((await t.request('GET', '/identity?email=nobody-here@example.com')).body).toEqual({ identities: [] });
    for (const query of ['', '?email=', '?email=not-an-email']) {
      const res = await t.request('GET', `/identity${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
  });
});

describe('at most 100 database addresses per identity', () => {
  const address = (i: number) => i.toString(16).padStart(64, '0');
  const put = (who: { identity: string; token: string }, addr: string) =>
    t.request('PUT', `/v1/identity/${who.identity}/databases/${addr}`, { token: who.token });

  it('the 101st is 400 database_limit; re-registering an owned one still works', async () => {
    const owner = await newIdentity();
    for (let i = 0; i < 100; i++) expect((await put(owner, address(i))).status).toBe(204);
    const over = await put(owner, address(100));
    expect(over.status).toBe(400);
    expect(over.body.error.code).toBe('database_limit');
    expect((await put(owner, address(7))).status).toBe(204);
    expect((await t.request('GET', `/v1/identity/${owner.identity}/databases`)).body.addresses).toHaveLength(100);

    // A freed slot can be used again; the limit is per identity.
    expect((await t.request('DELETE', `/v1/identity/${owner.identity}/databases/${address(0)}`, { token: owner.token })).status).toBe(204);
    expect((await put(owner, address(100))).status).toBe(204);
    expect((await put(owner, address(101))).body.error.code).toBe('database_limit');
    const other = await newIdentity();
    expect((await put(other, address(500))).status).toBe(204);
  });

  it('holds exactly under concurrent registrations', async () => {
    const owner = await newIdentity();
    for (let i = 1000; i < 1095; i++) expect((await put(owner, address(i))).status).toBe(204);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => put(owner, address(2000 + i))));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array(5).fill(204), ...Array(7).fill(400)]);
    for (const r of results) if (r.status === 400) expect(r.body.error.code).toBe('database_limit');
    expect((await t.request('GET', `/v1/identity/${owner.identity}/databases`)).body.addresses).toHaveLength(100);
  });
});

describe('at most 20 passkeys per account', () => {
  async function options(token: string) {
    const res = await t.request('POST', '/auth/passkeys/register/options', { token });
    expect(res.status).toBe(200);
    return res.body;
  }
  const verify = (token: string, credential: object, name: string) =>
    t.request('POST', '/auth/passkeys/register/verify', { token, body: { ...credential, name } });

  it('the 21st registration is 400 passkey_limit, also when registrations race', async () => {
    const account = await t.signIn();
    const authenticator = new SoftAuthenticator(ORIGIN);
    for (let i = 0; i < 17; i++) {
      expect((await verify(account.token, await authenticator.register(await options(account.token)), `Key ${i}`)).status).toBe(201);
    }
    // Five ceremonies started at 17 passkeys, finished together: exactly three fit.
    const credentials = [];
    for (let i = 0; i < 5; i++) credentials.push(await authenticator.register(await options(account.token)));
    const results = await Promise.all(credentials.map((c, i) => verify(account.token, c, `Race ${i}`)));
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 201, 400, 400]);
    for (const r of results) if (r.status === 400) expect(r.body.error.code).toBe('passkey_limit');

    const over = await verify(account.token, await authenticator.register(await options(account.token)), 'One more');
    expect(over.status).toBe(400);
    expect(over.body.error.code).toBe('passkey_limit');
    const listed = await t.request('GET', '/auth/passkeys', { token: account.token });
    expect(listed.body.passkeys).toHaveLength(20);

    // Removing one frees a slot.
    expect((await t.request('DELETE', `/auth/passkeys/${listed.body.passkeys[0].id}`, { token: account.token })).status).toBe(204);
    expect((await verify(account.token, await authenticator.register(await options(account.token)), 'Replacement')).status).toBe(201);
    expect((await verify(account.token, await authenticator.register(await options(account.token)), 'Too many')).body.error.code).toBe('passkey_limit');
  });
});

describe('purge: activity retention', () => {
  it('deletes activity past ACTIVITY_RETENTION_DAYS, and activity of no account past 30 days', async () => {
    const { user } = await t.signIn();
    const now = t.clock.now().getTime();
    const at = (days: number) => new Date(now - days * DAY);
    const row = (label: string, userId: string | null, days: number) => ({
      userId,
      action: `purge_test_${label}`,
      severity: 'info' as const,
      metadata: {},
      createdAt: at(days),
    });
    const rows = [
      row('old', user.id, 366),
      row('kept', user.id, 364),
      row('anon_old', null, 31),
      row('anon_kept', null, 29),
    ];
    await t.db.insert(activity).values(rows);
    const left = async () =>
      (await t.db.select({ action: activity.action }).from(activity).where(like(activity.action, 'purge_test_%')))
        .map((r) => r.action.replace('purge_test_', ''))
        .sort();

    await purgeExpired(t.deps);
    expect(await left()).toEqual(['anon_kept', 'kept']);

    // A shorter configured retention applies to every row, with or without an account.
    const config = parseConfig({ AUTH_SECRET: 'a'.repeat(64), ACTIVITY_RETENTION_DAYS: '20' });
    expect(config.activityRetentionDays).toBe(20);
    await purgeExpired({ ...t.deps, config: { ...t.deps.config, activityRetentionDays: config.activityRetentionDays } });
    expect(await left()).toEqual([]);
    // The sign-in's own fresh activity stays.
    expect((await t.db.select().from(activity).where(eq(activity.userId, user.id))).length).toBeGreaterThan(0);
  });

  it('ACTIVITY_RETENTION_DAYS defaults to 365 and must be a positive whole number of days', () => {
    expect(parseConfig({ AUTH_SECRET: 'a'.repeat(64) }).activityRetentionDays).toBe(365);
    for (const bad of ['0', '-1', '1.5', 'ten', '1e3', '999999999']) {
      expect(() => parseConfig({ AUTH_SECRET: 'a'.repeat(64), ACTIVITY_RETENTION_DAYS: bad }), bad).toThrow(/^ACTIVITY_RETENTION_DAYS: /);
    }
  });
});

// Real server processes start slowly on a busy machine: these get a longer timeout.
const SERVER_TEST_TIMEOUT = 120_000;

describe('the Node server', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'auth-data-dir-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const modeOf = (path: string) => statSync(path).mode & 0o777;

  async function waitForOutput(server: RunningServer, text: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!server.output().includes(text)) {
      if (Date.now() > deadline) throw new Error(`no "${text}" in the server output:\n${server.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('creates DATA_DIR readable by its owner only, the secret file 0600', async () => {
    const dataDir = join(root, 'fresh', 'data');
    const server = await startNodeServer({ DATA_DIR: dataDir });
    try {
      expect(modeOf(dataDir)).toBe(0o700);
      expect(modeOf(join(dataDir, 'auth-secret'))).toBe(0o600);
      expect(server.output()).not.toContain('tightened');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, SERVER_TEST_TIMEOUT);

  it('tightens an existing group/other-readable DATA_DIR with one log line, and purges old activity at start', async () => {
    const dataDir = join(root, 'loose');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, 'auth-secret'), `${'c'.repeat(64)}\n`);
    chmodSync(join(dataDir, 'auth-secret'), 0o644);
    // Rows the server finds when it starts: one past retention, one fresh.
    const seeded = await openPglite(join(dataDir, 'pglite'));
    await migratePglite(seeded.client);
    const day = 24 * 60 * 60 * 1000;
    await seeded.db.insert(activity).values([
      { userId: null, action: 'seed_old', severity: 'info', metadata: {}, createdAt: new Date(Date.now() - 400 * day) },
      { userId: null, action: 'seed_fresh', severity: 'info', metadata: {}, createdAt: new Date(Date.now() - day) },
    ]);
    await seeded.close();

    const server = await startNodeServer({ DATA_DIR: dataDir });
    try {
      expect(modeOf(dataDir)).toBe(0o700);
      expect(modeOf(join(dataDir, 'auth-secret'))).toBe(0o600);
      const lines = server.output().split('\n').filter((l) => l.includes('tightened'));
      expect(lines.filter((l) => l.includes('"DATA_DIR was readable by other users (mode 0755); tightened to 0700"'))).toHaveLength(1);
      expect(lines.filter((l) => l.includes('DATA_DIR/auth-secret was readable by other users (mode 0644); tightened to 0600'))).toHaveLength(1);
      await waitForOutput(server, '"msg":"purged expired rows"');
    } finally {
      expect(await server.stop()).toBe(0);
    }
    const reopened = await openPglite(join(dataDir, 'pglite'));
    try {
      const left = await reopened.db.select({ action: activity.action }).from(activity).where(like(activity.action, 'seed_%'));
      expect(left.map((r) => r.action)).toEqual(['seed_fresh']);
    } finally {
      await reopened.close();
    }

    // A second start finds nothing to tighten.
    const again = await startNodeServer({ DATA_DIR: dataDir });
    try {
      expect(again.output()).not.toContain('tightened');
    } finally {
      expect(await again.stop()).toBe(0);
    }
  }, SERVER_TEST_TIMEOUT);

  it('refuses to start with a bad ACTIVITY_RETENTION_DAYS, in one line naming it', async () => {
    const result = await runNodeServerToExit({ DATA_DIR: join(root, 'bad'), ACTIVITY_RETENTION_DAYS: '0' });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^configuration error: ACTIVITY_RETENTION_DAYS: /);
  }, SERVER_TEST_TIMEOUT);
});
