import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP proxy between a server and PostgreSQL that reads the frontend (client → server) side of
 * the wire protocol and counts what it sees. Nothing is changed on the way through.
 *
 * - `messages`: frontend messages by type byte (`Q` simple query, `P` Parse, `B` Bind,
 *   `E` Execute, `D` Describe, `S` Sync, `H` Flush, `C` Close, `X` Terminate, …).
 * - `statements`: statements run, `Q` + `E` (each Execute runs one portal; a simple Query with
 *   several `;`-separated statements counts once).
 * - `roundTrips`: client → server flushes that wait for the server: a burst of client bytes
 *   counts once, and a new burst starts only after the server has sent something back. So a
 *   pipelined Parse/Bind/Execute/Sync is one round trip however TCP splits it, and two queries
 *   in flight on one connection before any answer are one too.
 */
export interface WireCounts {
  connections: number;
  messages: Record<string, number>;
  statements: number;
  roundTrips: number;
  bytesToServer: number;
  bytesFromServer: number;
}

const emptyCounts = (): WireCounts => ({ connections: 0, messages: {}, statements: 0, roundTrips: 0, bytesToServer: 0, bytesFromServer: 0 });

/** `after - before`, field by field. */
export function diffCounts(after: WireCounts, before: WireCounts): WireCounts {
  const messages: Record<string, number> = {};
  for (const [type, n] of Object.entries(after.messages)) {
    const d = n - (before.messages[type] ?? 0);
    if (d) messages[type] = d;
  }
  return {
    connections: after.connections - before.connections,
    messages,
    statements: after.statements - before.statements,
    roundTrips: after.roundTrips - before.roundTrips,
    bytesToServer: after.bytesToServer - before.bytesToServer,
    bytesFromServer: after.bytesFromServer - before.bytesFromServer,
  };
}

/** `a + b`, field by field. */
export function addCounts(a: WireCounts, b: WireCounts): WireCounts {
  const messages: Record<string, number> = { ...a.messages };
  for (const [type, n] of Object.entries(b.messages)) messages[type] = (messages[type] ?? 0) + n;
  return {
    connections: a.connections + b.connections,
    messages,
    statements: a.statements + b.statements,
    roundTrips: a.roundTrips + b.roundTrips,
    bytesToServer: a.bytesToServer + b.bytesToServer,
    bytesFromServer: a.bytesFromServer + b.bytesFromServer,
  };
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

/** Parses one connection's frontend byte stream, message by message, across chunk boundaries. */
class FrontendParser {
  private buffer: Buffer = Buffer.alloc(0);
  private inStartup = true;
  /** Whether the server has answered since the client last sent a counted burst. */
  private serverSpoke = true;

  constructor(private readonly counts: WireCounts) {}

  fromServer(): void {
    this.serverSpoke = true;
  }

  fromClient(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    let counted = false;
    for (;;) {
      if (this.inStartup) {
        // Untyped: Int32 length (itself included), Int32 code or protocol version.
        if (this.buffer.length < 8) break;
        const length = this.buffer.readInt32BE(0);
        if (this.buffer.length < length) break;
        const code = this.buffer.readInt32BE(4);
        if (code !== SSL_REQUEST && code !== GSSENC_REQUEST && code !== CANCEL_REQUEST) this.inStartup = false;
        this.buffer = this.buffer.subarray(length);
        continue;
      }
      // Typed: Byte1 type, Int32 length (itself included, the type byte not).
      if (this.buffer.length < 5) break;
      const length = this.buffer.readInt32BE(1);
      if (this.buffer.length < 1 + length) break;
      const type = String.fromCharCode(this.buffer[0]!);
      this.counts.messages[type] = (this.counts.messages[type] ?? 0) + 1;
      if (type === 'Q' || type === 'E') this.counts.statements++;
      if (type !== 'p' && type !== 'X') counted = true; // a password or a goodbye is no query round trip
      this.buffer = this.buffer.subarray(1 + length);
    }
    if (counted && this.serverSpoke) {
      this.counts.roundTrips++;
      this.serverSpoke = false;
    }
  }
}

export async function startPgProxy(target: { host: string; port: number }): Promise<{
  port: number;
  /** `url` with its host and port pointed at the proxy. */
  through(url: string): string;
  snapshot(): WireCounts;
  close(): Promise<void>;
}> {
  const counts = emptyCounts();
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    counts.connections++;
    const upstream = connect(target.port, target.host);
    const parser = new FrontendParser(counts);
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      counts.bytesToServer += chunk.length;
      parser.fromClient(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      counts.bytesFromServer += chunk.length;
      parser.fromServer();
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    through(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    snapshot: () => structuredClone(counts),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
