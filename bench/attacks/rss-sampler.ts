// Samples a process's resident memory (VmRSS in /proc/PID/status) every 50 ms, keeps the peak of
// the current phase, and kills the process group when it passes a cap: the machine is shared,
// and an attack that makes the server grow without bound must not take the machine down with it.

import { readFileSync } from 'node:fs';

const INTERVAL_MS = 50;

export interface RssFigures {
  /** MiB at the start of the phase, the sampled peak, and the kernel's own high-water mark (VmHWM, whole life). */
  readonly startMiB: number;
  readonly peakMiB: number;
  readonly hwmMiB: number;
  readonly samples: number;
  /** Longest gap between two samples (the harness's own event loop may lag). */
  readonly maxGapMs: number;
}

function readStatusKiB(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(text);
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(text);
    if (rss === null) return undefined;
    return { rss: Number(rss[1]), hwm: Number(hwm?.[1] ?? rss[1]) };
  } catch {
    return undefined;
  }
}

export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private startKiB = 0;
  private peakKiB = 0;
  private hwmKiB = 0;
  private samples = 0;
  private lastSampleAt = 0;
  private maxGapMs = 0;
  /** Set when the cap was passed and the process was killed. */
  cappedAtMiB: number | undefined;
  /** The phase label when the cap was passed. */
  cappedIn = '';
  /** Label of the current phase, for cappedIn. */
  phase = 'start';

  constructor(
    private readonly pid: number,
    private readonly capMiB: number,
    private readonly onCap: () => void,
  ) {}

  start(): void {
    this.newPhase();
    this.timer = setInterval(() => this.sample(), INTERVAL_MS);
  }

  /** Starts a new phase: the peak restarts from the current reading. */
  newPhase(label = this.phase): void {
    this.phase = label;
    const now = readStatusKiB(this.pid);
    this.startKiB = now?.rss ?? 0;
    this.peakKiB = this.startKiB;
    this.samples = 0;
    this.maxGapMs = 0;
    this.lastSampleAt = performance.now();
  }

  private sample(): void {
    const now = performance.now();
    this.maxGapMs = Math.max(this.maxGapMs, now - this.lastSampleAt);
    this.lastSampleAt = now;
    const reading = readStatusKiB(this.pid);
    if (reading === undefined) return;
    this.samples++;
    this.peakKiB = Math.max(this.peakKiB, reading.rss);
    this.hwmKiB = Math.max(this.hwmKiB, reading.hwm);
    if (this.cappedAtMiB === undefined && reading.rss > this.capMiB * 1024) {
      this.cappedAtMiB = reading.rss / 1024;
      this.cappedIn = this.phase;
      this.onCap();
    }
  }

  figures(): RssFigures {
    const reading = readStatusKiB(this.pid);
    if (reading !== undefined) {
      this.peakKiB = Math.max(this.peakKiB, reading.rss);
      this.hwmKiB = Math.max(this.hwmKiB, reading.hwm);
    }
    return {
      startMiB: this.startKiB / 1024,
      peakMiB: this.peakKiB / 1024,
      hwmMiB: this.hwmKiB / 1024,
      samples: this.samples,
      maxGapMs: this.maxGapMs,
    };
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
