import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config';
import { runNodeServerToExit } from './helpers/server';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      dataDir: './data',
      smtpUrl: undefined,
      mailFrom: 'auth@localhost',
      origins: ['http://localhost:3000'],
      rpId: 'localhost',
      rpName: 'Auth',
      issuer: 'http://localhost:3000',
      rateLimit: true,
      authSecret: undefined,
      tokenAudience: ['spacetimedb'],
      adminEmails: [],
    });
  });

  it('derives ORIGIN and ISSUER from PORT and RP_ID from the first origin', () => {
    expect(parseConfig({ PORT: '8080' })).toMatchObject({ origins: ['http://localhost:8080'], issuer: 'http://localhost:8080' });
    const config = parseConfig({ ORIGIN: 'https://app.example.com/, https://admin.example.com', RP_ID: 'example.com' });
    expect(config.origins).toEqual(['https://app.example.com', 'https://admin.example.com']);
    expect(parseConfig({ ORIGIN: 'https://app.example.com' }).rpId).toBe('app.example.com');
  });

  it('reads lists, secrets and switches', () => {
    const config = parseConfig({
      ADMIN_EMAILS: ' Boss@Example.com , ops@example.com',
      TOKEN_AUDIENCE: 'spacetimedb,other',
      RATE_LIMIT: 'off',
      AUTH_SECRET: Buffer.alloc(32, 7).toString('base64'),
      DATABASE_URL: 'postgres://u:p@db:5432/auth',
      MAIL: 'log',
    });
    expect(config.adminEmails).toEqual(['boss@example.com', 'ops@example.com']);
    expect(config.tokenAudience).toEqual(['spacetimedb', 'other']);
    expect(config.rateLimit).toBe(false);
    expect(config.authSecret).toEqual(new Uint8Array(32).fill(7));
    expect(parseConfig({ AUTH_SECRET: 'ab'.repeat(32) }).authSecret).toEqual(new Uint8Array(32).fill(0xab));
  });

  const bad: [Record<string, string>, string][] = [
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'postgres://db/auth' }, 'AUTH_SECRET'],
    [{ AUTH_SECRET: 'short' }, 'AUTH_SECRET'],
    [{ AUTH_SECRET: 'ab'.repeat(16) }, 'AUTH_SECRET'],
    [{ SMTP_URL: 'http://mail' }, 'SMTP_URL'],
    [{ ORIGIN: 'not a url' }, 'ORIGIN'],
    [{ ORIGIN: 'https://app.example.com/path' }, 'ORIGIN'],
    [{ ORIGIN: 'https://app.example.com', RP_ID: 'other.com' }, 'RP_ID'],
    [{ ISSUER: 'ftp://x' }, 'ISSUER'],
    [{ RATE_LIMIT: 'maybe' }, 'RATE_LIMIT'],
    [{ JWT_PRIVATE_KEY: 'nope' }, 'JWT_PRIVATE_KEY'],
    [{ ADMIN_EMAILS: 'boss' }, 'ADMIN_EMAILS'],
    // A production-like start without SMTP would print codes to a production log.
    [{ DATABASE_URL: 'postgres://db/auth', AUTH_SECRET: 'ab'.repeat(32) }, 'SMTP_URL'],
    [{ ISSUER: 'https://auth.example.com' }, 'SMTP_URL'],
    [{ MAIL: 'smtp' }, 'SMTP_URL'],
    [{ MAIL: 'print' }, 'MAIL'],
  ];
  for (const [env, variable] of bad) {
    it(`refuses ${JSON.stringify(env)} naming ${variable}`, () => {
      let error: unknown;
      try {
        parseConfig(env);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe(variable);
      expect((error as ConfigError).message.startsWith(`${variable}: `)).toBe(true);
    });
  }

  it('prints mail to the log by default only on a development start, or when MAIL=log says so', () => {
    expect(parseConfig({}).mail).toBe('log');
    expect(parseConfig({ SMTP_URL: 'smtp://mail:25' }).mail).toBe('smtp');
    expect(parseConfig({ ISSUER: 'https://auth.example.com', SMTP_URL: 'smtps://u:p@mail:465' }).mail).toBe('smtp');
    expect(parseConfig({ ISSUER: 'https://auth.example.com', MAIL: 'log' }).mail).toBe('log');
    expect(parseConfig({ DATABASE_URL: 'postgres://db/auth', AUTH_SECRET: 'ab'.repeat(32), MAIL: 'log' }).mail).toBe('log');
  });

  it('stops a production-like server without SMTP_URL at start-up with one line', async () => {
    const { code, stderr } = await runNodeServerToExit({ ISSUER: 'https://auth.example.com', DATA_DIR: '/nonexistent/never-created' });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^configuration error: SMTP_URL: is required with DATABASE_URL or an https ISSUER; set MAIL=log/);
  });

  it('stops the server at start-up with one line naming the variable', async () => {
    const { code, stderr, stdout } = await runNodeServerToExit({ PORT: 'abc', DATA_DIR: '/nonexistent/never-created' });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^configuration error: PORT: /);
  });
});
