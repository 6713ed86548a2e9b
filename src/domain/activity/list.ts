import { and, desc, eq, lt } from 'drizzle-orm';
import { activity, type ActivityRow } from '../../db/schema';
import type { Deps } from '../../deps';

export interface Page {
  limit: number;
  /** Only rows older than this one. */
  before?: number;
}

/** A page of the user's activity, newest first; `next` is the cursor for the following page. */
export async function listActivity(
  deps: Pick<Deps, 'db'>,
  userId: string,
  page: Page,
): Promise<{ activity: ActivityRow[]; next: number | null }> {
  const rows = await deps.db
    .select()
    .from(activity)
    .where(and(eq(activity.userId, userId), page.before === undefined ? undefined : lt(activity.id, page.before)))
    .orderBy(desc(activity.id))
    .limit(page.limit + 1);
  const more = rows.length > page.limit;
  const shown = more ? rows.slice(0, page.limit) : rows;
  return { activity: shown, next: more ? shown.at(-1)!.id : null };
}
