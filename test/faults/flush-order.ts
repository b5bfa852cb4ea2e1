// Checks, in a strace log of the server, that every acknowledged write was flushed to the file
// that makes it durable before its reply started to leave on the socket. That file is the
// write-ahead log on the default write path (a `.wal` segment in DATA/wal: data write, then an
// fdatasync of the same segment; a new segment's first batch also needs the directory's fsync)
// or, with `--wal off` and in `--workers` mode, lmdb's store file (kvs.mdb):
//
//   data write   the first write/writev/pwrite to the store file whose bytes hold the write's value
//   flush        fsync/fdatasync on the store file (or msync(MS_SYNC) of a mapping of it) that
//                STARTED after the data write returned and RETURNED before the reply write started
//   meta         LMDB makes a commit reachable by writing a meta page (pages 0-1); that write must
//                also return before the reply and be durable: written through an O_DSYNC/O_SYNC
//                descriptor, or followed by a flush that returns before the reply
//   reply        the socket write whose bytes hold `kvs-revision: <the acknowledged revision>`
//
// Order is taken from strace's line order (see strace-log.ts for why that is sound).
// sync_file_range is not counted as a flush: it neither flushes the drive's cache nor metadata.

import { quotedData, type SyscallEvent } from './strace-log.js';

export interface AcknowledgedWrite {
  /** Label for reports. */
  readonly label: string;
  /** The revision named by the reply's Kvs-Revision header. */
  readonly revision: number;
  /** Unique tokens that the write's stored values contain. */
  readonly valueTokens: readonly string[];
  /** Text the reply must also contain (e.g. the PUT answer's `"key":"..."`), to be sure it is this write's reply. */
  readonly replyTexts: readonly string[];
}

export interface OrderVerdict {
  readonly write: AcknowledgedWrite;
  readonly problems: string[];
  readonly dataWrite?: SyscallEvent;
  readonly flush?: SyscallEvent;
  readonly meta?: SyscallEvent;
  readonly reply?: SyscallEvent;
}

/** Where an acknowledged write must be made durable: lmdb's store file, or the WAL's segments. */
export type FlushTarget =
  | { readonly kind: 'lmdb'; readonly file: string }
  | { readonly kind: 'wal'; readonly directory: string };

export interface FlushOrderReport {
  readonly verdicts: OrderVerdict[];
  readonly violations: OrderVerdict[];
  /** Problems with the log itself (e.g. truncated data): the check cannot be trusted if any. */
  readonly logProblems: string[];
  readonly counts: { storeWrites: number; metaWrites: number; flushes: number; replies: number };
}

/** LMDB's two meta pages are the first two pages of the file (4096-byte pages on x86-64 Linux). */
const META_AREA_BYTES = 2 * 4096;
const WRITE_CALLS = new Set(['write', 'writev', 'pwrite64', 'pwritev', 'pwritev2']);
const SOCKET_WRITE_CALLS = new Set(['write', 'writev', 'sendmsg', 'sendto', 'sendmmsg']);
export const FD_FLUSH_CALLS = new Set(['fsync', 'fdatasync']);
const REVISION_HEADER = /\r\nkvs-revision: (\d+)\r\n/giu;

interface StoreWrite {
  readonly event: SyscallEvent;
  readonly meta: boolean;
  /** Written through a descriptor opened with O_DSYNC or O_SYNC: durable when it returns. */
  readonly synchronous: boolean;
}

function succeeded(event: SyscallEvent): boolean {
  return event.endLine !== Infinity && !event.result.startsWith('-1') && !event.result.startsWith('?');
}

/** The file offset of pwrite64/pwritev (last argument) or pwritev2 (before the flags), if any. */
function writeOffset(event: SyscallEvent): number | undefined {
  const pattern =
    event.name === 'pwritev2'
      ? /, (\d+), [^,]+$/u
      : event.name === 'pwrite64' || event.name === 'pwritev'
        ? /, (\d+)$/u
        : undefined;
  const match = pattern?.exec(event.args);
  return match === null || match === undefined ? undefined : Number(match[1]);
}

/**
 * `tokenPattern` (global) finds candidate value tokens in the store's pages; only the tokens of
 * `writes` count.
 */
