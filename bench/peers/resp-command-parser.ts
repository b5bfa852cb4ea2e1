// The request side of RESP for the node:net peer (node-net-resp-map.ts), free of I/O: bytes in,
// whole commands out, in order. Arrays of bulk strings (what clients and redis-benchmark send)
// and inline commands (`PING\r\n`); a command split across chunks waits for the rest, and a
// chunk may hold many commands (pipelining). Kept small on purpose: the peer measures Node's
// own ceiling, so the parser does no more than a server needs to answer GET, SET and PING.

export class RespProtocolError extends Error {}

export class RespCommandParser {
  private pending: Buffer = Buffer.alloc(0);

  /** The commands completed by `chunk` (each a list of arguments); keeps any partial one. */
  push(chunk: Buffer): Buffer[][] {
    const data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const commands: Buffer[][] = [];
    let offset = 0;
    for (;;) {
      const parsed = data[offset] === 0x2a /* * */ ? parseArray(data, offset) : parseInline(data, offset);
      if (parsed === undefined) break;
      if (parsed.args.length > 0) commands.push(parsed.args);
      offset = parsed.next;
      if (offset >= data.length) break;
    }
    this.pending = offset >= data.length ? Buffer.alloc(0) : data.subarray(offset);
    return commands;
  }
}

interface Parsed {
  readonly args: Buffer[];
  readonly next: number;
}

/** `*N\r\n` then N times `$LEN\r\nBYTES\r\n`; undefined while incomplete. */
function parseArray(data: Buffer, start: number): Parsed | undefined {
  const header = readLine(data, start + 1);
  if (header === undefined) return undefined;
  const count = wholeNumber(header.text);
  const args: Buffer[] = [];
  let offset = header.next;
  for (let index = 0; index < count; index++) {
    if (offset >= data.length) return undefined;
    if (data[offset] !== 0x24 /* $ */) throw new RespProtocolError(`expected '$', got byte ${data[offset]}`);
    const length = readLine(data, offset + 1);
    if (length === undefined) return undefined;
    const size = wholeNumber(length.text);
    const end = length.next + size;
    if (end + 2 > data.length) return undefined;
    args.push(data.subarray(length.next, end));
    offset = end + 2;
  }
  return { args, next: offset };
}

/** One line of words separated by spaces; undefined while incomplete. */
function parseInline(data: Buffer, start: number): Parsed | undefined {
  const line = readLine(data, start);
  if (line === undefined) return undefined;
  const args = line.text
    .split(' ')
    .filter((word) => word !== '')
    .map((word) => Buffer.from(word, 'latin1'));
  return { args, next: line.next };
}

function readLine(data: Buffer, start: number): { text: string; next: number } | undefined {
  const end = data.indexOf('\r\n', start, 'latin1');
  if (end < 0) {
    if (data.length - start > 64 * 1024) throw new RespProtocolError('line too long');
    return undefined;
  }
  return { text: data.toString('latin1', start, end), next: end + 2 };
}

function wholeNumber(text: string): number {
  if (!/^[0-9]{1,9}$/.test(text)) throw new RespProtocolError(`not a length: ${JSON.stringify(text)}`);
  return Number(text);
}
