import { describe, expect, it } from 'vitest';
import { openPglite } from '../src/db/pglite';

describe('the embedded database', () => {
  it('runs with a 32 MB buffer cache: the default 128 MB would all be resident in the server process', async () => {
    const { client, close } = await openPglite();
    try {
      const { rows } = await client.query<{ shared_buffers: string }>('show shared_buffers');
      expect(rows[0]?.shared_buffers).toBe('32MB');
    } finally {
      await close();
    }
  }, 60_000);
});
