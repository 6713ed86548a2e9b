export interface Random {
  /** `n` bytes from a cryptographically secure source. */
  bytes(n: number): Uint8Array;
}

export const cryptoRandom: Random = {
  bytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
};
