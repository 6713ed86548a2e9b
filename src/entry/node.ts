import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import { ConfigError, parseConfig, parseSecret, type Config } from '../config';
import type { Database } from '../db/database';
import { migratePglite, migratePostgres } from '../db/migrate';
import { openPglite } from '../db/pglite';
import { openPostgres } from '../db/postgres';
import type { Deps } from '../deps';
import { purgeExpired } from '../domain/maintenance';
import { getSigningKey } from '../domain/keys/keys';
import { systemClock } from '../ports/clock';
import { createJsonLogger, type Logger } from '../ports/logger';
import { createLogMailer, type Mailer } from '../ports/mailer';
import { createPooledRandom, cryptoRandom } from '../ports/random';
import { createMemorySessionCache, type SessionCache } from '../ports/session-cache';
import { createSmtpMailer } from '../ports/smtp-mailer';
import { nodeHasher } from './node-hasher';
import { nodeSigner } from './node-signer';
import { createBatchedLogWrite } from './node-log';
import { createNodeApp, listenNodeApp } from './node-app';
import { stopServer } from './node-http';
import { feedFromPglite, feedFromPostgres, type SessionFeed } from './session-feed';

/** On SIGTERM/SIGINT, requests in flight get this long to finish before their connections are cut. */
const SHUTDOWN_DEADLINE_MS = 10_000;
/**
 * A cached session check is served for at most this long after its read began, even if the
 * notification of a change is lost: half of the contract's second for revocations to reach every
 * process, leaving the other half for the request itself on a loaded machine. A hot session is
 * then read twice a second instead of on every request.
 */
const SESSION_CACHE_TTL_MS = 500;
/** Entries of about 1 KiB each: a few MiB at most. */
const SESSION_CACHE_MAX_ENTRIES = 10_000;

/**
 * DATA_DIR holds the embedded database (signing key included) and the generated AUTH_SECRET:
 * created readable by its owner only, and tightened to that, with a log line, when an existing
 * one is open to group or others. The secret file is kept at 0600 the same way.
 */
function prepareDataDir(dataDir: string, log: Logger): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  tighten(dataDir, 0o700, 'DATA_DIR', log);
  const secret = join(dataDir, 'auth-secret');
  if (existsSync(secret)) tighten(secret, 0o600, 'DATA_DIR/auth-secret', log);
}

function tighten(path: string, mode: number, label: string, log: Logger): void {
  const was = statSync(path).mode & 0o777;
  if ((was & 0o077) === 0) return;
  chmodSync(path, mode);
  const octal = (m: number) => `0${m.toString(8).padStart(3, '0')}`;
  log.log('warn', `${label} was readable by other users (mode ${octal(was)}); tightened to ${octal(mode)}`, { path });
}

/** The embedded default keeps a generated AUTH_SECRET next to its database. */
function loadOrCreateSecret(dataDir: string): Uint8Array {
  const file = join(dataDir, 'auth-secret');
  if (!existsSync(file)) {
    const hex = Buffer.from(cryptoRandom.bytes(32)).toString('hex');
    writeFileSync(file, `${hex}\n`, { mode: 0o600, flag: 'wx' });
  }
  return parseSecret(readFileSync(file, 'utf8'));
}

interface OpenDatabase {
  db: Database;
  close(): Promise<void>;
  /** Feeds the session cache with the database's change notifications. */
  feed(cache: SessionCache, log: Logger): Promise<SessionFeed>;
}

/**
 * An empty, migrated embedded database that `npm start` (scripts/start-server.mjs) builds once
 * beside its bundle; both this file and the bundle sit two folders below the root. It holds no
 * secret: the signing key and AUTH_SECRET are made per DATA_DIR.
 */
const PGLITE_TEMPLATE = fileURLToPath(new URL('../../dist/server/pglite-template', import.meta.url));

/**
 * A fresh DATA_DIR starts as a copy of the template when there is one, instead of creating a
 * database there (PGlite's initdb takes seconds). The migrations then run as on any start. The
 * copy is made aside and renamed into place, so a start cut short leaves no half database.
 */
function seedFromTemplate(dir: string, log: Logger): void {
  if (existsSync(dir) || !existsSync(join(PGLITE_TEMPLATE, 'PG_VERSION'))) return;
  const partial = `${dir}.${process.pid}.tmp`;
  try {
    cpSync(PGLITE_TEMPLATE, partial, { recursive: true });
    renameSync(partial, dir);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    log.log('warn', 'copying the empty database template failed; creating the database instead', { error: String(error) });
  }
}

async function openDatabase(config: Config, log: Logger): Promise<OpenDatabase> {
  if (config.databaseUrl) {
    const url = config.databaseUrl;
    await migratePostgres(url);
    // One long-lived pool of real connections: named statements pay off from the second use on.
    return { ...openPostgres(url, { prepare: true }), feed: async (cache, log) => feedFromPostgres(url, cache, log) };
  }
  const dir = join(config.dataDir, 'pglite');
  seedFromTemplate(dir, log);
  const pglite = await openPglite(dir);
  await migratePglite(pglite.client);
  return { ...pglite, feed: (cache) => feedFromPglite(pglite.client, cache) };
}

