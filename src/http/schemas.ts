import { z } from 'zod';

/** Trimmed, lower-cased, at most 254 characters. */
export const email = z.string().trim().toLowerCase().max(254).pipe(z.email({ error: 'must be a valid email address' }));
