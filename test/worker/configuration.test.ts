import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';

// A second worker was started by the global setup with no AUTH_SECRET at all (and no .dev.vars).
const url = inject('misconfiguredWorkerUrl');

describe('a worker without AUTH_SECRET', () => {
  it('answers every request with a 500 error naming the variable, and logs it', async () => {
    for (const [method, path, body] of [
      ['GET', '/auth/sessions', undefined],
      ['POST', '/auth/verify', JSON.stringify({ email: 'a@example.com' })],
      ['GET', '/nope', undefined],
    ] as const) {
      const res = await fetch(new URL(path, url), { method, body, headers: body ? { 'content-type': 'application/json' } : {} });
      expect(res.status).toBe(500);
      const json = (await res.json()) as { error: { code: string; message: string } };
      expect(json.error.code).toBe('internal_error');
      expect(json.error.message).toMatch(/AUTH_SECRET/);
      expect(json.error.message).toMatch(/wrangler secret put AUTH_SECRET/);
    }
    const log = readFileSync(inject('misconfiguredWorkerLog'), 'utf8');
    expect(log).toMatch(/"level":"error","msg":"configuration error","variable":"AUTH_SECRET"/);
  });
});
