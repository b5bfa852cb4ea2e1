// Negative controls for the flush-order checker: rewrite a real strace log of a correct server
// into the log of a server that makes a specific mistake, so the checker can be shown to catch it.
// (lmdb-js 3.5 resolves even a "relaxed" commit after its fdatasync, so no real kvs mode
// replies early on this machine; see docs/durability.md.)

import type { SyscallEvent } from './strace-log.js';

/** A whole call as one complete strace line (used when a call is moved). */
function completeLine(event: SyscallEvent): string {
  return `${event.pid}  ${event.startTime.toFixed(6)} ${event.name}(${event.args}) = ${event.result}`;
}

/**
 * The log of a server that acknowledges at commit: each reply is moved to right after the data
 * write of its commit, i.e. before the commit's meta-page write and flush.
 * `moves` pairs a reply with the data write it must follow.
 */
export function replyRightAfterData(
  lines: readonly string[],
  moves: readonly { reply: SyscallEvent; data: SyscallEvent }[],
): string[] {
  const removed = new Set<number>();
  const insertAfter = new Map<number, string[]>();
  for (const { reply, data } of moves) {
    removed.add(reply.startLine);
    removed.add(reply.endLine);
    const list = insertAfter.get(data.endLine) ?? [];
    list.push(completeLine(reply));
    insertAfter.set(data.endLine, list);
  }
  const result: string[] = [];
  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    if (!removed.has(lineNumber)) result.push(line);
    result.push(...(insertAfter.get(lineNumber) ?? []));
  });
  return result;
}

/** The log of a server that never flushes: every line of the given calls is dropped. */
export function withoutCalls(lines: readonly string[], calls: readonly SyscallEvent[]): string[] {
  const removed = new Set<number>();
  for (const call of calls) {
    removed.add(call.startLine);
    removed.add(call.endLine);
  }
  return lines.filter((_, index) => !removed.has(index + 1));
}
