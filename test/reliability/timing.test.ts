import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, uniqueEmail, type TestContext } from '../helpers/app';
import { driver } from '../helpers/db';

// POST /auth/verify answers the same whether or not an account exists; its timing should not
// tell either. Timings on a shared machine are noisy, so the difference is measured and printed,
// not asserted; what is asserted is that both kinds get the same answer.
const ROUNDS = 300;
const WARM_UP = 20;

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext();
});
afterAll(() => t.close());

let clients = 0;
const ip = () => ({ 'x-forwarded-for': `198.18.${Math.floor(++clients / 250) % 250}.${clients % 250}` });

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

describe('POST /auth/verify timing', () => {
  it(`answers existing and new emails alike over ${ROUNDS} requests each`, async () => {
    // Accounts that exist: each signed in once (one code used, well within its send limit).
    const existing: string[] = [];
    for (let i = 0; i < ROUNDS + WARM_UP; i++) {
      const email = uniqueEmail('timing-known');
      const code = await t.requestCode(email, ip());
      expect((await t.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: code }, headers: ip() })).status).toBe(201);
      existing.push(email);
    }

    const times = { existing: [] as number[], new: [] as number[] };
    const shapes = new Set<string>();
    const measure = async (kind: keyof typeof times, email: string, keep: boolean) => {
      const started = performance.now();
      const res = await t.request('POST', '/auth/verify', { body: { email }, headers: ip() });
      const ms = performance.now() - started;
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ expiresAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/) });
      shapes.add(`${kind}: ${res.status} ${Object.keys(res.body).join(',')} ${[...res.headers.keys()].filter((h) => h !== 'x-request-id').sort().join(',')}`);
      if (keep) times[kind].push(ms);
    };
    // Interleaved, so that drift in the machine's load touches both alike.
    for (let i = 0; i < ROUNDS + WARM_UP; i++) {
      const keep = i >= WARM_UP;
      if (i % 2) {
        await measure('existing', existing[i]!, keep);
        await measure('new', uniqueEmail('timing-new'), keep);
      } else {
        await measure('new', uniqueEmail('timing-new'), keep);
        await measure('existing', existing[i]!, keep);
      }
    }

    // Same status, same body keys, same headers for both kinds.
    expect(new Set([...shapes].map((s) => s.replace(/^\w+: /, ''))).size).toBe(1);
    const known = median(times.existing);
    const fresh = median(times.new);
    console.log(
      `timing (${driver}): POST /auth/verify median ${known.toFixed(3)} ms for existing emails, ${fresh.toFixed(3)} ms for new ones ` +
        `(difference ${(known - fresh).toFixed(3)} ms over ${ROUNDS} requests each; not asserted)`,
    );
  });
});
