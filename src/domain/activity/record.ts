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

/** Appends a security event to a user's activity log. */
export async function recordActivity(
  deps: Pick<Deps, 'db' | 'clock'>,
  entry: ActivityEntry,
  executor: Executor = deps.db,
): Promise<void> {
  await executor.insert(activity).values({
    userId: entry.userId,
    action: entry.action,
    severity: entry.severity,
    ipAddress: entry.meta.ipAddress,
    userAgent: entry.meta.userAgent,
    metadata: entry.metadata ?? {},
    createdAt: deps.clock.now(),
  });
}
