/**
 * Cloudflare Workers entry: the same app as the Node server, over PostgreSQL reached through
 * Hyperdrive (or `DATABASE_URL`). Nothing of the project's Node-only code may be imported from
 * here: no PGlite, no migrator, no `node:fs`, no `@hono/node-server` (`npm run size:worker`
 * checks the bundle). Migrations run ahead of deploy (`npm run db:migrate`), never from the worker.
 */
// workerd's `node:events` reports listener leaks through `process.emitWarning`, which throws an
// uncaught TypeError unless `node:process` was loaded. nodemailer's sockets hit that path (workerd's
// net.Socket adds a 'timeout' listener per write), so load it first.
import 'node:process';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createApp, type App } from '../app';
import { ConfigError, parseConfig, type Config } from '../config';
import { openPostgres } from '../db/postgres';
import type { Database } from '../db/database';
import type { Deps } from '../deps';
import { purgeExpired } from '../domain/maintenance';
import { systemClock } from '../ports/clock';
import { createJsonLogger } from '../ports/logger';
import { createLogMailer, type Mailer } from '../ports/mailer';
import { cryptoRandom } from '../ports/random';
import { createSmtpMailer } from '../ports/smtp-mailer';

/** The part of Cloudflare's `Hyperdrive` binding this worker uses. */
interface HyperdriveBinding {
  connectionString: string;
}

/** The part of Cloudflare's `ExecutionContext` this worker uses. */
interface WorkerContext {
  waitUntil(task: Promise<unknown>): void;
}

/** Bindings: `HYPERDRIVE`, plus `[vars]` and secrets as strings (the Node server's variable names). */
export interface WorkerEnv {
  HYPERDRIVE?: HyperdriveBinding;
  [name: string]: unknown;
}

/** Per request the worker opens at most this many connections (Workers allow six open at once; mail needs one). */
const DB_CONNECTIONS_PER_REQUEST = 4;

interface Setup {
  config: Deps['config'];
  databaseUrl: string;
  mailer: Mailer;
}

const log = createJsonLogger();
// `env` is the same object for every request an isolate serves, so configuration is read once.
const setups = new WeakMap<object, Setup | ConfigError>();

/** Reads and checks the configuration; a `ConfigError` names the variable to fix. */
export function configureWorker(env: WorkerEnv): Setup | ConfigError {
  let setup = setups.get(env);
  if (!setup) {
    setup = readSetup(env);
    setups.set(env, setup);
  }
  return setup;
}

function readSetup(env: WorkerEnv): Setup | ConfigError {
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (typeof value === 'string') vars[name] = value;
  try {
    // There is no DATA_DIR to keep a generated secret in, so it must be given.
    if (!vars.AUTH_SECRET) {
      throw new ConfigError('AUTH_SECRET', 'is required on Cloudflare Workers: set it with `wrangler secret put AUTH_SECRET` (32+ random bytes, hex or base64)');
    }
    const config: Config = parseConfig(vars);
    const databaseUrl = env.HYPERDRIVE?.connectionString ?? config.databaseUrl;
    if (!databaseUrl) {
      throw new ConfigError('HYPERDRIVE', 'no Hyperdrive binding named HYPERDRIVE and no DATABASE_URL: the worker has no database');
    }
    const mailer = config.mail === 'smtp' ? createSmtpMailer(config.smtpUrl!, config.mailFrom) : createLogMailer(log);
    return { config: { ...config, authSecret: config.authSecret! }, databaseUrl, mailer };
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
}

/**
 * A misconfigured worker cannot serve anything: every request gets a 500 naming the variable, and
 * the same line goes to the log (`wrangler tail`), so neither the operator nor a client is left guessing.
 */
function misconfigured(error: ConfigError): Response {
  log.log('error', 'configuration error', { variable: error.variable, error: error.message });
  return Response.json(
    { error: { code: 'internal_error', message: `Server configuration error: ${error.message}.` } },
    { status: 500 },
  );
}

/** What belongs to one invocation (a request or a cron run): its database client and its context. */
interface Invocation {
  db: Database;
  ctx: WorkerContext;
}

/**
 * A database client per invocation: Workers cannot share a socket between them. It is never ended
 * (`sql.end()` makes postgres.js throw an unhandled "Stream was cancelled" on Workers); the runtime
 * closes its sockets when the invocation is done and Hyperdrive keeps the real pool.
 */
function openInvocation(setup: Setup, ctx: WorkerContext): Invocation {
  return { db: openPostgres(setup.databaseUrl, { max: DB_CONNECTIONS_PER_REQUEST }).db, ctx };
}

const invocations = new AsyncLocalStorage<Invocation>();

function current(): Invocation {
  const invocation = invocations.getStore();
  if (!invocation) throw new Error('no request or cron run in progress');
  return invocation;
}

/**
 * The dependencies an isolate builds once. What is per invocation (the database client,
 * `waitUntil`) is read from the invocation in progress, so the app and its OpenAPI document are
 * built once per isolate, not per request.
 */
function isolateDeps(setup: Setup): Deps {
  return {
    config: setup.config,
    get db() {
      return current().db;
    },
    mailer: setup.mailer,
    clock: systemClock,
    random: cryptoRandom,
    log,
    background: (task) =>
      current().ctx.waitUntil(task.catch((error: unknown) => log.log('error', 'background task failed', { error: String(error) }))),
  };
}

const apps = new WeakMap<Setup, { app: App; deps: Deps }>();

function isolateApp(setup: Setup): { app: App; deps: Deps } {
  let built = apps.get(setup);
  if (!built) {
    const deps = isolateDeps(setup);
    // The default client address is `cf-connecting-ip`, which Cloudflare sets on every request.
    built = { app: createApp(deps), deps };
    apps.set(setup, built);
    log.log('info', 'app built', { issuer: setup.config.issuer });
  }
  return built;
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: WorkerContext): Promise<Response> {
    const setup = configureWorker(env);
    if (setup instanceof ConfigError) return misconfigured(setup);
    const { app } = isolateApp(setup);
    return invocations.run(openInvocation(setup, ctx), () => app.fetch(request));
  },

  /** The cron trigger of wrangler.toml: the same purge the Node server runs hourly. */
  async scheduled(controller: { cron: string }, env: WorkerEnv, ctx: WorkerContext): Promise<void> {
    const setup = configureWorker(env);
    if (setup instanceof ConfigError) {
      log.log('error', 'configuration error', { variable: setup.variable, error: setup.message });
      return;
    }
    const { deps } = isolateApp(setup);
    await invocations.run(openInvocation(setup, ctx), () =>
      purgeExpired(deps).then(
        () => log.log('info', 'purged expired rows', { cron: controller.cron }),
        (error: unknown) => log.log('warn', 'purging expired rows failed', { cron: controller.cron, error: String(error) }),
      ),
    );
  },
};
