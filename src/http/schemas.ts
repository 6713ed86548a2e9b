import { z } from 'zod';

/** Trimmed, lower-cased, at most 254 characters. */
export const email = z.string().trim().toLowerCase().max(254).pipe(z.email({ error: 'must be a valid email address' }));

/** `?limit=`: a plain decimal 1–100 (no sign, exponent, hex or spaces), default 50. */
export const pageLimit = z
  .string()
  .regex(/^(100|[1-9][0-9]?)$/, { error: 'must be a whole number from 1 to 100' })
  .transform(Number)
  .default(50);
