/** What `npm run bench` and `npm run bench:profile` read from the environment. */

const number = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}: must be a positive number, got "${raw}"`);
  return value;
};

export const quick = process.env.BENCH_QUICK === '1';

export const settings = {
  quick,
  /** Seconds each load scenario is measured, per server. */
  duration: number('BENCH_DURATION', quick ? 3 : 15),
  /** Seconds of the same load before each measurement, not counted (JIT, pools, caches). */
  warmup: number('BENCH_WARMUP', quick ? 1 : 3),
  /** autocannon connections, and requests in flight for the raw signing ceiling. */
  connections: number('BENCH_CONNECTIONS', 64),
  /** Async workers of the multi-step rounds (email code, passkey). */
  workers: number('BENCH_WORKERS', 16),
  /** Cold starts measured per kind of start; the median is reported. */
  starts: number('BENCH_STARTS', quick ? 1 : 3),
  /** Upper bound of operations one loop scenario may run, whatever its duration. */
  maxOps: number('BENCH_MAX_OPS', 1_000_000),
  /** The PostgreSQL the bench creates its fresh databases on (trust auth, a superuser). */
  databaseUrl: process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
};
