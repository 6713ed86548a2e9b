import type { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import type { Logger } from '../ports/logger';
import type { SessionCache } from '../ports/session-cache';

/** The channel of the triggers in drizzle/0003_session_notify.sql. */
export const SESSION_CHANNEL = 'session_changed';
/** `application_name` of the listening connection, followed by the process id. */
export const FEED_APPLICATION_NAME = 'auth-session-feed';
/** Pause after a LISTEN that failed (the database unreachable, say) before the next try. */
const RELISTEN_DELAY_MS = 250;

/** Keeps a session cache told of every session and account change committed in the database. */
export interface SessionFeed {
  /** True while the cache is told of every change (and so may serve). */
  listening(): boolean;
  close(): Promise<void>;
}

/** Applies one notification: `s:<session id>` or `u:<user id>`; anything else drops everything. */
export function applySessionChange(cache: SessionCache, payload: string): void {
  if (payload.startsWith('s:')) cache.evictSession(payload.slice(2));
  else if (payload.startsWith('u:')) cache.evictUser(payload.slice(2));
  else cache.clear();
}

/**
 * LISTENs on a connection of its own. The cache serves nothing until the LISTEN is confirmed,
 * and nothing from the moment that connection closes until it is confirmed again: what was
 * committed in between was never heard, so the cache starts over from empty.
 */
export function feedFromPostgres(url: string, cache: SessionCache, log: Logger): SessionFeed {
  let closing = false;
  let listening = false;
  let subscribing = false;
  // Bumped by every close: a LISTEN confirmed on a connection that has closed since counts for nothing.
  let closes = 0;

  const lost = () => {
    closes++;
    cache.suspend();
    if (closing) return;
    if (listening) log.log('warn', 'session cache bypassed: its notification connection closed; listening again');
    listening = false;
    if (!subscribing) void subscribe();
  };

  // postgres.js reconnects this connection on the next query; `onclose` is the moment it closed.
  // `onnotify` is the constructor option its own `listen` is built on, here on a connection
  // whose closing can be seen (`listen` re-subscribes silently).
  const options = {
    max: 1,
    idle_timeout: null,
    max_lifetime: null,
    connect_timeout: 5,
    fetch_types: false,
    // Names the connection in pg_stat_activity, per process.
    connection: { application_name: `${FEED_APPLICATION_NAME} ${process.pid}` },
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    onnotice: () => {},
    onclose: lost,
    onnotify: (channel: string, payload: string) => {
      if (channel === SESSION_CHANNEL) applySessionChange(cache, payload);
    },
  } as unknown as postgres.Options<Record<string, never>>;
  const client = postgres(url, options);

  async function subscribe(): Promise<void> {
    subscribing = true;
    while (!closing) {
      const seen = closes;
      try {
        await client.unsafe(`LISTEN "${SESSION_CHANNEL}"`);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, RELISTEN_DELAY_MS));
        continue;
      }
      if (closing || seen !== closes) continue;
      listening = true;
      subscribing = false;
      cache.resume();
      log.log('info', 'session cache listening for session changes');
      return;
    }
    subscribing = false;
  }

  cache.suspend();
  void subscribe();
  return {
    listening: () => listening,
    async close() {
      closing = true;
      listening = false;
      cache.suspend();
      await client.end({ timeout: 5 });
    },
  };
}

/** PGlite is this process alone: its notifications arrive with the statement that caused them. */
export async function feedFromPglite(client: PGlite, cache: SessionCache): Promise<SessionFeed> {
  cache.suspend();
  const unlisten = await client.listen(SESSION_CHANNEL, (payload) => applySessionChange(cache, payload));
  cache.resume();
  let listening = true;
  return {
    listening: () => listening,
    async close() {
      listening = false;
      cache.suspend();
      await unlisten();
    },
  };
}
