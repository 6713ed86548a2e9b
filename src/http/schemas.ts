import { z } from 'zod';

/** Trimmed, lower-cased, at most 254 characters. */
export const email = z.string().trim().toLowerCase().max(254).pipe(z.email({ error: 'must be a valid email address' }));

/** `?limit=`: a plain decimal 1–100 (no sign, exponent, hex or spaces), default 50. */
export const pageLimit = z
  .string()
  .regex(/^(100|[1-9][0-9]?)$/, { error: 'must be a whole number from 1 to 100' })
  .transform(Number)
  .default(50);

/**
 * A name shown to other people: 1–64 characters once trimmed, with no control characters (Unicode
 * Cc) and no bidirectional embeddings, overrides or isolates (U+202A–U+202E, U+2066–U+2069), which
 * can make a name display as something else.
 */
export const displayName = z
  .string()
  .regex(/^[^\p{Cc}\u202A-\u202E\u2066-\u2069]*$/u, { error: 'must not contain control or bidirectional formatting characters' })
  .trim()
  .min(1)
  .max(64);
