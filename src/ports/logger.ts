export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  log(level: LogLevel, msg: string, fields?: LogFields): void;
}

/** One JSON object per line on stdout (stderr for errors), the shape log collectors expect. */
export function createJsonLogger(write: (line: string, level: LogLevel) => void = defaultWrite): Logger {
  return {
    log(level, msg, fields) {
      write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }), level);
    },
  };
}

function defaultWrite(line: string, level: LogLevel): void {
  if (level === 'error') console.error(line);
  else console.log(line);
}

export const silentLogger: Logger = { log() {} };
