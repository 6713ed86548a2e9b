import { sql } from 'drizzle-orm';
import { boolean, index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { users } from './users';

/** The live one-time code of an email; a new code replaces the row. Only an HMAC is kept. */
export const otpCodes = pgTable('otp_codes', {
  email: text('email').primaryKey(),
  codeHash: text('code_hash').notNull(),
  attempts: integer('attempts').notNull().default(0),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
});

/**
 * An account's pending change of email: a one-time code mailed to the new address, under the
 * same rules as sign-in codes but never usable as one. One per account; a new request replaces it.
 */
export const emailChangeCodes = pgTable('email_change_codes', {
  userId: text('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  /** The new address, trimmed and lower-cased. */
  email: text('email').notNull(),
  codeHash: text('code_hash').notNull(),
  attempts: integer('attempts').notNull().default(0),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
});

export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    secretHash: text('secret_hash').notNull(),
    method: text('method', { enum: ['otp', 'passkey'] }).notNull(),
    /** A passkey sign-in whose authenticator verified the user (PIN, biometrics): OIDC `amr` adds "mfa". */
    userVerified: boolean('user_verified').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    lastActiveAt: timestamp('last_active_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    ipAddress: text('ip_address'),
    userAgent: text('user_agent'),
  },
  (t) => [index('sessions_user_id_idx').on(t.userId, t.createdAt)],
);

/**
 * Sliding-window rate limits shared by every process: `key` names the limit and its subject,
 * `hits` holds the time of every admitted hit still inside the window (at most the limit), and
 * `reset_at` is when the newest of them leaves it, after which the row may be purged.
 */
export const rateLimits = pgTable(
  'rate_limits',
  {
    key: text('key').primaryKey(),
    hits: timestamp('hits', { withTimezone: true }).array().notNull().default(sql`'{}'`),
    resetAt: timestamp('reset_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('rate_limits_reset_at_idx').on(t.resetAt)],
);

export type SessionRow = typeof sessions.$inferSelect;
