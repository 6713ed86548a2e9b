import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from './free-port';

export interface TcpProxy {
  /** Where to connect instead of the target: `127.0.0.1:<port>`. */
  host: string;
  port: number;
  /** Cuts every open connection and refuses new ones (the port stops listening), like a database that went away. */
  cut(): Promise<void>;
  /** Listens again on the same port and relays new connections. */
  restore(): Promise<void>;
  /** Connections currently relayed. */
  connections(): number;
  close(): Promise<void>;
}

/** A TCP relay on loopback in front of `target` (host:port) that a test can cut and restore. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;

  const relay = (client: Socket) => {
    const upstream = connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      // Either side failing ends both: a relay never keeps half a connection.
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      socket.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  };

  const listen = async () => {
    server = createServer(relay);
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(port, '127.0.0.1', () => resolve());
    });
  };
  const stop = async () => {
    const closing = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
  };

  await listen();
  return {
    host: '127.0.0.1',
    port,
    cut: stop,
    async restore() {
      if (!server) await listen();
    },
    connections: () => sockets.size / 2,
    close: stop,
  };
}
