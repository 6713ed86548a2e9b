import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * An account. `email` is set only once the address has been proven with a code; an address
 * attached through the SpacetimeDB routes stays in `unverifiedEmail` and never signs anyone in.
 */
export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    email: text('email').unique(),
    unverifiedEmail: text('unverified_email'),
    identity: text('identity').notNull().unique(),
    webauthnUserId: text('webauthn_user_id').notNull().unique(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('users_unverified_email_idx').on(t.unverifiedEmail)],
);

export type UserRow = typeof users.$inferSelect;
