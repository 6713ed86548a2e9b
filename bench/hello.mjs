// The ceiling of `npm run bench`: a bare Hono hello-world on @hono/node-server, nothing else.
// Env: PORT, HOST (127.0.0.1).
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.get('/', (c) => c.text('Hello Hono!'));

const port = Number(process.env.PORT ?? 3002);
const hostname = process.env.HOST ?? '127.0.0.1';
const server = serve({ fetch: app.fetch, port, hostname }, (info) => {
  console.log(JSON.stringify({ msg: 'listening', url: `http://${hostname}:${info.port}` }));
});
const shutdown = () => {
  server.close();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
