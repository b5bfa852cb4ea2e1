// Progress of long operations on stderr: a line rewritten in place when stderr is a terminal,
// nothing otherwise; the final summary line is always printed.

const INTERVAL_MS = 200;

export class Progress {
  private readonly live: boolean;
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.live = stream.isTTY === true;
  }

  /** Shows `text` if the terminal line was not redrawn in the last moment. */
  update(text: () => string): void {
    if (!this.live) return;
    const now = Date.now();
    if (now - this.lastDraw < INTERVAL_MS) return;
    this.lastDraw = now;
    this.drawn = true;
    this.stream.write(`\r\x1b[K${text()}`);
  }

  /** Clears the progress line and prints the summary. */
  done(summary: string): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
    this.stream.write(`${summary}\n`);
  }

  /** Clears the progress line (before an error message). */
  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
