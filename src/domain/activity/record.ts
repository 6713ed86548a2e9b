import { isForeignKeyViolation } from '../../db/errors';
import { activity } from '../../db/schema';
import type { Deps, RequestMeta } from '../../deps';
import type { Executor } from '../../db/database';

export type Severity = 'info' | 'warning' | 'critical';

export interface ActivityEntry {
  userId: string | null;
  action: string;
  severity: Severity;
  meta: RequestMeta;
  metadata?: Record<string, unknown>;
}

/** The activity row of an entry, as `recordActivity` inserts it (or a statement that logs along). */
export function activityRow(deps: Pick<Deps, 'clock'>, entry: ActivityEntry) {
  return {
    userId: entry.userId,
    action: entry.action,
    severity: entry.severity,
    ipAddress: entry.meta.ipAddress,
    userAgent: entry.meta.userAgent,
    metadata: entry.metadata ?? {},
    createdAt: deps.clock.now(),
  };
}

/** Appends a security event to a user's activity log. */
export async function recordActivity(
  deps: Pick<Deps, 'db' | 'clock'>,
  entry: ActivityEntry,
  executor: Executor = deps.db,
): Promise<void> {
  const row = activityRow(deps, entry);
  try {
    await executor.insert(activity).values(row);
  } catch (error) {
    // The account was deleted while the request ran (outside a transaction, nothing else is at
    // stake): the row is kept as a deleted account's rows are, without the account or client.
    if (executor !== deps.db || !entry.userId || !isForeignKeyViolation(error)) throw error;
    await deps.db.insert(activity).values({ ...row, userId: null, ipAddress: null, userAgent: null });
  }
}
