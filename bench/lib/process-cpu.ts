// A process's CPU time so far, from Linux's /proc: what the benches divide by the requests a
// server answered, a steadier figure than throughput on a shared 2-core machine.

import { readFileSync } from 'node:fs';

/** USER_HZ, 100 on every Linux build this runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU time of `pid` and all its threads so far, ms (NaN when /proc cannot tell). */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}
