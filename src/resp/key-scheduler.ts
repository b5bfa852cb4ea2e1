// Orders read-modify-write work on keys inside this process, and combines it.
//
// Optimistic commits alone livelock under contention: 50 clients INCRementing one key all read
// the same value, one commit wins, 49 retry, and so on (redis-benchmark -t incr stopped with
// "too much contention" before this scheduler existed). Here every job names its keys and waits
// until no running job holds any of them, in submission order per key. Jobs on one single key
// that are waiting together run as one batch: one read, all jobs applied in order to the same
// KeyView, one commit. 50 concurrent INCRs then cost one read and one durable commit.
//
// Writers outside this process (HTTP, other workers) are still handled by the commit conditions:
// a batch whose keys changed between read and commit runs again.

export interface ScheduledJob {
  /** Distinct keys the job reads or writes. */
  readonly keys: readonly string[];
  /** May share a batch with the other combinable jobs waiting for the same single key. */
  readonly combinable: boolean;
}

export class KeyScheduler<Job extends ScheduledJob> {
  /** Waiting jobs per key, in submission order (a job waits in the queue of each of its keys). */
  private readonly queues = new Map<string, Job[]>();
  private readonly busy = new Set<string>();
  private kickScheduled = false;

  /** @param execute runs a batch (jobs in order); the keys are released when it settles. */
  constructor(private readonly execute: (batch: Job[]) => Promise<void>) {}

  submit(job: Job): void {
    for (const key of job.keys) {
      const queue = this.queues.get(key);
      if (queue) queue.push(job);
      else this.queues.set(key, [job]);
    }
    // Start on the next turn, so jobs submitted by every connection in this turn batch together.
    if (!this.kickScheduled) {
      this.kickScheduled = true;
      setImmediate(() => {
        this.kickScheduled = false;
        this.kick();
      });
    }
  }

  /** Keys currently held by a running batch. */
  isBusy(key: string): boolean {
    return this.busy.has(key) || this.queues.has(key);
  }

  private kick(): void {
    for (const [key, queue] of this.queues) {
      if (this.busy.has(key)) continue;
      const head = queue[0]!;
      if (head.combinable) {
        let count = 1;
        while (count < queue.length && queue[count]!.combinable) count++;
        const batch = queue.splice(0, count);
        if (queue.length === 0) this.queues.delete(key);
        this.start([key], batch);
      } else if (head.keys.every((other) => !this.busy.has(other) && this.queues.get(other)?.[0] === head)) {
        for (const other of head.keys) {
          const otherQueue = this.queues.get(other)!;
          otherQueue.shift();
          if (otherQueue.length === 0) this.queues.delete(other);
        }
        this.start(head.keys, [head]);
      }
    }
  }

  private start(keys: readonly string[], batch: Job[]): void {
    for (const key of keys) this.busy.add(key);
    const release = () => {
      for (const key of keys) this.busy.delete(key);
      // Whatever queued meanwhile runs now, as the next batch.
      this.kick();
    };
    this.execute(batch).then(release, release);
  }
}
