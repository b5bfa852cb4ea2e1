// Reads the output of `strace -f -ttt -yy -o FILE` into whole system calls.
//
// With -f, strace interleaves the threads of a process: a call that another thread's call
// overtakes is printed as `name(args <unfinished ...>` and finished later by
// `<... name resumed>rest) = result`. This module joins the two halves and keeps, for each call,
// the line where it started and the line where it ended.
//
// Ordering by line, not by timestamp: strace prints each stop as it handles it, and a traced
// thread stays stopped until strace has handled its stop. So if call A's end is printed before
// call B's start, A had returned before B began executing. Timestamps (microseconds, taken by
// strace) are kept for the human-readable report only; equal timestamps order nothing.

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface SyscallEvent {
  readonly pid: number;
  readonly name: string;
  /** The argument text between the parentheses, both halves joined for resumed calls. */
  readonly args: string;
  /** The text after ` = ` ('' when the call never returned in the log). */
  readonly result: string;
  /** Line numbers (1-based) where the call starts and where it returns; endLine is Infinity if it never returns. */
  readonly startLine: number;
  readonly endLine: number;
  readonly startTime: number;
  readonly endTime: number;
  /** First argument when it is a file descriptor decorated by -yy: number and what it names. */
  readonly fd: number | undefined;
  readonly fdTarget: string | undefined;
}

interface PendingCall {
  readonly name: string;
  readonly head: string;
  readonly startLine: number;
  readonly startTime: number;
}

const LINE = /^(\d+)\s+(\d+\.\d+)\s(.*)$/su;
const UNFINISHED = ' <unfinished ...>';
const RESUMED = /^<\.\.\. ([a-z0-9_]+) resumed>(.*)$/su;
const CALL_START = /^([a-z0-9_]+)\((.*)$/su;
const FD_ARG = /^(\d+)<(.*?)>(?=[,)]|$)/su;

export interface ParsedTrace {
  /** Every call, in order of the line where it started. */
  readonly events: SyscallEvent[];
  /** Lines that were neither a call nor a known notice (a sign the log format was misread). */
  readonly unparsed: string[];
}

/** Parses strace output held in memory (tests of the parser, small logs). */
export function parseStraceText(text: string): ParsedTrace {
  const parser = new StraceParser();
  let lineNumber = 0;
  for (const line of text.split('\n')) parser.feed(line, ++lineNumber);
  return { events: parser.finish(), unparsed: parser.unparsed };
}

