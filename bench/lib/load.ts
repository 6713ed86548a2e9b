import autocannon from 'autocannon';

/** What one load scenario measured: operations done, over how long, and their latency. */
export interface Throughput {
  ops: number;
  seconds: number;
  /** Operations per second. */
  rate: number;
  p50: number;
  p99: number;
}

export interface HttpLoad {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Checks every answer's body; a false aborts the run. */
  verify(body: string): boolean;
}

/**
 * autocannon against one URL for `seconds` with `connections` connections. Any non-2xx answer,
 * socket error, timeout or body that fails `verify` stops the load and throws: the figures are
 * never those of error pages.
 */
export async function httpLoad(load: HttpLoad, connections: number, seconds: number): Promise<Throughput> {
  let failure: string | undefined;
  const instance = autocannon({
    url: load.url,
    method: load.method ?? 'GET',
    headers: load.headers,
    body: load.body,
    connections,
    duration: seconds,
    verifyBody: (body: string) => {
      if (failure === undefined && !load.verify(body)) {
        failure = `unexpected body: ${body.slice(0, 300)}`;
        instance.stop();
      }
      return true;
    },
  });
  instance.on('response', (_client: unknown, statusCode: number) => {
    if (failure === undefined && (statusCode < 200 || statusCode > 299)) {
      failure = `answered ${statusCode}`;
      instance.stop();
    }
  });
  const result = await instance;
  if (failure !== undefined) throw new Error(`${load.method ?? 'GET'} ${load.url}: ${failure}`);
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) {
    throw new Error(`${load.method ?? 'GET'} ${load.url}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`);
  }
  return {
    ops: result.requests.total,
    seconds: result.duration,
    rate: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

/**
 * `workers` async loops, each running `round(worker)` back to back until `seconds` have passed
 * (or `maxOps` rounds were started in all). A failed round stops every loop and throws.
 */
export async function loopLoad(
  workers: number,
  seconds: number,
  maxOps: number,
  round: (worker: number) => Promise<void>,
): Promise<Throughput> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let startedOps = 0;
  let failure: unknown;
  const loop = async (worker: number) => {
    while (failure === undefined && performance.now() < deadline && startedOps < maxOps) {
      startedOps++;
      const t0 = performance.now();
      try {
        await round(worker);
      } catch (error) {
        failure ??= error;
        return;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, worker) => loop(worker)));
  if (failure !== undefined) throw failure;
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { ops: latencies.length, seconds: elapsed, rate: latencies.length / elapsed, p50: at(0.5), p99: at(0.99) };
}
