import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from './free-port';

/**
 * A relay in front of PostgreSQL that counts the frontend messages by type (`P` Parse, `B` Bind,
 * `Q` simple Query …). A connection opens with an untyped startup message (and maybe an SSL
 * request); every message after it is a type byte and a 4-byte length that counts itself. The
 * text of every statement parsed is kept too.
 */
export async function startCountingRelay(target: URL) {
  const counts = new Map<string, number>();
  const parsed: string[] = [];
  const sockets = new Set<Socket>();
  const port = await freePort();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    let buffered = Buffer.alloc(0);
    let started = false;
    client.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        if (!started) {
          if (buffered.length < 8) break;
          const length = buffered.readInt32BE(0);
          if (buffered.length < length) break;
          // 80877103 is the SSL request; the startup message that follows is untyped too.
          started = buffered.readInt32BE(4) !== 80877103;
          buffered = buffered.subarray(length);
          continue;
        }
        if (buffered.length < 5) break;
        const length = buffered.readInt32BE(1) + 1;
        if (buffered.length < length) break;
        const type = String.fromCharCode(buffered[0]!);
        counts.set(type, (counts.get(type) ?? 0) + 1);
        // Parse: statement name and text, each NUL-terminated; Query: the text.
        if (type === 'P') parsed.push(buffered.subarray(5, length).toString('utf8').split('\0')[1]!);
        if (type === 'Q') parsed.push(buffered.subarray(5, length - 1).toString('utf8'));
        buffered = buffered.subarray(length);
      }
    });
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = new URL(target);
  url.host = `127.0.0.1:${port}`;
  return {
    url: url.toString(),
    count: (type: string) => counts.get(type) ?? 0,
    /** Statement texts sent so far (Parse and simple Query), in order. */
    statements: () => [...parsed],
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
