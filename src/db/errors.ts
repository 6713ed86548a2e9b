/**
 * The constraint a unique violation (SQLSTATE 23505) broke, or null for any other error.
 * Drizzle wraps driver errors, so the driver's error is looked for along `cause`; postgres.js
 * names the constraint `constraint_name`, PGlite `constraint`.
 */
export function violatedUniqueConstraint(error: unknown): string | null {
  for (let e = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, constraint_name, constraint } = e as { code?: unknown; constraint_name?: unknown; constraint?: unknown };
    if (code === '23505') return String(constraint_name ?? constraint ?? '');
  }
  return null;
}

/**
 * True for a foreign-key violation (SQLSTATE 23503): a row referenced what a concurrent statement
 * had just deleted (a session signed out while a code or token for it was being stored).
 */
export function isForeignKeyViolation(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === '23503') return true;
  }
  return false;
}

/** True when PostgreSQL chose this transaction to break a deadlock (SQLSTATE 40P01); it was rolled back. */
export function isDeadlock(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === '40P01') return true;
  }
  return false;
}
