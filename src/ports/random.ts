export interface Random {
  /** `n` bytes from a cryptographically secure source. */
  bytes(n: number): Uint8Array;
}

export const cryptoRandom: Random = {
  bytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
};

/**
 * The bytes of `source`, drawn `poolBytes` at a time: one call into the system's generator for
 * many ids and tokens instead of one each (on Node each call is a trip into C++ that costs more
 * than the bytes; a request id and a session id are a few bytes). Bytes handed out are wiped
 * from the pool, so a token already given cannot be read back from it. Node's own
 * `crypto.randomUUID` buffers its randomness the same way.
 */
export function createPooledRandom(source: Random = cryptoRandom, poolBytes = 4096): Random {
  let pool: Uint8Array = new Uint8Array(0);
  let offset = 0;
  return {
    bytes(n) {
      if (n > poolBytes / 4) return source.bytes(n);
      if (offset + n > pool.length) {
        pool = source.bytes(poolBytes);
        offset = 0;
      }
      const out = pool.slice(offset, offset + n);
      pool.fill(0, offset, offset + n);
      offset += n;
      return out;
    },
  };
}
