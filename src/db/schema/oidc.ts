import { index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { sessions } from './auth';
import { users } from './users';

/** OpenID Connect clients registered through `/admin/clients` (those of `OIDC_CLIENTS` live in the configuration). */
export const oauthClients = pgTable('oauth_clients', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  type: text('type', { enum: ['public', 'confidential'] }).notNull(),
  /** Hash of a confidential client's secret; the secret itself is shown once. */
  secretHash: text('secret_hash'),
  redirectUris: text('redirect_uris').array().notNull(),
  postLogoutRedirectUris: text('post_logout_redirect_uris').array().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
});

/**
 * An authorization request waiting for the browser to sign in on the hosted page: the validated
 * parameters of `GET /oauth/authorize`, consumed once when the sign-in completes.
 */
export const oauthAuthorizationRequests = pgTable(
  'oauth_authorization_requests',
  {
    id: text('id').primaryKey(),
    clientId: text('client_id').notNull(),
    redirectUri: text('redirect_uri').notNull(),
    scope: text('scope').notNull(),
    state: text('state'),
    nonce: text('nonce'),
    codeChallenge: text('code_challenge').notNull(),
    /** `login` when the client asked for a fresh sign-in (`prompt=login` or `max_age=0`). */
    prompt: text('prompt'),
    maxAge: integer('max_age'),
    loginHint: text('login_hint'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('oauth_authorization_requests_expires_at_idx').on(t.expiresAt)],
);

/**
 * Authorization codes, by hash; consumed once (`consumed_at`), kept until they expire so that a
 * second use can revoke the grant it produced (`grant_id`).
 */
export const oauthCodes = pgTable(
  'oauth_codes',
  {
    codeHash: text('code_hash').primaryKey(),
    clientId: text('client_id').notNull(),
    redirectUri: text('redirect_uri').notNull(),
    scope: text('scope').notNull(),
    nonce: text('nonce'),
    codeChallenge: text('code_challenge').notNull(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    sessionId: text('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    consumedAt: timestamp('consumed_at', { withTimezone: true }),
    grantId: text('grant_id'),
  },
  (t) => [index('oauth_codes_expires_at_idx').on(t.expiresAt)],
);

/**
 * What a redeemed code granted a client: one per redemption, the family of its refresh tokens
 * and the access tokens that name it. It lives as long as the session behind it.
 */
export const oauthGrants = pgTable(
  'oauth_grants',
  {
    id: text('id').primaryKey(),
    clientId: text('client_id').notNull(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    sessionId: text('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    scope: text('scope').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('oauth_grants_session_id_idx').on(t.sessionId), index('oauth_grants_client_id_idx').on(t.clientId)],
);

/** Refresh tokens, by hash. The current one of a family has no `rotated_at`; a rotated one presented again revokes the family. */
export const oauthRefreshTokens = pgTable(
  'oauth_refresh_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    grantId: text('grant_id')
      .notNull()
      .references(() => oauthGrants.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    rotatedAt: timestamp('rotated_at', { withTimezone: true }),
  },
  (t) => [index('oauth_refresh_tokens_grant_id_idx').on(t.grantId)],
);

export type OAuthClientRow = typeof oauthClients.$inferSelect;
export type OAuthGrantRow = typeof oauthGrants.$inferSelect;
