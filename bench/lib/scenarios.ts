import { SoftAuthenticator } from '../../test/helpers/webauthn';
import type { AuthClient, SignedIn } from './clients';
import { PEER_SESSION_COOKIE } from './clients';
import { httpLoad, loopLoad, type Throughput } from './load';
import { cpuMs, sampleRss } from './proc-stats';

/** A prepared load: run it for some seconds, get its throughput. */
export interface Load {
  run(seconds: number): Promise<Throughput>;
}

export interface LoadShape {
  connections: number;
  workers: number;
  maxOps: number;
}

const json = (body: string): any => {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
};

/** An answer to a session check that holds a session and its user. */
const holdsSession = (body: string): boolean => {
  const parsed = json(body);
  return typeof parsed?.session?.id === 'string' && typeof parsed?.user?.id === 'string';
};

/** a. `GET /auth/sessions/current`, by bearer token or by the session cookie. */
export function thisSessionCheck(base: string, session: SignedIn, by: 'bearer' | 'cookie', shape: LoadShape): Load {
  const headers: Record<string, string> = by === 'bearer' ? { authorization: `Bearer ${session.token}` } : { cookie: `session=${session.token}` };
  return { run: (seconds) => httpLoad({ url: `${base}/auth/sessions/current`, headers, verify: holdsSession }, shape.connections, seconds) };
}

/** a. better-auth's `GET /api/auth/get-session` with its session cookie. */
export function peerSessionCheck(base: string, session: SignedIn, shape: LoadShape): Load {
  const headers = { cookie: `${PEER_SESSION_COOKIE}=${session.token}` };
  return { run: (seconds) => httpLoad({ url: `${base}/api/auth/get-session`, headers, verify: holdsSession }, shape.connections, seconds) };
}

/** a. The ceiling: `GET /` of the hello-world. */
export function helloLoad(base: string, shape: LoadShape): Load {
  return { run: (seconds) => httpLoad({ url: `${base}/`, verify: (body) => body === 'Hello Hono!' }, shape.connections, seconds) };
}

/** b. Email-code sign-in rounds: ask for a code, read it from the SMTP sink, exchange it for a session. */
export function codeRounds(client: AuthClient, shape: LoadShape, tag: string): Load {
  const emails = Array.from({ length: shape.workers }, (_, w) => `${tag}-code-w${w}@bench.example.com`);
  return { run: (seconds) => loopLoad(shape.workers, seconds, shape.maxOps, async (w) => void (await client.signInWithCode(emails[w]!))) };
}

/** c. Passkey sign-in rounds; each worker first signs up with a code and registers one passkey. */
export async function passkeyRounds(client: AuthClient, shape: LoadShape, tag: string): Promise<Load> {
  const authenticators = await Promise.all(
    Array.from({ length: shape.workers }, async (_, w) => {
      const authenticator = new SoftAuthenticator(client.origin);
      const session = await client.signInWithCode(`${tag}-passkey-w${w}@bench.example.com`);
      await client.registerPasskey(session, authenticator);
      return authenticator;
    }),
  );
  return { run: (seconds) => loopLoad(shape.workers, seconds, shape.maxOps, async (w) => void (await client.signInWithPasskey(authenticators[w]!))) };
}

/** d. `POST /v1/identity/websocket-token` with a session token. */
export function websocketTokenLoad(base: string, session: SignedIn, shape: LoadShape): Load {
  const verify = (body: string) => typeof json(body)?.token === 'string';
  return {
    run: (seconds) =>
      httpLoad({ url: `${base}/v1/identity/websocket-token`, method: 'POST', headers: { authorization: `Bearer ${session.token}` }, verify }, shape.connections, seconds),
  };
}

/** d. The ceiling: WebCrypto ES256 signatures of a JWT-sized input, `connections` in flight, in this process. */
export async function rawSigningLoad(shape: LoadShape): Promise<Load> {
  const { privateKey } = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as CryptoKeyPair;
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = new TextEncoder().encode(
    `${b64({ alg: 'ES256', typ: 'JWT', kid: 'bench' })}.${b64({ hex_identity: 'c2'.repeat(32), sub: crypto.randomUUID(), iss: 'http://localhost:3000', aud: ['spacetimedb'], iat: now, exp: now + 60 })}`,
  );
  return {
    run: (seconds) =>
      loopLoad(shape.connections, seconds, shape.maxOps, async () => {
        const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, input);
        if (signature.byteLength !== 64) throw new Error('ES256 signature of the wrong size');
      }),
  };
}

/** A measurement with what the serving process (and its database backends) spent on it. */
export interface Measured extends Throughput {
  /** Server CPU (user + system) per operation, ms. */
  cpuMsPerOp: number | undefined;
  /** PostgreSQL backend CPU per operation, ms (the backends connected to the server's database). */
  dbCpuMsPerOp: number | undefined;
  /** The bench process's own CPU per operation, ms: the load generator, and the SMTP sink parsing mails. */
  benchCpuMsPerOp: number;
  /** Highest resident memory of the server process sampled during the measurement, MiB. */
  peakRssMib: number | undefined;
}

export interface Accounting {
  pid: number;
  /** The PostgreSQL backends serving this process now. */
  backends?: () => Promise<number[]>;
}

/** Runs a load once unmeasured (`warmup` seconds), then measures it for `seconds`. */
export async function measure(load: Load, who: Accounting, warmup: number, seconds: number): Promise<Measured> {
  if (warmup > 0) await load.run(warmup);
  const backendsBefore = (await who.backends?.()) ?? [];
  const dbBefore = new Map(backendsBefore.map((pid) => [pid, cpuMs(pid) ?? 0]));
  const cpuBefore = cpuMs(who.pid);
  const rss = sampleRss(who.pid);
  const benchBefore = process.cpuUsage();
  const result = await load.run(seconds);
  const bench = process.cpuUsage(benchBefore);
  const peakRssMib = rss.stop();
  const cpuAfter = cpuMs(who.pid);
  let dbCpuMsPerOp: number | undefined;
  if (who.backends) {
    // A backend opened during the run counts from zero; one closed during it is lost (pools keep theirs open).
    const backendsAfter = await who.backends();
    let spent = 0;
    for (const pid of new Set([...backendsBefore, ...backendsAfter])) spent += (cpuMs(pid) ?? dbBefore.get(pid) ?? 0) - (dbBefore.get(pid) ?? 0);
    dbCpuMsPerOp = spent / result.ops;
  }
  return {
    ...result,
    cpuMsPerOp: cpuBefore === undefined || cpuAfter === undefined ? undefined : (cpuAfter - cpuBefore) / result.ops,
    dbCpuMsPerOp,
    benchCpuMsPerOp: (bench.user + bench.system) / 1000 / result.ops,
    peakRssMib,
  };
}
