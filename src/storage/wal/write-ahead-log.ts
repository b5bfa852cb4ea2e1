// The write-ahead log: segment files of checksummed records in one directory, appended with group
// commit and released once a checkpoint covers them. Design, format and failure rules: docs/wal.md.
//
// Group commit: append() only encodes the record and queues it. One flush at a time writes every
// queued record with one write and one fdatasync (both on libuv's thread pool), then resolves all
// of their promises; records appended meanwhile wait for the next flush. The first flush after an
// idle period starts on setImmediate, so every request that arrived in the same turn of the event
// loop joins it, which is what Redis does with its beforeSleep fsync under `appendfsync always`.
//
// Preallocation: when a flush leaves less than PREALLOCATE_LOW_WATER_BYTES of zeros past its
// records, it also writes zeros up to `preallocateBytes` past them, before its one fdatasync. The
// next flushes then overwrite blocks the file already has, so their fdatasync writes the data and
// flushes the disk cache, without an ext4 journal commit for a new file size (PostgreSQL
// zero-fills its WAL segments for the same reason; docs/wal.md, "Preallocation", has the
// measurement). A zero tail carries no record: recovery reads it as the
// end of the segment (wal-scan.ts).

import { join } from 'node:path';
import {
  encodeRecordInto,
  encodeSegmentHeader,
  recordSize,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
} from './wal-format.js';
import { nodeWalFiles, type WalFiles } from './wal-files.js';
import { readWal } from './wal-read.js';
import type { WalRecord } from './wal-scan.js';

export interface WalOptions {
  /** A segment is closed and a new one started once it holds this many bytes (default 8 MiB). */
  readonly segmentBytes?: number;
  /** Revision the checkpointed index already holds: recovery returns only records after it. */
  readonly checkpoint: number;
  readonly files?: WalFiles;
  /** Zeros kept ahead of the records (see the header); 0 turns preallocation off. Default 4 MiB. */
  readonly preallocateBytes?: number;
  /**
   * false: acknowledge a batch once it is written, without fdatasync (kvs's `--durability relaxed`;
   * a crash of the process loses nothing, a power loss loses what the kernel had not written).
   * It is also the negative control of the power-loss test. Default true.
   */
  readonly sync?: boolean;
}

export interface WalStats {
  readonly records: number;
  /** Flushes, each one write plus one fdatasync. records / flushes is the group-commit factor. */
  readonly flushes: number;
  readonly bytes: number;
  readonly segments: number;
}

export type WalErrorCode = 'wal_damaged' | 'wal_write_failed' | 'wal_sync_failed' | 'wal_closed';

/** A WAL failure; `code` says which, `segment` and `offset` locate damage found at start-up. */
export class WalError extends Error {
  constructor(
    readonly code: WalErrorCode,
    message: string,
    readonly segment?: string,
    readonly offset?: number,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'WalError';
  }
}

interface Segment {
  readonly name: string;
  readonly firstRevision: number;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * The default segment size. A start-up reads every segment lmdb's checkpoint has not released:
 * the current one and, while lmdb is behind, the one before; with UNAPPLIED_BYTES_MAX (8 MiB)
 * that is at most about 16 MiB to read and check. Each new segment costs one file creation and
 * two syncs: at 10,000 commits/s of 500 bytes, one every 1.7 seconds.
 */
export const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;
/** Zeros written past the records at a time (the default), and the least left before the next extension. */
export const PREALLOCATE_STEP_BYTES = 4 * 1024 * 1024;
export const PREALLOCATE_LOW_WATER_BYTES = 1024 * 1024;
/** Never written to: the source of every zero extension. */
let zeros: Buffer | undefined;

export class WriteAheadLog {
  private readonly segments: Segment[];
  private fd: number | undefined;
  /** Bytes of the current segment that are written and synced. */
  private position: number;
  /** The current segment's length: records up to `position`, synced zeros after them. */
  private allocated: number;
  /** Cleared when a zero extension fails (a full disk), until the next segment. */
  private preallocating = true;
  private readonly preallocateBytes: number;
  private next: number;
  private durable: number;
  private queued: Buffer[] = [];
  private waiters: Waiter[] = [];
  private flushing = false;
  private failure: WalError | undefined;
  private closed = false;
  private counts = { records: 0, flushes: 0, bytes: 0 };

  private constructor(
    private readonly directory: string,
    private readonly segmentBytes: number,
    private readonly files: WalFiles,
    private readonly sync: boolean,
    preallocateBytes: number,
    segments: Segment[],
    fd: number | undefined,
    position: number,
    allocated: number,
    lastRevision: number,
  ) {
    this.segments = segments;
    this.fd = fd;
    this.position = position;
    this.allocated = allocated;
    this.preallocateBytes = sync ? Math.min(preallocateBytes, PREALLOCATE_STEP_BYTES) : 0;
    this.next = lastRevision + 1;
    this.durable = lastRevision;
  }

