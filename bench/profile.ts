/**
 * `npm run bench:profile -- <scenario>`: one scenario of `npm run bench` against this server
 * alone, started with `--cpu-prof`, its PostgreSQL traffic going through a counting proxy.
 * Prints the top self-time functions of the measured window and the SQL statements and round
 * trips per request, as seen on the wire.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SoftAuthenticator } from '../test/helpers/webauthn';
import { observeCalls, thisServerClient, type AuthClient } from './lib/clients';
import { summariseProfile } from './lib/cpuprofile';
import { createDatabases } from './lib/databases';
import { outDir, root } from './lib/processes';
import { addCounts, diffCounts, startPgProxy, type WireCounts } from './lib/pg-wire-proxy';
import { codeRounds, passkeyRounds, thisSessionCheck, websocketTokenLoad, type Load } from './lib/scenarios';
import { startThisServer } from './lib/servers';
import { settings } from './lib/settings';
import { startSmtpSink } from './lib/smtp-sink';

/** Each scenario: its load, and how many HTTP requests one operation of it makes. */
const scenarios = {
  'session-bearer': { requests: 1, what: 'GET /auth/sessions/current, bearer token' },
  'session-cookie': { requests: 1, what: 'GET /auth/sessions/current, session cookie' },
  code: { requests: 2, what: 'email-code round: POST /auth/verify + POST /auth/sessions' },
  passkey: { requests: 3, what: 'passkey round: authenticate/options + authenticate/verify + POST /auth/sessions' },
  'websocket-token': { requests: 1, what: 'POST /v1/identity/websocket-token, session token' },
} as const;
type ScenarioName = keyof typeof scenarios;

const name = process.argv[2] as ScenarioName | undefined;
if (!name || !(name in scenarios)) {
  console.error(`usage: npm run bench:profile -- <scenario>\n\nscenarios:\n${Object.entries(scenarios).map(([n, s]) => `  ${n.padEnd(16)} ${s.what}`).join('\n')}`);
  process.exit(2);
}
const scenario = scenarios[name];
const shape = { connections: settings.connections, workers: settings.workers, maxOps: settings.maxOps };
const top = Number(process.env.BENCH_PROFILE_TOP ?? 25);

const databases = createDatabases(settings.databaseUrl);
const db = await databases.create('bench_profile');
const target = new URL(settings.databaseUrl);
const proxy = await startPgProxy({ host: target.hostname, port: Number(target.port || 5432) });
const sink = await startSmtpSink();
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
// A folder per run: node writes one profile per thread (the module loader of tsx runs in one of
// its own), named CPU.<date>.<time>.<pid>.<thread id>.<n>.cpuprofile.
const profileDir = join(outDir, `profile-${name}-${stamp}`);
const server = await startThisServer({
  databaseUrl: proxy.through(db.url),
  smtpUrl: sink.url,
  nodeFlags: ['--cpu-prof', '--cpu-prof-dir', profileDir],
  log: `profile-${name}`,
});

let window: { fromUs: number; toUs: number } | undefined;
let ops = 0;
let seconds = 0;
let wire: WireCounts | undefined;
let steps: Map<string, { requests: number; counts: WireCounts }> | undefined;

/**
 * The SQL of each request of a round: a few rounds one after another, nothing else in flight,
 * the proxy's counts taken before and after each request.
 */
async function countSteps(client: AuthClient, scenario: 'code' | 'passkey') {
  const rounds = Number(process.env.BENCH_PROFILE_ROUNDS ?? 20);
  const authenticator = new SoftAuthenticator(client.origin);
  if (scenario === 'passkey') await client.registerPasskey(await client.signInWithCode('steps@bench.example.com'), authenticator);
  const byStep = new Map<string, { requests: number; counts: WireCounts }>();
  let mark = proxy.snapshot();
  observeCalls({
    before: () => void (mark = proxy.snapshot()),
    after: (step) => {
      const counts = diffCounts(proxy.snapshot(), mark);
      const entry = byStep.get(step);
      byStep.set(step, entry ? { requests: entry.requests + 1, counts: addCounts(entry.counts, counts) } : { requests: 1, counts });
    },
  });
  try {
    for (let i = 0; i < rounds; i++) {
      if (scenario === 'code') await client.signInWithCode('steps@bench.example.com');
      else await client.signInWithPasskey(authenticator);
    }
  } finally {
    observeCalls(undefined);
  }
  return byStep;
}
try {
  const client = thisServerClient(server.url, server.origin, (email) => sink.nextCode(email));
  const session = await client.signInWithCode('profile@bench.example.com');
  const loads: Record<ScenarioName, () => Promise<Load>> = {
    'session-bearer': async () => thisSessionCheck(server.url, session, 'bearer', shape),
    'session-cookie': async () => thisSessionCheck(server.url, session, 'cookie', shape),
    code: async () => codeRounds(client, shape, 'profile'),
    passkey: () => passkeyRounds(client, shape, 'profile'),
    'websocket-token': async () => websocketTokenLoad(server.url, session, shape),
  };
  const load = await loads[name]();
  console.log(`[profile] ${name}: ${scenario.what}; ${settings.warmup} s warm-up, then ${settings.duration} s measured`);
  await load.run(settings.warmup);
  const before = proxy.snapshot();
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  const result = await load.run(settings.duration);
  window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
  wire = diffCounts(proxy.snapshot(), before);
  ops = result.ops;
  seconds = result.seconds;
  console.log(`[profile] ${ops} operations in ${seconds.toFixed(1)} s (${(ops / seconds).toFixed(1)}/s), p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms`);
  if (name === 'code' || name === 'passkey') steps = await countSteps(client, name);
} finally {
  // The profile is written when the process exits.
  await server.stop();
  await sink.close();
  await proxy.close();
  await databases.dropAll();
}

