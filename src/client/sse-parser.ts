// A Server-Sent Events parser (WHATWG HTML "event stream interpretation") as a pure state
// machine over text: feed it decoded chunks, get complete events. No sockets here, so it is
// tested on its own; the client's watch loop is a thin wrapper around it.

export interface SseMessage {
  /** The `event:` field, 'message' when absent. */
  readonly event: string;
  readonly data: string;
  /** The last event ID seen so far on the stream (it persists across messages, per the spec). */
  readonly lastEventId: string;
}

export class SseParser {
  private buffer = '';
  /** A chunk ended in CR: a LF starting the next chunk belongs to the same line break. */
  private pendingCr = false;
  private eventType = '';
  private data: string[] = [];
  private hasData = false;
  private lastEventId = '';
  /** The last `retry:` value in ms, if the server sent one. */
  retryMs: number | undefined;

  /** Feeds decoded text; returns the messages completed by it. */
  feed(chunk: string): SseMessage[] {
    const messages: SseMessage[] = [];
    let text = chunk;
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer.charCodeAt(i);
      if (ch !== 10 && ch !== 13) continue;
      const line = this.buffer.slice(start, i);
      if (ch === 13) {
        if (i + 1 < this.buffer.length) {
          if (this.buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
      const message = this.line(line);
      if (message) messages.push(message);
    }
    this.buffer = this.buffer.slice(start);
    return messages;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data.push(value);
        this.hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break;
    }
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    const message = this.hasData
      ? {
          event: this.eventType === '' ? 'message' : this.eventType,
          data: this.data.join('\n'),
          lastEventId: this.lastEventId,
        }
      : undefined;
    this.eventType = '';
    this.data = [];
    this.hasData = false;
    return message;
  }
}
