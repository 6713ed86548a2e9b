export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  log(level: LogLevel, msg: string, fields?: LogFields): void;
}

/**
 * One JSON object per line on stdout (stderr for errors), the shape log collectors expect:
 * `time`, `level`, `msg`, then the fields. The line is put together as a string, with no
 * intermediate object per line. `write` gets the line without its newline.
 */
export function createJsonLogger(write: (line: string, level: LogLevel) => void = defaultWrite): Logger {
  // Lines of the same millisecond share one formatted time: a busy server logs several per millisecond.
  let lastMs = Number.NaN;
  let lastTime = '';
  const time = () => {
    const ms = Date.now();
    if (ms !== lastMs) {
      lastMs = ms;
      lastTime = new Date(ms).toISOString();
    }
    return lastTime;
  };
  return {
    log(level, msg, fields) {
      const head = `{"time":"${time()}","level":"${level}","msg":${JSON.stringify(msg)}`;
      const rest = fields === undefined ? '{}' : JSON.stringify(fields);
      write(rest === '{}' ? `${head}}` : `${head},${rest.slice(1)}`, level);
    },
  };
}

function defaultWrite(line: string, level: LogLevel): void {
  if (level === 'error') console.error(line);
  else console.log(line);
}

export const silentLogger: Logger = { log() {} };
