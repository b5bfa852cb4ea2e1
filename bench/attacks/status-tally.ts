// Answers an attack got, by class: HTTP 2xx/3xx/4xx/5xx (with the exact codes), RESP error
// replies, timeouts and socket errors.

import type { HttpOutcome } from './attack-http.js';
import type { RespReply } from './resp-wire.js';

export class StatusTally {
  private readonly statuses = new Map<number, number>();
  private readonly respErrors = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  respOk = 0;

  http(outcome: HttpOutcome): void {
    if (outcome.status > 0) this.status(outcome.status);
    else this.failure(outcome.error ?? 'no answer');
  }

  status(status: number): void {
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
  }

  resp(reply: RespReply): void {
    if (reply.kind !== 'error') {
      this.respOk++;
      return;
    }
    // The error's first word is its class (ERR, NOAUTH, WRONGTYPE...); the text follows.
    const label = reply.text.slice(0, 60);
    this.respErrors.set(label, (this.respErrors.get(label) ?? 0) + 1);
  }

  failure(kind: string): void {
    this.failures.set(kind, (this.failures.get(kind) ?? 0) + 1);
  }

  count(status: number): number {
    return this.statuses.get(status) ?? 0;
  }

  classCount(hundreds: number): number {
    let total = 0;
    for (const [status, count] of this.statuses) if (Math.floor(status / 100) === hundreds) total += count;
    return total;
  }

  get respErrorCount(): number {
    let total = 0;
    for (const count of this.respErrors.values()) total += count;
    return total;
  }

  get failureCount(): number {
    let total = 0;
    for (const count of this.failures.values()) total += count;
    return total;
  }

  /** e.g. "2xx 10 (200×10), 4xx 3 (429×3), 5xx 0, RESP ok 4, RESP errors 1 (ERR ...×1), no answer 2 (timeout×2)". */
  summary(): string {
    const parts: string[] = [];
    for (const hundreds of this.statuses.size > 0 ? [2, 3, 4, 5] : []) {
      const total = this.classCount(hundreds);
      if (total === 0 && hundreds === 3) continue;
      const exact = [...this.statuses]
        .filter(([status]) => Math.floor(status / 100) === hundreds)
        .sort(([a], [b]) => a - b);
      parts.push(
        `${hundreds}xx ${total}${exact.length > 0 ? ` (${exact.map(([status, count]) => `${status}×${count}`).join(', ')})` : ''}`,
      );
    }
    if (this.respOk > 0) parts.push(`RESP replies ${this.respOk}`);
    if (this.respErrors.size > 0)
      parts.push(
        `RESP errors ${this.respErrorCount} (${[...this.respErrors].map(([text, count]) => `"${text}"×${count}`).join(', ')})`,
      );
    if (this.failures.size > 0)
      parts.push(
        `no answer ${this.failureCount} (${[...this.failures].map(([kind, count]) => `${kind}×${count}`).join(', ')})`,
      );
    return parts.length > 0 ? parts.join(', ') : '(no answers read)';
  }
}
