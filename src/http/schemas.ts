import { z } from 'zod';

/** Trimmed, lower-cased, at most 254 characters. */
export const email = z.string().trim().toLowerCase().max(254).pipe(z.email({ error: 'must be a valid email address' }));

/** `?limit=`: 1–100, default 50. */
export const pageLimit = z.coerce.number().int().min(1).max(100).default(50);