export function checkFlushOrder(
  events: readonly SyscallEvent[],
  target: FlushTarget,
  writes: readonly AcknowledgedWrite[],
  tokenPattern: RegExp,
): FlushOrderReport {
  const storeFile = target.kind === 'lmdb' ? target.file : undefined;
  const isTargetFile = (file: string | undefined): boolean =>
    file !== undefined &&
    (target.kind === 'lmdb' ? file === target.file : file.startsWith(`${target.directory}/`) && file.endsWith('.wal'));
  const directorySyncs: SyscallEvent[] = [];
  const logProblems: string[] = [];
  const storeWrites: StoreWrite[] = [];
  const flushes: SyscallEvent[] = [];
  const repliesByRevision = new Map<number, SyscallEvent[]>();
  const synchronousFds = new Set<number>();
  const storeMappings: { start: number; end: number }[] = [];
  const firstWriteOfToken = new Map<string, SyscallEvent>();
  const wanted = new Set(writes.flatMap((write) => write.valueTokens));

  // One pass in start order keeps descriptor state (O_DSYNC fds, mappings) as of each call.
  const ordered = [...events].sort((a, b) => a.startLine - b.startLine);
  for (const event of ordered) {
    const onStore = isTargetFile(event.fdTarget);
    if (event.name === 'openat' || event.name === 'open') {
      const opened = /^(\d+)<(.*)>$/u.exec(event.result);
      if (opened !== null && opened[2] === storeFile && /\bO_(?:D)?SYNC\b/u.test(event.args))
        synchronousFds.add(Number(opened[1]));
      else if (opened !== null) synchronousFds.delete(Number(opened[1]));
    } else if (event.name === 'close' && event.fd !== undefined) {
      synchronousFds.delete(event.fd);
    } else if (event.name === 'mmap' && event.args.includes(`<${storeFile}>`) && event.args.includes('MAP_SHARED')) {
      const length = Number(/^[^,]+, (\d+),/u.exec(event.args)?.[1]);
      const start = Number.parseInt(event.result, 16);
      if (Number.isFinite(start) && Number.isFinite(length)) storeMappings.push({ start, end: start + length });
    } else if (event.name === 'munmap') {
      const [address, length] = event.args
        .split(', ')
        .map((part) => Number(part.startsWith('0x') ? Number.parseInt(part, 16) : part));
      for (let index = storeMappings.length - 1; index >= 0; index--) {
        const mapping = storeMappings[index]!;
        if (address! < mapping.end && address! + length! > mapping.start) storeMappings.splice(index, 1);
      }
    } else if (onStore && WRITE_CALLS.has(event.name) && succeeded(event)) {
      const offset = writeOffset(event);
      // LMDB's meta pages; a WAL segment has none (its header is checked by the recovery).
      const meta = target.kind === 'lmdb' && offset !== undefined && offset < META_AREA_BYTES;
      storeWrites.push({ event, meta, synchronous: event.fd !== undefined && synchronousFds.has(event.fd) });
      if (!meta) {
        const data = quotedData(event.args);
        if (data.truncated)
          logProblems.push(`line ${event.startLine}: ${event.name} to the store was truncated by strace (raise -s)`);
        for (const token of data.bytes.match(tokenPattern) ?? []) {
          if (wanted.has(token) && !firstWriteOfToken.has(token)) firstWriteOfToken.set(token, event);
        }
      }
    } else if (onStore && FD_FLUSH_CALLS.has(event.name) && succeeded(event)) {
      flushes.push(event);
    } else if (
      target.kind === 'wal' &&
      event.fdTarget === target.directory &&
      FD_FLUSH_CALLS.has(event.name) &&
      succeeded(event)
    ) {
      directorySyncs.push(event);
    } else if (event.name === 'msync' && succeeded(event) && event.args.includes('MS_SYNC')) {
      const address = Number.parseInt(event.args.split(', ')[0]!, 16);
      if (storeFile !== undefined && storeMappings.some((mapping) => address >= mapping.start && address < mapping.end))
        flushes.push(event);
    } else if (SOCKET_WRITE_CALLS.has(event.name) && event.fdTarget?.startsWith('TCP') === true) {
      const data = quotedData(event.args);
      for (const match of data.bytes.matchAll(REVISION_HEADER)) {
        const revision = Number(match[1]);
        const list = repliesByRevision.get(revision) ?? [];
        list.push(event);
        repliesByRevision.set(revision, list);
      }
    }
  }

  const verdicts = writes.map((write) => judge(write));
  return {
    verdicts,
    violations: verdicts.filter((verdict) => verdict.problems.length > 0),
    logProblems,
    counts: {
      storeWrites: storeWrites.length,
      metaWrites: storeWrites.filter((write) => write.meta).length,
      flushes: flushes.length,
      replies: [...repliesByRevision.values()].reduce((sum, list) => sum + list.length, 0),
    },
  };

  function judge(write: AcknowledgedWrite): OrderVerdict {
    const problems: string[] = [];
    const replies = repliesByRevision.get(write.revision) ?? [];
    if (replies.length !== 1) {
      problems.push(`${replies.length} socket writes carry kvs-revision ${write.revision} (expected exactly 1)`);
      return { write, problems };
    }
    const reply = replies[0]!;
    const replyBytes = quotedData(reply.args).bytes;
    for (const text of write.replyTexts)
      if (!replyBytes.includes(text)) problems.push(`reply at line ${reply.startLine} lacks ${text}`);

    const dataEvents: SyscallEvent[] = [];
    for (const token of write.valueTokens) {
      const event = firstWriteOfToken.get(token);
      if (event === undefined) problems.push(`value ${token} never reached the store file in the trace`);
      else dataEvents.push(event);
    }
    if (dataEvents.length < write.valueTokens.length) return { write, problems, reply };
    const data = dataEvents.reduce((latest, event) => (event.endLine > latest.endLine ? event : latest));
    if (data.endLine >= reply.startLine)
      problems.push(
        `data write (line ${data.startLine}) had not returned when the reply started (line ${reply.startLine})`,
      );

    // On the WAL, the flush must be of the segment the data went to.
    const flushBetween = (after: number) =>
      flushes.find(
        (flush) =>
          flush.startLine > after &&
          flush.endLine < reply.startLine &&
          (target.kind === 'lmdb' || flush.fdTarget === data.fdTarget),
      );
    const flush = flushBetween(data.endLine);
    if (flush === undefined) {
      problems.push(
        `no flush of the store started after the data write returned (line ${data.endLine}) and returned before the reply (line ${reply.startLine})`,
      );
    }
    if (target.kind === 'wal') {
      // A segment's first write (offset 0: header and batch) makes its name durable too.
      if (writeOffset(data) === 0) {
        const directorySync = directorySyncs.find(
          (sync) => sync.startLine > data.endLine && sync.endLine < reply.startLine,
        );
        if (directorySync === undefined)
          problems.push(
            `the new segment's directory was not fsynced between its first write (line ${data.endLine}) and the reply (line ${reply.startLine})`,
          );
      }
      return { write, problems, dataWrite: data, reply, ...(flush === undefined ? {} : { flush }) };
    }
    const meta = storeWrites.find(
      (candidate) =>
        candidate.meta &&
        candidate.event.startLine > data.endLine &&
        candidate.event.endLine < reply.startLine &&
        (candidate.synchronous || flushBetween(candidate.event.endLine) !== undefined),
    );
    if (meta === undefined) {
      problems.push(
        `no durable meta-page write of the store between the data write (line ${data.endLine}) and the reply (line ${reply.startLine})`,
      );
    }
    return {
      write,
      problems,
      dataWrite: data,
      reply,
      ...(flush === undefined ? {} : { flush }),
      ...(meta === undefined ? {} : { meta: meta.event }),
    };
  }
}

/** Human-readable lines for a report. */
export function describeVerdict(verdict: OrderVerdict): string {
  const at = (event: SyscallEvent | undefined) =>
    event === undefined
      ? '-'
      : `${event.name}@line ${event.startLine}-${event.endLine} t=${event.startTime.toFixed(6)} pid ${event.pid}`;
  return [
    `${verdict.write.label} (revision ${verdict.write.revision}): ${verdict.problems.length === 0 ? 'ok' : verdict.problems.join('; ')}`,
    `  data ${at(verdict.dataWrite)} | meta ${at(verdict.meta)} | flush ${at(verdict.flush)} | reply ${at(verdict.reply)}`,
  ].join('\n');
}
