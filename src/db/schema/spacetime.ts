import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { users } from './users';

/** Database addresses registered to an account's SpacetimeDB identity; an address has one owner. */
export const identityDatabases = pgTable(
  'identity_databases',
  {
    address: text('address').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('identity_databases_user_id_idx').on(t.userId, t.createdAt)],
);

/** The generated ES256 key when `JWT_PRIVATE_KEY` is not configured: one row, `id = 'default'`. */
export const signingKeys = pgTable('signing_keys', {
  id: text('id').primaryKey(),
  privateKeyPem: text('private_key_pem').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
});
