import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Headers;
  body: string;
}

export type RawOutcome =
  | { kind: 'answer'; answer: RawAnswer }
  /** The server closed or reset the connection without a (complete) answer. */
  | { kind: 'closed'; reason: string }
  | { kind: 'timeout' };

/**
 * Writes `bytes` as they are on a fresh connection to 127.0.0.1:`port`, so that requests no
 * HTTP client would send reach Node's own parser; then reads the first answer. `halfClose`
 * ends the writing side after the bytes (a client that gives up mid-body).
 */
export function sendRaw(port: number, bytes: Uint8Array, options: { halfClose?: boolean; timeoutMs?: number } = {}): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(bytes);
      if (options.halfClose) socket.end();
    });
    const finish = (reason: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const answer = parseAnswer(Buffer.concat(chunks));
      resolve(answer ? { kind: 'answer', answer } : { kind: 'closed', reason });
    };
    const timer = setTimeout(() => {
      if (settled) return;
      const answer = parseAnswer(Buffer.concat(chunks));
      settled = true;
      socket.destroy();
      resolve(answer ? { kind: 'answer', answer } : { kind: 'timeout' });
    }, options.timeoutMs ?? 20_000);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (parseAnswer(Buffer.concat(chunks), true)) finish('complete');
    });
    socket.on('end', () => finish('end'));
    socket.on('close', () => finish('close'));
    socket.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
  });
}

/** The first HTTP/1.1 answer in `data`, or null while it is incomplete (when `complete` is asked for). */
function parseAnswer(data: Buffer, complete = false): RawAnswer | null {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1]);
  if (!status) return null;
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  let rest = data.subarray(end + 4);
  if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = rest.indexOf('\r\n');
      if (lineEnd < 0) return complete ? null : { status, headers, body: Buffer.concat(parts).toString('utf8') };
      const size = Number.parseInt(rest.subarray(0, lineEnd).toString('latin1'), 16);
      if (size === 0) break;
      if (rest.length < lineEnd + 2 + size) return complete ? null : { status, headers, body: Buffer.concat(parts).toString('utf8') };
      parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      rest = rest.subarray(lineEnd + 2 + size + 2);
    }
    return { status, headers, body: Buffer.concat(parts).toString('utf8') };
  }
  const length = headers.get('content-length');
  if (length !== null) {
    if (complete && rest.length < Number(length)) return null;
    return { status, headers, body: rest.subarray(0, Number(length)).toString('utf8') };
  }
  // Neither: the body runs to the end of the connection.
  return complete ? null : { status, headers, body: rest.toString('utf8') };
}
