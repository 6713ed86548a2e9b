import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second, the unit of utime and stime in /proc/<pid>/stat. */
const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) a process has used so far, in milliseconds; undefined once it is gone. */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

function statusKib(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return line ? Number(line[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Resident memory now, MiB. */
export const rssMib = (pid: number): number | undefined => mib(statusKib(pid, 'VmRSS'));
/** The process's peak resident memory since it started (VmHWM), MiB. */
export const peakRssMib = (pid: number): number | undefined => mib(statusKib(pid, 'VmHWM'));
const mib = (kib: number | undefined) => (kib === undefined ? undefined : kib / 1024);

/** Samples a process's resident memory every 100 ms until stopped; returns the highest seen. */
export function sampleRss(pid: number): { stop(): number | undefined } {
  let peak: number | undefined;
  const take = () => {
    const now = rssMib(pid);
    if (now !== undefined && (peak === undefined || now > peak)) peak = now;
  };
  take();
  const timer = setInterval(take, 100);
  return {
    stop() {
      clearInterval(timer);
      take();
      return peak;
    },
  };
}
