// better-auth configured as the reference for `npm run bench`: email codes and passkeys on its
// Drizzle adapter over postgres.js, with what would skew a comparison switched off (rate limits,
// telemetry, the session cookie cache, which would answer get-session without the database).
// Plain JavaScript, so that the root typecheck never needs this folder's own node_modules.
import { passkey } from '@better-auth/passkey';
import { betterAuth } from 'better-auth';
import { drizzleAdapter } from 'better-auth/adapters/drizzle';
import { emailOTP } from 'better-auth/plugins';
import { drizzle } from 'drizzle-orm/postgres-js';
import nodemailer from 'nodemailer';
import postgres from 'postgres';

/**
 * @param {{ databaseUrl: string, baseURL: string, secret: string, smtpUrl?: string, schema?: Record<string, unknown> }} options
 */
export function createAuth({ databaseUrl, baseURL, secret, smtpUrl, schema }) {
  // postgres.js defaults to 10 connections, the pool this server uses too.
  const sql = postgres(databaseUrl, { max: 10, onnotice: () => {} });
  const db = drizzle(sql, schema ? { schema } : undefined);
  // The same mail leg as this server: nodemailer with a pool of 3 connections (this server's
  // setting on Node), and the answer does not wait for the SMTP server (this server sends in the
  // background too).
  const transport = smtpUrl ? nodemailer.createTransport({ url: smtpUrl, pool: true, maxConnections: 3 }) : undefined;
  const origin = new URL(baseURL).origin;
  const auth = betterAuth({
    appName: 'Auth',
    baseURL,
    secret,
    trustedOrigins: [origin],
    database: drizzleAdapter(db, { provider: 'pg', schema }),
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
    logger: { level: 'error' },
    session: { cookieCache: { enabled: false } },
    plugins: [
      emailOTP({
        otpLength: 6,
        expiresIn: 600,
        async sendVerificationOTP({ email, otp }) {
          if (!transport) return;
          transport
            .sendMail({
              from: 'auth@localhost',
              to: email,
              subject: `Your sign-in code: ${otp}`,
              text: `Your sign-in code is ${otp}.\n\nIt expires in 10 minutes. If you did not ask for it, you can ignore this email.\n`,
            })
            .catch((error) => console.error('sending the code failed', error));
        },
      }),
      passkey({ rpID: new URL(baseURL).hostname, rpName: 'Auth', origin }),
    ],
  });
  return { auth, sql, close: () => sql.end({ timeout: 5 }) };
}
