/**
 * `npm run bench`: this server side by side with better-auth and a bare Hono hello-world, in
 * one run, on the local PostgreSQL. See bench/README.md for what it measures and its knobs.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerClient, thisServerClient } from './lib/clients';
import { createDatabases } from './lib/databases';
import { outDir, root, type Server } from './lib/processes';
import { peakRssMib } from './lib/proc-stats';
import { machine, markdownTable, rate, ratio, writeGenerated, type Row } from './lib/report';
import {
  codeRounds,
  helloLoad,
  measure,
  passkeyRounds,
  peerSessionCheck,
  rawSigningLoad,
  thisSessionCheck,
  websocketTokenLoad,
  type Accounting,
  type Load,
  type Measured,
} from './lib/scenarios';
import { ensurePeerInstalled, installedVersion, peerDir, startHelloServer, startPeerServer, startThisServer } from './lib/servers';
import { settings } from './lib/settings';
import { startSmtpSink } from './lib/smtp-sink';

const shape = { connections: settings.connections, workers: settings.workers, maxOps: settings.maxOps };
const say = (line: string) => console.log(`[bench] ${line}`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

ensurePeerInstalled();
const databases = createDatabases(settings.databaseUrl);
const postgresVersion = await databases.serverVersion();
const sink = await startSmtpSink();
const scratch = mkdtempSync(join(tmpdir(), 'auth-bench-'));
const running: Server[] = [];
const began = Date.now();

say(
  `node ${process.version}, PostgreSQL ${postgresVersion}; ${settings.connections} connections, ${settings.workers} workers for rounds, ` +
    `${settings.warmup} s warm-up + ${settings.duration} s per measurement${settings.quick ? ' (BENCH_QUICK)' : ''}`,
);

const startups = { thisPostgres: [] as number[], thisPgliteFresh: [] as number[], thisPgliteAgain: [] as number[], peerPostgres: [] as number[], hello: [] as number[] };
const results = new Map<string, Measured>();
let peaks: { self?: number; peer?: number; hello?: number; embedded?: number } = {};

async function run(key: string, load: Load, who: Accounting): Promise<void> {
  say(`${key} …`);
  const measured = await measure(load, who, settings.warmup, settings.duration);
  results.set(key, measured);
  say(`${key}: ${measured.rate.toFixed(1)}/s, p50 ${measured.p50.toFixed(1)} ms, p99 ${measured.p99.toFixed(1)} ms`);
}

try {
  // e. Start-up, one server at a time with nothing else under load: spawn → first 200.
  for (let i = 0; i < settings.starts; i++) {
    say(`start-up ${i + 1}/${settings.starts} …`);
    const stopNow = async (server: Server) => {
      await server.stop();
      return server.startMs;
    };
    const thisDb = await databases.create('bench_this_start');
    startups.thisPostgres.push(await stopNow(await startThisServer({ databaseUrl: thisDb.url, smtpUrl: sink.url, log: 'start-this-postgres' })));
    const dataDir = join(scratch, `data-${i}`);
    startups.thisPgliteFresh.push(await stopNow(await startThisServer({ dataDir, smtpUrl: sink.url, log: 'start-this-pglite' })));
    startups.thisPgliteAgain.push(await stopNow(await startThisServer({ dataDir, smtpUrl: sink.url, log: 'start-this-pglite-again' })));
    const peerDb = await databases.create('bench_peer_start');
    startups.peerPostgres.push(await stopNow(await startPeerServer({ databaseUrl: peerDb.url, smtpUrl: sink.url, log: 'start-better-auth' })));
    startups.hello.push(await stopNow(await startHelloServer({ log: 'start-hello' })));
  }

  // The load: all three servers up at once, each loaded in turn while the others idle.
  const thisDb = await databases.create('bench_this');
  const peerDb = await databases.create('bench_peer');
  const [self, peer, hello] = await Promise.all([
    startThisServer({ databaseUrl: thisDb.url, smtpUrl: sink.url }),
    startPeerServer({ databaseUrl: peerDb.url, smtpUrl: sink.url }),
    startHelloServer(),
  ]);
  running.push(self, peer, hello);
  const selfWho: Accounting = { pid: self.pid, backends: () => databases.backends(thisDb.name) };
  const peerWho: Accounting = { pid: peer.pid, backends: () => databases.backends(peerDb.name) };
  const thisClient = thisServerClient(self.url, self.origin, (email) => sink.nextCode(email));
  const betterAuth = peerClient(peer.url, peer.origin, (email) => sink.nextCode(email));

  // a. Session checks.
  const thisSession = await thisClient.signInWithCode('session@bench.example.com');
  const peerSession = await betterAuth.signInWithCode('session@bench.example.com');
  await run('session bearer/this', thisSessionCheck(self.url, thisSession, 'bearer', shape), selfWho);
  await run('session cookie/this', thisSessionCheck(self.url, thisSession, 'cookie', shape), selfWho);
  await run('session cookie/peer', peerSessionCheck(peer.url, peerSession, shape), peerWho);
  await run('hello', helloLoad(hello.url, shape), { pid: hello.pid });

  // b. Email-code sign-in rounds, both through the SMTP sink.
  await run('code/this', codeRounds(thisClient, shape, 'this'), selfWho);
  await run('code/peer', codeRounds(betterAuth, shape, 'peer'), peerWho);

  // c. Passkey sign-in rounds.
  await run('passkey/this', await passkeyRounds(thisClient, shape, 'this'), selfWho);
  await run('passkey/peer', await passkeyRounds(betterAuth, shape, 'peer'), peerWho);

  // d. WebSocket tokens against raw ES256 signing in this process.
  await run('websocket-token/this', websocketTokenLoad(self.url, thisSession, shape), selfWho);
  await run('es256 sign', await rawSigningLoad(shape), { pid: process.pid });

  // f. Peak resident memory of each server over the whole run.
  peaks = { self: peakRssMib(self.pid), peer: peakRssMib(peer.pid), hello: peakRssMib(hello.pid) };

  // f. This server on the embedded database, alone, under the session-check and code-round loads.
  const embedded = await startThisServer({ dataDir: join(scratch, 'data-load'), smtpUrl: sink.url, log: 'this-pglite' });
  running.push(embedded);
  const embeddedWho: Accounting = { pid: embedded.pid };
  const embeddedClient = thisServerClient(embedded.url, embedded.origin, (email) => sink.nextCode(email));
  const embeddedSession = await embeddedClient.signInWithCode('session@bench.example.com');
  await run('session bearer/this-pglite', thisSessionCheck(embedded.url, embeddedSession, 'bearer', shape), embeddedWho);
  await run('code/this-pglite', codeRounds(embeddedClient, shape, 'this'), embeddedWho);
  peaks.embedded = peakRssMib(embedded.pid);
} finally {
  await Promise.allSettled(running.map((s) => s.stop()));
  await sink.close();
  await databases.dropAll();
  rmSync(scratch, { recursive: true, force: true });
}

const r = (key: string) => results.get(key)!;
const measuredRow = (scenario: string, server: string, key: string, unit: string, extra: Partial<Row> = {}): Row => {
  const m = r(key);
  return { scenario, server, result: rate(m.rate, unit), p50: m.p50, p99: m.p99, cpu: m.cpuMsPerOp, dbCpu: m.dbCpuMsPerOp, benchCpu: m.benchCpuMsPerOp, rss: m.peakRssMib, ...extra };
};
const vs = (key: string, other: string) => ratio(r(key).rate, r(other).rate);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const start = (values: number[]) => median(values);

const rows: Row[] = [
  measuredRow('a. session check (bearer)', 'this', 'session bearer/this', 'req', { vsPeer: vs('session bearer/this', 'session cookie/peer'), vsCeiling: vs('session bearer/this', 'hello') }),
  measuredRow('a. session check (cookie)', 'this', 'session cookie/this', 'req', { vsPeer: vs('session cookie/this', 'session cookie/peer'), vsCeiling: vs('session cookie/this', 'hello') }),
  measuredRow('a. get-session (cookie)', 'better-auth', 'session cookie/peer', 'req'),
  measuredRow('a. GET / (ceiling)', 'hello', 'hello', 'req'),
  measuredRow('b. email-code round ¹', 'this', 'code/this', 'rounds', { vsPeer: vs('code/this', 'code/peer') }),
  measuredRow('b. email-code round ¹', 'better-auth', 'code/peer', 'rounds'),
  measuredRow('c. passkey round ²', 'this', 'passkey/this', 'rounds', { vsPeer: vs('passkey/this', 'passkey/peer') }),
  measuredRow('c. passkey round ²', 'better-auth', 'passkey/peer', 'rounds'),
  measuredRow('d. websocket-token', 'this', 'websocket-token/this', 'req', { vsCeiling: vs('websocket-token/this', 'es256 sign') }),
  measuredRow('d. ES256 sign (ceiling) ³', 'bench process', 'es256 sign', 'signs', { benchCpu: undefined }),
  { scenario: 'e. start-up, PostgreSQL ⁴', server: 'this', result: seconds(start(startups.thisPostgres)), vsPeer: ratio(start(startups.thisPostgres), start(startups.peerPostgres), '× time'), vsCeiling: ratio(start(startups.thisPostgres), start(startups.hello), '× time') },
  { scenario: 'e. start-up, fresh PGlite ⁴', server: 'this', result: seconds(start(startups.thisPgliteFresh)), vsCeiling: ratio(start(startups.thisPgliteFresh), start(startups.hello), '× time') },
  { scenario: 'e. start-up, PGlite again ⁴', server: 'this', result: seconds(start(startups.thisPgliteAgain)), vsCeiling: ratio(start(startups.thisPgliteAgain), start(startups.hello), '× time') },
  { scenario: 'e. start-up, PostgreSQL ⁴', server: 'better-auth', result: seconds(start(startups.peerPostgres)) },
  { scenario: 'e. start-up ⁴', server: 'hello', result: seconds(start(startups.hello)) },
  { scenario: 'f. peak RSS, whole run (VmHWM)', server: 'this', result: `${peaks.self?.toFixed(0)} MiB`, vsPeer: ratio(peaks.self, peaks.peer), vsCeiling: ratio(peaks.self, peaks.hello) },
  { scenario: 'f. peak RSS, whole run (VmHWM)', server: 'better-auth', result: `${peaks.peer?.toFixed(0)} MiB` },
  { scenario: 'f. peak RSS, whole run (VmHWM)', server: 'hello', result: `${peaks.hello?.toFixed(0)} MiB` },
  measuredRow('f. session check, PGlite ⁵', 'this', 'session bearer/this-pglite', 'req'),
  measuredRow('f. email-code round, PGlite ⁵', 'this', 'code/this-pglite', 'rounds'),
  { scenario: 'f. peak RSS, PGlite (VmHWM) ⁵', server: 'this', result: `${peaks.embedded?.toFixed(0)} MiB` },
];

// What the machine allows a round at most if this server spent no CPU on it: its cores divided by what
// PostgreSQL and the bench process (load generator, SMTP sink) spent per round of this server.
const host = machine();
const cores = host.cpus;
const roundBound = (key: string) => {
  const m = r(key);
  return m.dbCpuMsPerOp === undefined ? undefined : (cores * 1000) / (m.dbCpuMsPerOp + m.benchCpuMsPerOp);
};
const boundLine = (label: string, key: string, peerKey: string) => {
  const bound = roundBound(key);
  return bound === undefined ? `${label}: —` : `${label} ${rate(bound, 'rounds')} (${ratio(bound, r(peerKey).rate)} better-auth)`;
};
// How much of one core the server process used: its JavaScript runs on one thread.
const coresUsed = (key: string) => {
  const m = r(key);
  return m.cpuMsPerOp === undefined ? '—' : `${((m.rate * m.cpuMsPerOp) / 1000).toFixed(2)}`;
};

const notes = `
Rates are per second of a measured run of ${settings.duration} s after ${settings.warmup} s of unmeasured warm-up;
p50/p99 are per request (autocannon, ${settings.connections} connections) or per round (${settings.workers} async workers).
CPU per operation: utime + stime from /proc/<pid>/stat over the run, divided by the operations; "PG CPU" is the
same for the PostgreSQL backends connected to that server's database; "bench CPU" is the bench process's own
(process.cpuUsage: the load generator, the software authenticator, the SMTP sink parsing each mail). Peak RSS per row: VmRSS sampled every
100 ms during that run. this/peer and this/ceiling divide rates (higher is better for this), or times and
memory where marked "× time" or in MiB rows (lower is better for this).

¹ Both servers mail the code through nodemailer with a pool of 3 SMTP connections (this server's setting on Node)
  to the bench's SMTP sink on loopback, which parses each mail (mailparser); neither answer waits for the mail.
  This server's mail has a text and an HTML part; better-auth's (the bench's callback) text only. Each worker signs in to its own
  account over and over (the first round signs it up). This server: \`POST /auth/verify\` + \`POST /auth/sessions\`;
  better-auth: \`POST /email-otp/send-verification-otp\` + \`POST /sign-in/email-otp\`. better-auth stores the code
  in plain text (its default); this server stores an HMAC.
² Software ES256 authenticator in the bench process (attestation "none"), one passkey per worker registered first.
  This server: options + verify + \`POST /auth/sessions\` (3 requests); better-auth: options + verify, which sets
  the session cookie itself (2 requests). Both end with a new session.
³ crypto.subtle.sign (ECDSA P-256, SHA-256) of a JWT-sized input, ${settings.connections} in flight, in the bench process:
  what minting a token costs at least, with no HTTP, no database and no JSON.
⁴ Median of ${settings.starts} start(s), spawn to the first 200 (\`/healthz\`, \`/api/auth/ok\`, \`/\`), each alone on a fresh
  database (PostgreSQL) or a fresh DATA_DIR (PGlite), which includes creating the schema; "PGlite again" is a second
  start on that DATA_DIR. Runs: this ${startups.thisPostgres.map(seconds).join(', ')} / fresh PGlite ${startups.thisPgliteFresh.map(seconds).join(', ')} /
  PGlite again ${startups.thisPgliteAgain.map(seconds).join(', ')} / better-auth ${startups.peerPostgres.map(seconds).join(', ')} / hello ${startups.hello.map(seconds).join(', ')}.
⁵ This server alone on a fresh DATA_DIR (embedded PGlite, in its process), after the other loads: the session
  check by bearer and the email-code round as above, then its peak RSS over its life (start included).

This server writes one JSON log line per request (to a file under bench/out), as it does in production;
better-auth logs only errors. All three servers, PostgreSQL and the load generator share the machine's cores.

Bound of the rounds on this machine: were this server's own CPU zero, its ${cores} cores would still have to run
PostgreSQL and the bench for every round (their CPU per round above), which allows at most: ${boundLine('email-code', 'code/this', 'code/peer')};
${boundLine('passkey', 'passkey/this', 'passkey/peer')}. This server's process used ${coresUsed('code/this')} of a core during its email-code
rounds and ${coresUsed('passkey/this')} during its passkey rounds (better-auth's: ${coresUsed('code/peer')} and ${coresUsed('passkey/peer')}); a process whose JavaScript runs on one
thread is bounded near 1.
`;

const table = markdownTable(rows);
console.log(`\n${table}\n${notes}`);

const versions = {
  this: ['hono', '@hono/node-server', 'drizzle-orm', 'postgres', '@electric-sql/pglite', '@simplewebauthn/server', 'jose', 'zod', 'nodemailer'].map((p) => `${p} ${installedVersion(p)}`),
  peer: ['better-auth', '@better-auth/passkey', '@better-auth/drizzle-adapter', 'hono', '@hono/node-server', 'drizzle-orm', 'postgres', '@simplewebauthn/server'].map(
    (p) => `${p} ${installedVersion(p, peerDir)}`,
  ),
  tools: ['autocannon', 'smtp-server', 'mailparser', 'tsx'].map((p) => `${p} ${installedVersion(p)}`),
};
const generated = `
Measured ${new Date(began).toISOString().replace(/\.\d+Z$/, 'Z')} with \`${settings.quick ? 'BENCH_QUICK=1 ' : ''}npm run bench\` (${((Date.now() - began) / 1000).toFixed(0)} s).

- Machine: ${host.cpus} × ${host.model}, ${host.memoryGib.toFixed(1)} GiB memory (\`nproc\`: ${host.cpus}), shared with other work.
- Node ${process.version}; PostgreSQL ${postgresVersion} on 127.0.0.1 (local, trust auth).
- This server: ${versions.this.join(', ')}.
- better-auth (bench/peer): ${versions.peer.join(', ')}.
- Bench: ${versions.tools.join(', ')}; ${settings.connections} connections, ${settings.workers} workers, ${settings.warmup} s + ${settings.duration} s per run.

${table}
${notes}`;

const preamble = `# Benchmarks

\`npm run bench\` measures this server beside better-auth and a bare Hono hello-world; see
bench/README.md for the method and the knobs.`;
if (settings.quick) {
  mkdirSync(outDir, { recursive: true });
  writeGenerated(join(outDir, 'BENCHMARKS.quick.md'), generated, preamble);
  say('quick mode: figures written to bench/out/BENCHMARKS.quick.md (BENCHMARKS.md is left as it was)');
} else {
  writeGenerated(join(root, 'BENCHMARKS.md'), generated, preamble);
  say('figures written to BENCHMARKS.md');
}
