// The bench peers' durable writes (--aof): an append-only file whose appends are acknowledged
// once written and fdatasynced, many per sync (group commit). Node's ceiling for a durable
// write, to put kvs's durable writes beside (BENCHMARKS.md):
// - 'pool': the rule kvs's WAL keeps (docs/durability.md): the write(2) and the fdatasync(2) run
//   on libuv's thread pool, one batch in flight, while the event loop goes on reading and
//   answering; whatever is appended meanwhile goes into the next batch;
// - 'loop': the way redis-server `appendfsync always` does it (aof.c: commands appended to a
//   buffer while the event loop reads, then written and fsynced in beforeSleep, before that
//   turn's replies go out): once per event-loop turn, one write and one fdatasync on the event
//   loop thread, after the poll phase has read every ready socket.
// Acknowledgements run in append order, across batches too, so a peer that appends nothing for a
// reply that must wait behind an earlier one (append([], ...)) keeps its connection's order; a
// batch with no bytes syncs nothing.

import { closeSync, fdatasync, fdatasyncSync, openSync, write, writeSync } from 'node:fs';

export type AofSync = 'pool' | 'loop';

interface Batch {
  parts: Buffer[];
  acknowledgements: (() => void)[];
}

export class AppendOnlyFile {
  private readonly fd: number;
  private gathering: Batch = { parts: [], acknowledgements: [] };
  private scheduled = false;
  private inFlight = false;

  constructor(
    path: string,
    private readonly sync: AofSync,
  ) {
    if (sync !== 'pool' && sync !== 'loop') throw new Error(`--aof-sync takes pool or loop, not ${String(sync)}`);
    this.fd = openSync(path, 'a');
  }

  /** Appends `parts` (possibly none); `acknowledge` runs once they are written and synced. */
  append(parts: readonly Buffer[], acknowledge: () => void): void {
    this.gathering.parts.push(...parts);
    this.gathering.acknowledgements.push(acknowledge);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.sync === 'loop') this.flushOnLoop();
      else this.flushInPool();
    });
  }

  close(): void {
    closeSync(this.fd);
  }

  private take(): Batch {
    const batch = this.gathering;
    this.gathering = { parts: [], acknowledgements: [] };
    return batch;
  }

  private flushOnLoop(): void {
    const { parts, acknowledgements } = this.take();
    if (parts.length > 0) {
      const bytes = Buffer.concat(parts);
      let written = 0;
      while (written < bytes.length) written += writeSync(this.fd, bytes, written);
      fdatasyncSync(this.fd);
    }
    for (const acknowledge of acknowledgements) acknowledge();
  }

  private flushInPool(): void {
    if (this.inFlight || this.gathering.acknowledgements.length === 0) return;
    this.inFlight = true;
    const { parts, acknowledgements } = this.take();
    const done = () => {
      for (const acknowledge of acknowledgements) acknowledge();
      this.inFlight = false;
      this.flushInPool();
    };
    if (parts.length === 0) {
      // Only acknowledgements waiting behind the batch before: nothing to write or sync.
      done();
      return;
    }
    const bytes = Buffer.concat(parts);
    const writeFrom = (offset: number): void => {
      if (offset === bytes.length) {
        fdatasync(this.fd, (error) => {
          if (error) fail(error);
          done();
        });
        return;
      }
      write(this.fd, bytes, offset, bytes.length - offset, null, (error, count) => {
        if (error) fail(error);
        writeFrom(offset + count);
      });
    };
    writeFrom(0);
  }
}

/** A bench peer whose file fails stops: its figures would no longer be those of a durable server. */
function fail(error: unknown): never {
  process.stderr.write(`append-only file: ${String(error)}\n`);
  process.exit(1);
}
