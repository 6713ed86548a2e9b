import type { SessionRow, UserRow } from '../db/schema';

/** What a session check needs, as read from the database. */
export interface CachedSession {
  session: SessionRow;
  user: UserRow;
}

/**
 * Taken before the database read whose result is to be stored: `set` refuses the result when
 * anything was evicted since (the read may predate that change), and the entry's age counts
 * from here, not from when the read returned.
 */
export interface CacheTicket {
  readonly generation: number;
  readonly at: number;
}

/** A session read from the database, and the ticket taken as the read began. */
export interface SharedRead {
  entry: CachedSession | undefined;
  ticket: CacheTicket;
}

/**
 * Recent session checks of this process, keyed by session id. Whoever feeds it (the database's
 * change notifications, and the domain functions that end sessions here) evicts what changed;
 * the TTL bounds how stale an entry can be should an eviction never come.
 */
export interface SessionCache {
  ticket(): CacheTicket;
  /** The entry of a live, young enough session id; undefined otherwise, and while suspended. */
  get(sessionId: string): CachedSession | undefined;
  /** Stores a read taken under `ticket`, unless anything was evicted since or the cache is suspended. */
  set(entry: CachedSession, ticket: CacheTicket): void;
  /**
   * The database read of `sessionId` already under way, if one is and nothing was evicted since
   * it began; else `read()`, shared with the checks of that session that come while it runs.
   * Concurrent misses on one session (all of them, when a hot entry's TTL runs out) then wait
   * on one read instead of sending one each. Each gets the read's ticket, taken as it began, to
   * `set` the result with. Nothing is shared while suspended.
   */
  shareRead(sessionId: string, read: () => Promise<CachedSession | undefined>): Promise<SharedRead>;
  evictSession(sessionId: string): void;
  evictUser(userId: string): void;
  /** Drops every entry. */
  clear(): void;
  /** Drops every entry and serves none until `resume`: evictions may be getting lost. */
  suspend(): void;
  /** Serves again, from empty: whatever was evicted while suspended was not heard. */
  resume(): void;
}

export interface MemorySessionCacheOptions {
  /** How long an entry is served after its read began. */
  ttlMs: number;
  /** At most this many entries; past it, the oldest reads go first. */
  maxEntries: number;
  /** Milliseconds on a clock that only moves forward (`performance.now`). */
  now: () => number;
  /** Start suspended, until its feed of evictions is confirmed (`resume`). */
  suspended?: boolean;
}

/**
 * A cache in this process's memory. A Map keeps insertion order and every `set` re-inserts, so
 * the first key is the least recently stored: the one to drop when full, and about the nearest
 * to its TTL.
 */
export function createMemorySessionCache(options: MemorySessionCacheOptions): SessionCache {
  const entries = new Map<string, CachedSession & { at: number }>();
  const reads = new Map<string, { generation: number; read: Promise<SharedRead> }>();
  // Bumped by every eviction: a read that began before one may hold what it removed.
  let generation = 0;
  let suspended = options.suspended ?? false;

  const drop = (sessionId: string) => {
    generation++;
    entries.delete(sessionId);
  };
  const clear = () => {
    generation++;
    entries.clear();
  };

  return {
    ticket: () => ({ generation, at: options.now() }),
    get(sessionId) {
      if (suspended) return undefined;
      const entry = entries.get(sessionId);
      if (!entry) return undefined;
      if (options.now() - entry.at >= options.ttlMs) {
        entries.delete(sessionId);
        return undefined;
      }
      return { session: entry.session, user: entry.user };
    },
    set(entry, ticket) {
      if (suspended || ticket.generation !== generation) return;
      if (options.now() - ticket.at >= options.ttlMs) return;
      entries.delete(entry.session.id);
      entries.set(entry.session.id, { session: entry.session, user: entry.user, at: ticket.at });
      while (entries.size > options.maxEntries) entries.delete(entries.keys().next().value!);
    },
    shareRead(sessionId, read) {
      const ticket: CacheTicket = { generation, at: options.now() };
      const start = async (): Promise<SharedRead> => ({ entry: await read(), ticket });
      if (suspended) return start();
      const running = reads.get(sessionId);
      if (running && running.generation === generation) return running.read;
      const shared = { generation, read: start() };
      reads.set(sessionId, shared);
      const done = () => {
        if (reads.get(sessionId) === shared) reads.delete(sessionId);
      };
      shared.read.then(done, done);
      return shared.read;
    },
    evictSession: drop,
    evictUser(userId) {
      generation++;
      for (const [id, entry] of entries) if (entry.user.id === userId) entries.delete(id);
    },
    clear,
    suspend() {
      suspended = true;
      clear();
    },
    resume() {
      suspended = false;
      clear();
    },
  };
}