/**
 * One process per embedded database: PGlite has no lock of its own, and a second server on the
 * same DATA_DIR (migrating it, say) corrupts it under the first. A lock file holds the owner's
 * pid; one left by a process that is gone is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, 'server.pid');
  for (;;) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number.parseInt(readFileSync(file, 'utf8'), 10);
    if (owner > 0 && owner !== process.pid && isRunning(owner)) {
      throw new Error(`DATA_DIR: ${dataDir} is in use by another server (pid ${owner}); stop it or choose another DATA_DIR`);
    }
    rmSync(file, { force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function main(): Promise<void> {
  const log: Logger = createJsonLogger(createBatchedLogWrite());
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

  if (!config.databaseUrl || !config.authSecret) {
    try {
      prepareDataDir(config.dataDir, log);
    } catch (error) {
      console.error(`configuration error: DATA_DIR: ${config.dataDir} cannot be made private: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
  }
  if (!config.databaseUrl) {
    try {
      process.once('exit', lockDataDir(config.dataDir));
    } catch (error) {
      console.error(`configuration error: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
  }
  const authSecret = config.authSecret ?? loadOrCreateSecret(config.dataDir);

  let database: OpenDatabase;
  try {
    database = await openDatabase(config, log);
  } catch (error) {
    console.error(`database error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }

  let mailer: Mailer & { close?(): void };
  // A few connections kept open: a mail then costs no connect, greeting or login.
  if (config.mail === 'smtp') mailer = createSmtpMailer(config.smtpUrl!, config.mailFrom, { pool: 3 });
  else mailer = createLogMailer(log);

  // Serves nothing until its feed is listening (and whenever the feed loses its connection).
  const sessionCache = createMemorySessionCache({
    ttlMs: SESSION_CACHE_TTL_MS,
    maxEntries: SESSION_CACHE_MAX_ENTRIES,
    now: () => performance.now(),
    suspended: true,
  });
  const sessionFeed = await database.feed(sessionCache, log);

  // Background work (mail) still running at shutdown gets the same deadline as requests.
  const pending = new Set<Promise<unknown>>();
  const deps: Deps = {
    config: { ...config, authSecret },
    db: database.db,
    mailer,
    clock: systemClock,
    random: createPooledRandom(),
    hasher: nodeHasher,
    signer: nodeSigner,
    log,
    sessionCache,
    background: (task) => {
      const tracked = task.catch((error: unknown) => log.log('error', 'background task failed', { error: String(error) }));
      pending.add(tracked);
      void tracked.finally(() => pending.delete(tracked));
    },
  };
  try {
    // Loads (or generates and stores) the signing key now, so a bad JWT_PRIVATE_KEY stops the start.
    await getSigningKey(deps);
  } catch (error) {
    const problem = error instanceof Error ? error.message : String(error);
    console.error(config.jwtPrivateKey ? `configuration error: JWT_PRIVATE_KEY: ${problem}` : `signing key error: ${problem}`);
    process.exit(1);
  }
  const app = createNodeApp(deps);

  let server: Server | undefined;
  let purge: NodeJS.Timeout | undefined;
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (purge) clearInterval(purge);
    const { cut } = server ? await stopServer(server, SHUTDOWN_DEADLINE_MS) : { cut: 0 };
    await Promise.race([Promise.allSettled(pending), new Promise((resolve) => setTimeout(resolve, SHUTDOWN_DEADLINE_MS).unref())]);
    mailer.close?.();
    await sessionFeed.close().catch((error: unknown) => log.log('warn', 'closing the session feed failed', { error: String(error) }));
    await database.close().catch((error: unknown) => log.log('warn', 'closing the database failed', { error: String(error) }));
    log.log('info', 'stopped', { signal, cutConnections: cut });
    process.exit(0);
  };
  // Before the server listens: from the first request on, a signal is a graceful stop, never a kill.
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  try {
    const listening = await listenNodeApp(deps, app, { host: config.host, port: config.port });
    server = listening.server;
    log.log('info', 'listening', {
      url: listening.url,
      database: config.databaseUrl ? 'postgresql' : `pglite (${join(config.dataDir, 'pglite')})`,
      mail: config.mail === 'smtp' ? 'smtp' : 'log (codes are printed here)',
    });
  } catch (error) {
    console.error(`configuration error: ${error instanceof Error ? error.message : String(error)}`);
    await database.close();
    process.exit(1);
  }

  // Right after listening, so that readiness does not wait on it, and hourly from then on.
  const runPurge = () => {
    purgeExpired(deps).then(
      () => log.log('info', 'purged expired rows'),
      (error: unknown) => log.log('warn', 'purging expired rows failed', { error: String(error) }),
    );
  };
  runPurge();
  purge = setInterval(runPurge, 60 * 60 * 1000);
  purge.unref();
}

await main();