/** Parses a strace output file line by line (logs of hundreds of megabytes). */
export async function parseStraceFile(path: string): Promise<ParsedTrace> {
  const parser = new StraceParser();
  const lines = createInterface({ input: createReadStream(path, { encoding: 'latin1' }), crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const line of lines) parser.feed(line, ++lineNumber);
  return { events: parser.finish(), unparsed: parser.unparsed };
}

export class StraceParser {
  private readonly events: SyscallEvent[] = [];
  private readonly pending = new Map<number, PendingCall>();
  /** Lines that looked like neither a call nor a known notice. */
  readonly unparsed: string[] = [];

  feed(line: string, lineNumber: number): void {
    if (line === '') return;
    const match = LINE.exec(line);
    if (match === null) {
      this.unparsed.push(line);
      return;
    }
    const pid = Number(match[1]);
    const time = Number(match[2]);
    const rest = match[3]!;
    if (rest.startsWith('+++ ') || rest.startsWith('--- ')) return; // exit and signal notices
    const resumed = RESUMED.exec(rest);
    if (resumed !== null) {
      const call = this.pending.get(pid);
      if (call === undefined || call.name !== resumed[1]) {
        this.unparsed.push(line);
        return;
      }
      this.pending.delete(pid);
      let tail = resumed[2]!;
      if (tail.endsWith(UNFINISHED)) {
        // A call interrupted twice (e.g. the thread exits): still unfinished.
        tail = tail.slice(0, -UNFINISHED.length);
        this.pending.set(pid, { ...call, head: call.head + tail });
        return;
      }
      this.complete(pid, call.name, call.head + tail, call.startLine, call.startTime, lineNumber, time);
      return;
    }
    const start = CALL_START.exec(rest);
    if (start === null) {
      this.unparsed.push(line);
      return;
    }
    const name = start[1]!;
    const body = start[2]!;
    if (body.endsWith(UNFINISHED)) {
      this.pending.set(pid, { name, head: body.slice(0, -UNFINISHED.length), startLine: lineNumber, startTime: time });
      return;
    }
    this.complete(pid, name, body, lineNumber, time, lineNumber, time);
  }

  private complete(
    pid: number,
    name: string,
    body: string,
    startLine: number,
    startTime: number,
    endLine: number,
    endTime: number,
  ): void {
    // The result never contains ") = ", and quoted data is escaped, so the last one splits.
    const split = body.lastIndexOf(') = ');
    const args = split === -1 ? body.replace(/\)\s*$/u, '') : body.slice(0, split);
    const result = split === -1 ? '' : body.slice(split + 4);
    const fdMatch = FD_ARG.exec(args);
    this.events.push({
      pid,
      name,
      args,
      result,
      startLine,
      endLine,
      startTime,
      endTime,
      fd: fdMatch === null ? undefined : Number(fdMatch[1]),
      fdTarget: fdMatch === null ? undefined : fdMatch[2],
    });
  }

  /** Calls still unfinished at the end of the log (the process was killed in them) end at Infinity. */
  finish(): SyscallEvent[] {
    for (const [pid, call] of this.pending) {
      const fdMatch = FD_ARG.exec(call.head);
      this.events.push({
        pid,
        name: call.name,
        args: call.head,
        result: '',
        startLine: call.startLine,
        endLine: Infinity,
        startTime: call.startTime,
        endTime: Infinity,
        fd: fdMatch === null ? undefined : Number(fdMatch[1]),
        fdTarget: fdMatch === null ? undefined : fdMatch[2],
      });
    }
    this.pending.clear();
    return this.events.sort((a, b) => a.startLine - b.startLine);
  }
}

export interface QuotedData {
  /** The decoded bytes of every quoted string in the arguments, as latin1 text (one char per byte). */
  readonly bytes: string;
  /** True if strace cut any string short (`"..."...`): the data may be incomplete. */
  readonly truncated: boolean;
}

/**
 * Decodes the quoted strings of a call's arguments (strace escapes: \\ \" \t \n \v \f \r, octal
 * \NNN and, with -x, \xHH). Strings are joined with a NUL so that no match spans two buffers.
 */
export function quotedData(args: string): QuotedData {
  let bytes = '';
  let truncated = false;
  let index = 0;
  while (index < args.length) {
    const open = args.indexOf('"', index);
    if (open === -1) break;
    let position = open + 1;
    let chunk = '';
    let nextQuote = -1;
    let nextBackslash = -1;
    while (position < args.length && args[position] !== '"') {
      if (args[position] !== '\\') {
        // Copy the run of plain characters up to the next quote or backslash in one slice.
        if (nextQuote < position) nextQuote = indexOrEnd(args, '"', position);
        if (nextBackslash < position) nextBackslash = indexOrEnd(args, '\\', position);
        const end = Math.min(nextQuote, nextBackslash);
        chunk += args.slice(position, end);
        position = end;
        continue;
      }
      const next = args[position + 1] ?? '';
      const simple = SIMPLE_ESCAPES[next];
      if (simple !== undefined) {
        chunk += simple;
        position += 2;
      } else if (next === 'x') {
        chunk += String.fromCharCode(Number.parseInt(args.slice(position + 2, position + 4), 16));
        position += 4;
      } else {
        const octal = /^[0-7]{1,3}/u.exec(args.slice(position + 1, position + 4));
        if (octal === null) throw new Error(`unknown strace escape \\${next} in: ${args.slice(open, open + 80)}`);
        chunk += String.fromCharCode(Number.parseInt(octal[0], 8));
        position += 1 + octal[0].length;
      }
    }
    if (args.startsWith('...', position + 1)) truncated = true;
    bytes += bytes === '' ? chunk : `\0${chunk}`;
    index = position + 1;
  }
  return { bytes, truncated };
}

function indexOrEnd(text: string, char: string, from: number): number {
  const found = text.indexOf(char, from);
  return found === -1 ? text.length : found;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\',
  '"': '"',
  t: '\t',
  n: '\n',
  v: '\v',
  f: '\f',
  r: '\r',
};
