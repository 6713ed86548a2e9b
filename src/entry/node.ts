import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { createApp } from '../app';
import { ConfigError, parseConfig, parseSecret, type Config } from '../config';
import type { Database } from '../db/database';
import { migratePglite, migratePostgres } from '../db/migrate';
import { openPglite } from '../db/pglite';
import { openPostgres } from '../db/postgres';
import type { Deps } from '../deps';
import { purgeExpired } from '../domain/maintenance';
import { getSigningKey } from '../domain/spacetime/keys';
import { systemClock } from '../ports/clock';
import { createJsonLogger, type Logger } from '../ports/logger';
import { createLogMailer, type Mailer } from '../ports/mailer';
import { cryptoRandom } from '../ports/random';
import { createSmtpMailer } from '../ports/smtp-mailer';

/** The embedded default keeps a generated AUTH_SECRET next to its database. */
function loadOrCreateSecret(dataDir: string): Uint8Array {
  const file = join(dataDir, 'auth-secret');
  if (!existsSync(file)) {
    const hex = Buffer.from(cryptoRandom.bytes(32)).toString('hex');
    writeFileSync(file, `${hex}\n`, { mode: 0o600, flag: 'wx' });
  }
  return parseSecret(readFileSync(file, 'utf8'));
}

async function openDatabase(config: Config): Promise<{ db: Database; close(): Promise<void> }> {
  if (config.databaseUrl) {
    await migratePostgres(config.databaseUrl);
    return openPostgres(config.databaseUrl);
  }
  const pglite = await openPglite(join(config.dataDir, 'pglite'));
  await migratePglite(pglite.client);
  return pglite;
}

/**
 * @hono/node-server refuses a request it cannot turn into a URL (a bad Host header, a backslash in
 * the path) before the app sees it; this gives that refusal the contract's error body.
 */
function malformedRequest(log: Logger) {
  return (error: unknown): Response => {
    const requestError = error instanceof Error && error.name === 'RequestError';
    if (!requestError) log.log('error', 'unhandled error', { error: String(error) });
    return Response.json(
      requestError
        ? { error: { code: 'invalid_request', message: `Malformed request: ${error.message}.` } }
        : { error: { code: 'internal_error', message: 'Something went wrong on our side.' } },
      { status: requestError ? 400 : 500 },
    );
  };
}

async function main(): Promise<void> {
  const log: Logger = createJsonLogger();
  let config: Config;
  try {
    config = parseConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`configuration error: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }

  if (!config.databaseUrl || !config.authSecret) mkdirSync(config.dataDir, { recursive: true });
  const authSecret = config.authSecret ?? loadOrCreateSecret(config.dataDir);

  let database: { db: Database; close(): Promise<void> };
  try {
    database = await openDatabase(config);
  } catch (error) {
    console.error(`database error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }

  let mailer: Mailer & { close?(): void };
  if (config.smtpUrl) mailer = createSmtpMailer(config.smtpUrl, config.mailFrom);
  else mailer = createLogMailer(log);

  const deps: Deps = {
    config: { ...config, authSecret },
    db: database.db,
    mailer,
    clock: systemClock,
    random: cryptoRandom,
    log,
    background: (task) => void task.catch((error: unknown) => log.log('error', 'background task failed', { error: String(error) })),
  };
  try {
    // Loads (or generates and stores) the signing key now, so a bad JWT_PRIVATE_KEY stops the start.
    await getSigningKey(deps);
  } catch (error) {
    const problem = error instanceof Error ? error.message : String(error);
    console.error(config.jwtPrivateKey ? `configuration error: JWT_PRIVATE_KEY: ${problem}` : `signing key error: ${problem}`);
    process.exit(1);
  }
  const app = createApp(deps, {
    clientIp: (c) => {
      const forwarded = config.trustProxy ? c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim() : undefined;
      return forwarded || (getConnInfo(c).remote.address ?? null);
    },
  });

  const server = createServer(getRequestListener(app.fetch, { hostname: config.host, errorHandler: malformedRequest(log) }));
  server.listen(config.port, config.host, () => {
    const info = server.address() as AddressInfo;
    log.log('info', 'listening', {
      url: `http://${info.family === 'IPv6' ? `[${info.address}]` : info.address}:${info.port}`,
      database: config.databaseUrl ? 'postgresql' : `pglite (${join(config.dataDir, 'pglite')})`,
      mail: config.smtpUrl ? 'smtp' : 'log (codes are printed here)',
    });
  });

  const purge = setInterval(() => {
    purgeExpired(deps).catch((error: unknown) => log.log('warn', 'purging expired rows failed', { error: String(error) }));
  }, 60 * 60 * 1000);
  purge.unref();

  const shutdown = () => {
    clearInterval(purge);
    server.close();
    mailer.close?.();
    void database.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

await main();
