import { users } from '../db/schema';
import type { Deps } from '../deps';

/**
 * Readiness: true when the database answers a query on the schema (so it is reachable and
 * migrated). A failure is logged and answered as false; it is an outage, not a bug.
 */
export async function checkDatabase(deps: Pick<Deps, 'db' | 'log'>): Promise<boolean> {
  try {
    await deps.db.select({ id: users.id }).from(users).limit(1);
    return true;
  } catch (error) {
    deps.log.log('warn', 'readiness check failed', { error: error instanceof Error ? error.message.split('\n')[0] : String(error) });
    return false;
  }
}
