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

/**
 * The ES256 keys that sign and verify tokens. The first is `JWT_PRIVATE_KEY` when configured, else
 * the key generated on first use (`id = 'default'`); `POST /admin/keys/rotate` adds keys that
 * sign from `activates_at` on. A key verifies until `retired_at`. A row with no private key stands
 * for the configured key (it records only its retirement).
 */
export const signingKeys = pgTable('signing_keys', {
  id: text('id').primaryKey(),
  /** RFC 7638 thumbprint of the public key; filled when the key is first loaded. */
  kid: text('kid').unique(),
  privateKeyPem: text('private_key_pem'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  activatesAt: timestamp('activates_at', { withTimezone: true }).notNull().defaultNow(),
  retiredAt: timestamp('retired_at', { withTimezone: true }),
});
