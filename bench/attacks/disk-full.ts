// disk-full: the store on a small tmpfs that also holds a filler file; PUTs until the server
// refuses them, then reads, then the filler is deleted and writes should work again.
// Needs root (mount); the tmpfs is unmounted at the end whatever happened.

import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mib, sleep, type Attack, type AttackContext, type AttackFindings, type AttackStorage } from './attack.js';
import { httpCall, type HttpOutcome } from './attack-http.js';
import { ADMIN_TOKEN } from './attack-server.js';
import { RespConnection } from './resp-wire.js';
import { StatusTally } from './status-tally.js';

const FILLER = 'filler.bin';
const mounts = new Map<string, string>();

function mountDir(home: string): string {
  return join(home, 'tmpfs');
}

function freeBytes(dir: string): number {
  try {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return Number.NaN;
  }
}

const outcomeText = (outcome: HttpOutcome) =>
  outcome.status > 0
    ? `${outcome.status} ${outcome.body.replace(/\s+/g, ' ').slice(0, 160)}`
    : `no answer (${outcome.error})`;

export const diskFull: Attack = {
  name: 'disk-full',
  summary:
    'Store on a 16 MiB tmpfs holding a 4 MiB filler file; PUTs of 64 KiB values until refused (3 in a row); then reads, a RESP SET, deleting the filler, and PUTs again.',
  maxSeconds: () => 120,
  async storage(home, settings): Promise<AttackStorage> {
    const dir = mountDir(home);
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${settings.diskSizeMiB}m`, 'kvs-attack-disk-full', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    mounts.set(home, dir);
    try {
      writeFileSync(join(dir, FILLER), Buffer.alloc(settings.diskFillerMiB * 1024 * 1024, 'f'));
    } catch (error) {
      // The runner has no teardown to call yet: unmount here.
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
      mounts.delete(home);
      throw error;
    }
    return {
      dataDir: join(dir, 'data'),
      async teardown() {
        for (let attempt = 0; attempt < 5; attempt++) {
          try {
            execFileSync('umount', [dir], { stdio: ['ignore', 'pipe', 'pipe'] });
            mounts.delete(home);
            return [];
          } catch {
            await sleep(500);
          }
        }
        execFileSync('umount', ['-l', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
        mounts.delete(home);
        return [`the tmpfs ${dir} was busy; unmounted lazily`];
      },
    };
  },
  async run(context: AttackContext): Promise<AttackFindings> {
    const { settings, server, home } = context;
    const port = server.httpPort;
    const dir = mountDir(home);
    const tally = new StatusTally();
    const value = Buffer.alloc(settings.diskValueBytes, 'v');
    const put = (key: string) =>
      httpCall({
        port,
        method: 'PUT',
        path: `/v1/kv/${key}`,
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/octet-stream' },
        body: value,
        timeoutMs: 30_000,
      });
    let stored = 0;
    let refusedInRow = 0;
    let firstRefusal = '(none)';
    let puts = 0;
    const started = performance.now();
    while (
      context.active() &&
      puts < settings.diskMaxPuts &&
      refusedInRow < 3 &&
      performance.now() - started < 90_000
    ) {
      const outcome = await put(`fill/${puts}`);
      puts++;
      tally.http(outcome);
      if (outcome.status >= 200 && outcome.status < 300) {
        stored++;
        refusedInRow = 0;
      } else {
        refusedInRow++;
        if (firstRefusal === '(none)') firstRefusal = `PUT #${puts}: ${outcomeText(outcome)}`;
      }
    }
    const details: [string, string][] = [
      [
        'filling',
        `${stored} PUTs of ${settings.diskValueBytes} B stored (${mib(stored * settings.diskValueBytes)}) before the first refusal; tmpfs free afterwards: ${mib(freeBytes(dir))}`,
      ],
      ['first refusal', firstRefusal],
      [
        'process alive after filling',
        server.exitedEarly() === undefined
          ? 'yes'
          : `NO (code ${server.exitedEarly()!.code}, signal ${server.exitedEarly()!.signal})`,
      ],
    ];
    const read = await httpCall({ port, path: '/v1/kv/fill/0', timeoutMs: 10_000 });
    tally.http(read);
    details.push([
      'GET fill/0 while full',
      read.status > 0
        ? `${read.status}, ${read.bodyBytes} B (expected ${settings.diskValueBytes})`
        : `no answer (${read.error})`,
    ]);
    try {
      const connection = await RespConnection.open(server.respPort);
      context.track(connection.socket);
      await connection.call(['AUTH', ADMIN_TOKEN], 10_000);
      const reply = await connection.call(['SET', 'fill/resp', value], 30_000);
      tally.resp(reply);
      details.push(['RESP SET while full', `${reply.kind} ${reply.text.slice(0, 160)}`]);
      connection.close();
    } catch (error) {
      details.push(['RESP SET while full', `failed: ${error instanceof Error ? error.message : String(error)}`]);
    }
    rmSync(join(dir, FILLER), { force: true });
    details.push(['filler deleted', `tmpfs free now: ${mib(freeBytes(dir))}`]);
    const after: string[] = [];
    for (let index = 0; index < 5; index++) {
      const outcome = await put(`after/${index}`);
      tally.http(outcome);
      after.push(outcome.status > 0 ? String(outcome.status) : `no answer (${outcome.error})`);
    }
    details.push(['5 PUTs after freeing space', after.join(', ')]);
    const check = await httpCall({ port, path: '/v1/kv/after/4', timeoutMs: 10_000 });
    tally.http(check);
    details.push([
      'GET after/4',
      check.status > 0 ? `${check.status}, ${check.bodyBytes} B` : `no answer (${check.error})`,
    ]);
    return { tried: `${puts + 5} PUTs, 2 GETs, 1 RESP SET`, tally, details };
  },
};

/** Unmounts whatever is still mounted (the harness calls this on the way out). */
export function unmountLeftovers(): void {
  for (const dir of mounts.values()) {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    } catch {
      // best effort while exiting
    }
  }
  mounts.clear();
}
