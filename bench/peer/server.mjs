// The better-auth reference server: Hono on @hono/node-server, better-auth mounted on /api/auth.
// Creates its tables (drizzle/*.sql, generated from schema.mjs) in an empty database first, as
// this server migrates its own at start, so that both start-up times include the schema.
//
// Env: DATABASE_URL, PORT, HOST (127.0.0.1), BASE_URL (http://localhost:$PORT: rp id, origin),
// BETTER_AUTH_SECRET, SMTP_URL (optional: where the codes are mailed).
import { readdirSync, readFileSync } from 'node:fs';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createAuth } from './auth.mjs';
import * as schema from './schema.mjs';

const port = Number(process.env.PORT ?? 3001);
const host = process.env.HOST ?? '127.0.0.1';
const databaseUrl = process.env.DATABASE_URL;
const secret = process.env.BETTER_AUTH_SECRET;
if (!databaseUrl || !secret) {
  console.error('DATABASE_URL and BETTER_AUTH_SECRET are required');
  process.exit(1);
}
const baseURL = process.env.BASE_URL ?? `http://localhost:${port}`;

const { auth, sql, close } = createAuth({ databaseUrl, baseURL, secret, smtpUrl: process.env.SMTP_URL, schema });

const [{ exists }] = await sql`select to_regclass('public.user') is not null as exists`;
if (!exists) {
  const folder = new URL('./drizzle/', import.meta.url);
  const files = readdirSync(folder).filter((f) => f.endsWith('.sql')).sort();
  await sql.begin(async (tx) => {
    for (const file of files) {
      for (const statement of readFileSync(new URL(file, folder), 'utf8').split('--> statement-breakpoint')) {
        if (statement.trim()) await tx.unsafe(statement);
      }
    }
  });
}
// better-auth builds its context lazily; build it now so the first request is not the one to pay.
await auth.$context;

const app = new Hono();
app.on(['GET', 'POST'], '/api/auth/*', (c) => auth.handler(c.req.raw));

const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
  console.log(JSON.stringify({ msg: 'listening', url: `http://${host}:${info.port}` }));
});

const shutdown = () => {
  server.close();
  close().finally(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
