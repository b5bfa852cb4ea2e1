// Opt-in measurement for the stall benchmark (bench/suites/stall.ts): with
// KVS_EVENT_LOOP_DELAY_REPORT=1 in its environment, the server samples its event loop's delay
// (perf_hooks.monitorEventLoopDelay) and, on each SIGUSR2, writes one line to stderr with what
// it saw since the previous one, then starts afresh:
//   kvs event-loop delay: max 12.3 ms, p99 4.1 ms, mean 1.2 ms
// Not a metrics system (that is /metrics): one number a harness can read per phase of a run.

import { monitorEventLoopDelay } from 'node:perf_hooks';

export const EVENT_LOOP_DELAY_REPORT_ENV = 'KVS_EVENT_LOOP_DELAY_REPORT';

/** Sampling interval, ms: a stall shorter than this may be missed; longer ones are measured whole. */
const RESOLUTION_MS = 5;

export function startEventLoopDelayReport(): void {
  if (process.env[EVENT_LOOP_DELAY_REPORT_ENV] !== '1') return;
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  const ms = (nanoseconds: number) => (nanoseconds / 1e6).toFixed(1);
  process.on('SIGUSR2', () => {
    const line =
      histogram.count === 0
        ? 'kvs event-loop delay: no samples\n'
        : `kvs event-loop delay: max ${ms(histogram.max)} ms, p99 ${ms(histogram.percentile(99))} ms, mean ${ms(histogram.mean)} ms\n`;
    process.stderr.write(line);
    histogram.reset();
  });
}
