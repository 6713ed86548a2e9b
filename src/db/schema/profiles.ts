import { sql } from 'drizzle-orm';
import { boolean, index, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { users } from './users';

/** The profiles a user presents ("identities" in the HTTP contract). */
export const profiles = pgTable(
  'profiles',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    displayName: text('display_name').notNull(),
    /** Lower-case; unique across all users. */
    handle: text('handle').notNull().unique(),
    email: text('email'),
    birthday: text('birthday'),
    avatarUrl: text('avatar_url'),
    bannerUrl: text('banner_url'),
    isPrimary: boolean('is_primary').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    index('profiles_user_id_idx').on(t.userId, t.createdAt),
    // At most one primary per user, whatever the interleaving of requests.
    uniqueIndex('profiles_one_primary_idx').on(t.userId).where(sql`${t.isPrimary}`),
  ],
);

export type ProfileRow = typeof profiles.$inferSelect;
