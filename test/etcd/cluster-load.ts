// Client load for the etcd fault test: a few concurrent clients, each writing fresh keys with
// unique values through the kvs processes in turn (REST PUT, and now and then a two-key
// POST /v1/txn), recording every outcome with the phase it was sent in.

import { randomBytes } from 'node:crypto';

export type Outcome = 'acked' | 'rejected' | 'unknown';

export interface WriteRecord {
  readonly phase: string;
  readonly client: number;
  /** Index of the kvs process the write went through. */
  readonly server: number;
  readonly pairs: readonly { key: string; value: string }[];
  outcome?: Outcome;
  status?: number;
  /** Error code of a non-2xx JSON answer. */
  code?: string;
  message?: string;
  /** Connection-level error when no answer came. */
  error?: string;
  latencyMs?: number;
}

export interface LoadTarget {
  readonly url: string;
}

const CLIENT_TIMEOUT_MS = 20_000;

export class ClusterLoad {
  readonly records: WriteRecord[] = [];
  private loops: Promise<void>[] = [];
  private running = false;
  private phase = '';
  private sequence = 0;
  /** Consecutive acknowledged writes per client, for "the service is back" checks. */
  readonly streak: number[];

  constructor(
    private readonly servers: readonly LoadTarget[],
    private readonly token: string,
    private readonly clients: number,
  ) {
    this.streak = Array.from({ length: clients }, () => 0);
  }

  start(phase: string): void {
    if (this.running) throw new Error('load already running');
    this.phase = phase;
    this.running = true;
    this.streak.fill(0);
    this.loops = Array.from({ length: this.clients }, (_, client) => this.loop(client));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  /** Waits until every client has `count` acknowledged writes in a row in the current phase. */
  async untilStreak(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.streak.some((streak) => streak < count)) {
      if (Date.now() > deadline)
        throw new Error(
          `clients did not reach ${count} acknowledged writes in a row within ${timeoutMs} ms (streaks ${this.streak.join(',')})`,
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  inPhase(phase: string): WriteRecord[] {
    return this.records.filter((record) => record.phase === phase);
  }

  private async loop(client: number): Promise<void> {
    for (let round = 0; this.running; round++) {
      const record = await this.write(client, round);
      this.streak[client] = record.outcome === 'acked' ? this.streak[client]! + 1 : 0;
      // A failed write is retried after a short pause rather than in a tight loop.
      if (record.outcome !== 'acked') await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async write(client: number, round: number): Promise<WriteRecord> {
    const server = (client + round) % this.servers.length;
    const id = this.sequence++;
    const fresh = () => ({
      key: `load/${client}/${id}-${randomBytes(3).toString('hex')}`,
      value: `val-${randomBytes(8).toString('hex')}`,
    });
    const asTxn = round % 5 === 4;
    const pairs = asTxn ? [fresh(), fresh()] : [fresh()];
    const record: WriteRecord = { phase: this.phase, client, server, pairs };
    this.records.push(record);
    const base = this.servers[server]!.url;
    const headers = { authorization: `Bearer ${this.token}` };
    const started = Date.now();
    try {
      const response = asTxn
        ? await fetch(`${base}/v1/txn`, {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/json' },
            body: JSON.stringify({
              checks: pairs.map((pair) => ({ key: pair.key, absent: true })),
              operations: pairs.map((pair) => ({ op: 'put', key: pair.key, value: pair.value })),
            }),
            signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
          })
        : await fetch(`${base}/v1/kv/${pairs[0]!.key}`, {
            method: 'PUT',
            headers,
            body: pairs[0]!.value,
            signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
          });
      record.status = response.status;
      const text = await response.text();
      if (response.ok) {
        record.outcome = 'acked';
      } else {
        record.outcome = 'rejected';
        try {
          const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
          record.code = body.error?.code;
          record.message = body.error?.message;
        } catch {
          record.message = text.slice(0, 200);
        }
      }
    } catch (error) {
      record.outcome = 'unknown';
      record.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    record.latencyMs = Date.now() - started;
    return record;
  }
}

/** Counts of outcomes (and of error codes) of some records, for the test's report. */
export function tally(records: readonly WriteRecord[]): Record<string, number> {
  const counts: Record<string, number> = { sent: records.length };
  for (const record of records) {
    const label =
      record.outcome === 'rejected' ? `${record.status} ${record.code ?? ''}`.trim() : (record.outcome ?? 'pending');
    counts[label] = (counts[label] ?? 0) + 1;
  }
  return counts;
}