  /**
   * Opens the log in `directory` (creating it), recovers it and returns the records after
   * `options.checkpoint`, in revision order, for the caller to replay. A torn tail of the newest
   * segment is cut off; damage anywhere else is a WalError 'wal_damaged' naming segment and offset.
   */
  static async open(
    directory: string,
    options: WalOptions,
  ): Promise<{ readonly wal: WriteAheadLog; readonly replay: WalRecord[] }> {
    const files = options.files ?? nodeWalFiles;
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (await files.makeDirectory(directory)) await files.syncDirectory(join(directory, '..'));
    const reading = await readWal(directory, { checkpoint: options.checkpoint, files });
    const damage = reading.damage[0];
    if (damage !== undefined) throw new WalError('wal_damaged', damage.message, damage.segment, damage.offset);
    const { replay, tailEnd, tailSize, tail } = reading;
    const segments: Segment[] = [...reading.segments];
    const walLast = reading.lastRevision;

    // The newest segment: drop it if it holds no record (it was being created, or its only
    // records were torn), cut a torn tail off, and append after its last good record.
    let fd: number | undefined;
    let position = 0;
    let allocated = 0;
    const newest = segments.at(-1);
    if (newest !== undefined && walLast < options.checkpoint) {
      // The index is ahead of every record (segments were removed by hand): all of them are
      // covered, and appending after the newest would leave a gap, so they all go.
      for (const segment of segments) await files.remove(join(directory, segment.name));
      await files.syncDirectory(directory);
      segments.length = 0;
    } else if (newest !== undefined) {
      const path = join(directory, newest.name);
      if (tailEnd <= SEGMENT_HEADER_BYTES) {
        await files.remove(path);
        await files.syncDirectory(directory);
        segments.pop();
      } else {
        fd = await files.openForAppend(path);
        // A torn tail is cut; zeros after the last record (preallocated) stay to be overwritten.
        if (tail.kind === 'torn') {
          await files.truncate(fd, tailEnd);
          await files.datasync(fd);
        }
        position = tailEnd;
        allocated = tail.kind === 'torn' ? tailEnd : tailSize;
      }
    }
    const sync = options.sync ?? true;
    const wal = new WriteAheadLog(
      directory,
      segmentBytes,
      files,
      sync,
      options.preallocateBytes ?? PREALLOCATE_STEP_BYTES,
      segments,
      fd,
      position,
      allocated,
      Math.max(options.checkpoint, walLast),
    );
    return { wal, replay };
  }

  /** The revision the next append must carry. */
  get nextRevision(): number {
    return this.next;
  }

  /** The highest revision whose record is written and synced. */
  get durableRevision(): number {
    return this.durable;
  }

  get stats(): WalStats {
    return { ...this.counts, segments: this.segments.length };
  }