// The main thread's id is 0.
const mainProfile = existsSync(profileDir) ? readdirSync(profileDir).find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f)) : undefined;
if (!mainProfile) throw new Error(`no CPU profile of the main thread in ${profileDir}`);
const file = join(profileDir, mainProfile);
const summary = summariseProfile(file, root, window);
const pct = (share: number) => `${(share * 100).toFixed(1).padStart(5)}%`;
console.log(`\nCPU profile: ${file.slice(root.length)}`);
console.log(`${summary.windowed ? 'measured window only' : 'whole process (the window could not be placed on the profile clock)'}: ${summary.totalMs.toFixed(0)} ms of samples (idle left out), ${(summary.totalMs / ops).toFixed(3)} ms per operation\n`);
console.log(`top ${top} functions by self time:`);
for (const f of summary.functions.slice(0, top)) console.log(`  ${pct(f.share)} ${f.ms.toFixed(0).padStart(7)} ms  ${f.name}  ${f.where}`);
console.log('\nself time by package:');
for (const p of summary.packages.slice(0, 15)) console.log(`  ${pct(p.share)} ${p.ms.toFixed(0).padStart(7)} ms  ${p.name}`);
console.log('\ntime with the package on the stack (it and what it calls; shares overlap; GC and idle have no stack):');
for (const p of summary.inclusive.filter((p) => p.name !== 'node (core)').slice(0, 15)) console.log(`  ${pct(p.share)} ${p.ms.toFixed(0).padStart(7)} ms  ${p.name}`);

if (wire) {
  const perOp = (n: number) => (n / ops).toFixed(2);
  const perRequest = (n: number) => (n / ops / scenario.requests).toFixed(2);
  console.log(`\nPostgreSQL wire, measured window (${ops} operations of ${scenario.requests} request(s) each):`);
  console.log(`  ${'per operation'.padStart(28)} ${'per request'.padStart(12)}`);
  const line = (label: string, n: number) => console.log(`  ${label.padEnd(16)} ${perOp(n).padStart(12)} ${perRequest(n).padStart(12)}`);
  line('statements', wire.statements);
  line('round trips', wire.roundTrips);
  const names: Record<string, string> = { Q: 'Query', P: 'Parse', B: 'Bind', E: 'Execute', D: 'Describe', S: 'Sync', H: 'Flush', C: 'Close', X: 'Terminate' };
  for (const [type, n] of Object.entries(wire.messages).sort()) line(`  ${type} ${names[type] ?? ''}`.trimEnd(), n);
  line('bytes to PG', wire.bytesToServer);
  line('bytes from PG', wire.bytesFromServer);
  console.log(`  connections opened during the window: ${wire.connections}`);
}

if (steps) {
  console.log('\nper request, rounds run one at a time (nothing else in flight):');
  console.log(`  ${'request'.padEnd(44)} ${'statements'.padStart(10)} ${'round trips'.padStart(11)}  messages`);
  for (const [step, { requests, counts }] of steps) {
    const messages = Object.entries(counts.messages)
      .sort()
      .map(([type, n]) => `${type} ${(n / requests).toFixed(1)}`)
      .join(', ');
    console.log(`  ${step.padEnd(44)} ${(counts.statements / requests).toFixed(2).padStart(10)} ${(counts.roundTrips / requests).toFixed(2).padStart(11)}  ${messages}`);
  }
}
