import type { LogLevel } from '../ports/logger';

/**
 * Log lines for stdout (stderr for errors), gathered during a turn of the event loop and written
 * once at its end: one write per turn instead of one per line (writes to a file or a pipe are
 * synchronous in Node). Whatever is still gathered when the process exits is written then.
 */
export function createBatchedLogWrite(): (line: string, level: LogLevel) => void {
  let out = '';
  let err = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (out) process.stdout.write(out);
    if (err) process.stderr.write(err);
    out = '';
    err = '';
  };
  process.on('exit', flush);
  return (line, level) => {
    if (level === 'error') err += `${line}\n`;
    else out += `${line}\n`;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}