  /**
   * Queues the record of `revision` (which must be `nextRevision`) and resolves once it is synced.
   * If the flush that carries it fails, it and every record queued after it are rejected and
   * `nextRevision` goes back to the revision after the last durable one.
   */
  append(revision: number, payload: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new WalError('wal_closed', 'the WAL is closed'));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (revision !== this.next) throw new RangeError(`WAL append of revision ${revision}, expected ${this.next}`);
    const frame = Buffer.allocUnsafe(recordSize(payload.length));
    encodeRecordInto(frame, 0, revision, payload);
    this.next = revision + 1;
    this.queued.push(frame);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => void this.flushLoop());
    }
    return done;
  }

  /**
   * Deletes every segment whose records are all at or below `revision` (the checkpointed index
   * holds them), except the segment being written. Returns how many were deleted.
   */
  async releaseThrough(revision: number): Promise<number> {
    let released = 0;
    while (this.segments.length > 1 && this.segments[1]!.firstRevision - 1 <= revision) {
      const oldest = this.segments[0]!;
      await this.files.remove(join(this.directory, oldest.name));
      this.segments.shift();
      released++;
    }
    if (released > 0) await this.files.syncDirectory(this.directory);
    return released;
  }

  /** Waits for queued records, then closes the segment file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await new Promise((resolve) => setImmediate(resolve));
    if (this.fd !== undefined) await this.files.close(this.fd);
    this.fd = undefined;
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queued.length > 0 && this.failure === undefined) await this.flushOnce();
    } finally {
      this.flushing = false;
    }
  }

  private async flushOnce(): Promise<void> {
    const frames = this.queued;
    const waiters = this.waiters;
    const firstRevision = this.durable + 1;
    const lastRevision = firstRevision + waiters.length - 1;
    this.queued = [];
    this.waiters = [];
    const batch = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
    try {
      if (this.fd === undefined || this.position >= this.segmentBytes) {
        await this.writeNewSegment(firstRevision, batch);
      } else {
        await this.writeAndSync(batch);
      }
    } catch (error) {
      this.rejectFrom(waiters, error as WalError);
      return;
    }
    this.durable = lastRevision;
    this.counts.records += waiters.length;
    this.counts.flushes++;
    this.counts.bytes += batch.length;
    for (const waiter of waiters) waiter.resolve();
  }

  /** Appends `batch` to the current segment and syncs it. */
  private async writeAndSync(batch: Buffer): Promise<void> {
    const fd = this.fd!;
    try {
      await this.files.writeAll(fd, batch, this.position);
    } catch (error) {
      // Nothing of this batch was acknowledged: cut what was written of it, and the log goes on
      // once the cause (a full disk) is gone. If even the cut fails, the file is in an unknown
      // state and the log stops.
      try {
        await this.files.truncate(fd, this.position);
      } catch (truncateError) {
        throw this.fail('wal_write_failed', 'WAL write failed and could not be undone', truncateError);
      }
      throw new WalError('wal_write_failed', `WAL write failed: ${describe(error)}`, undefined, undefined, error);
    }
    const allocated = await this.preallocate(fd, this.position + batch.length, this.allocated);
    try {
      if (this.sync) await this.files.datasync(fd);
    } catch (error) {
      // After a failed fdatasync the kernel may have dropped the dirty pages and will not report
      // the loss again, so nothing written since the last good sync can be trusted (PostgreSQL's
      // "fsyncgate"). The log refuses every further append; a restart re-reads the file.
      throw this.fail('wal_sync_failed', `WAL fdatasync failed: ${describe(error)}`, error);
    }
    this.position += batch.length;
    this.allocated = allocated;
  }

  /**
   * Writes zeros past `end` (where the records being flushed end) when few are left there (see the
   * header), before the flush's fdatasync; `length` is the segment's length before the flush's
   * records, and the one after the zeros is returned. A write that
   * fails (a full disk) is cut back and preallocation stops until the next segment, and the
   * flush goes on: its records were written.
   */
  private async preallocate(fd: number, end: number, length: number): Promise<number> {
    const allocated = Math.max(length, end);
    if (this.preallocateBytes === 0 || !this.preallocating || allocated - end >= PREALLOCATE_LOW_WATER_BYTES)
      return allocated;
    const target = Math.min(end + this.preallocateBytes, this.segmentBytes);
    if (target <= allocated) return allocated;
    zeros ??= Buffer.alloc(PREALLOCATE_STEP_BYTES);
    try {
      await this.files.writeAll(fd, zeros.subarray(0, target - allocated), allocated);
      return target;
    } catch {
      this.preallocating = false;
      try {
        await this.files.truncate(fd, allocated);
      } catch (truncateError) {
        throw this.fail('wal_write_failed', 'WAL preallocation failed and could not be undone', truncateError);
      }
      return allocated;
    }
  }

  /** Starts a segment whose first record is `firstRevision`, holding `batch`, and makes it durable. */
  private async writeNewSegment(firstRevision: number, batch: Buffer): Promise<void> {
    const name = segmentFileName(firstRevision);
    const path = join(this.directory, name);
    const header = encodeSegmentHeader(firstRevision);
    let fd: number;
    try {
      fd = await this.files.create(path);
    } catch (error) {
      throw new WalError('wal_write_failed', `cannot create WAL segment ${name}: ${describe(error)}`, name, 0, error);
    }
    let allocated: number;
    try {
      await this.files.writeAll(fd, Buffer.concat([header, batch]), 0);
      this.preallocating = true;
      allocated = await this.preallocate(fd, header.length + batch.length, 0);
      if (this.sync) {
        await this.files.datasync(fd);
        await this.files.syncDirectory(this.directory);
      }
    } catch (error) {
      // The new segment never held an acknowledged record: remove it and keep the current one.
      await this.files.close(fd).catch(() => undefined);
      await this.files.remove(path).catch(() => undefined);
      throw new WalError('wal_write_failed', `cannot start WAL segment ${name}: ${describe(error)}`, name, 0, error);
    }
    if (this.fd !== undefined) await this.files.close(this.fd).catch(() => undefined);
    this.fd = fd;
    this.position = header.length + batch.length;
    this.allocated = allocated;
    this.segments.push({ name, firstRevision });
  }

  private fail(code: WalErrorCode, message: string, cause: unknown): WalError {
    this.failure = new WalError(
      code,
      `${message}: ${describe(cause)}; restart kvs to recover`,
      undefined,
      undefined,
      cause,
    );
    return this.failure;
  }

  /** Rejects a failed batch and everything queued after it; the next append reuses their revisions. */
  private rejectFrom(waiters: Waiter[], error: WalError): void {
    const later = this.waiters;
    this.queued = [];
    this.waiters = [];
    this.next = this.durable + 1;
    for (const waiter of [...waiters, ...later]) waiter.reject(error);
  }
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
}
