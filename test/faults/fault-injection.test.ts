// Injected I/O faults under a write load (docs/durability.md, "Disk full and I/O errors"): once
// the real server is ready, `strace -f -p PID --inject=...` attaches to all its threads and makes
// their kernel calls fail, while 4 clients write. strace counts calls per thread from the attach,
// so `when=N+` fails every thread's Nth call and later ones. After the load strace detaches, the
// server is restarted on the same data directory and every acknowledged write is read back.
//
// - fdatasync -> EIO: after a failed flush kvs refuses every write with `unavailable` until it is
//   restarted (the fsyncgate rule); reads keep working; nothing acknowledged is lost.
// - fdatasync -> EIO in every worker of `--workers 2` (shared writer mode): the same promises,
//   through the same flush wait as the exclusive mode (a write whose flush never settles is
//   refused once the failure is noted, instead of waiting for ever).
// - pwrite64 -> ENOSPC for a window of calls, 5 rounds: a failed data-page write is refused with
//   insufficient_storage and writing resumes by itself; a failed meta-page write puts LMDB in its
//   fatal state (MDB_PANIC), where kvs prints its coded line and kills itself (SIGKILL) for a
//   supervisor to restart it (src/storage/lmdb/store-panic.ts). Never a crash, never a 500,
//   nothing acknowledged lost.
// A real full disk (ENOSPC from the file system) is test/faults/disk-full.test.ts, on a tmpfs.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { crashEvidence, removeDir, startServer, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { Random, seedFromEnv, sendWrite, writePlanner, type WriteRecord } from './write-load.js';

const haveStrace = spawnSync('strace', ['-V']).status === 0;
if (!haveStrace && process.env.CI === 'true')
  throw new Error('strace is required for test/faults/fault-injection.test.ts; CI=true does not allow skipping');

const seed = seedFromEnv();
const tracers = new Set<ChildProcess>();
process.on('exit', () => {
  for (const tracer of tracers) if (tracer.pid !== undefined) process.kill(tracer.pid, 'SIGKILL');
});

/** Attaches strace to every thread of `pid` with one fault to inject; returns a detach function. */
async function injectFaults(pid: number, inject: string): Promise<() => Promise<void>> {
  const tracer = spawn('strace', ['-f', '-qq', '-o', '/dev/null', `--inject=${inject}`, '-p', String(pid)], {
    stdio: 'ignore',
  });
  tracers.add(tracer);
  const exited = new Promise<void>((resolve) => tracer.once('exit', () => resolve()));
  // Attaching takes a moment; strace gives no signal that it is done.
  await sleep(1000);
  return async () => {
    tracer.kill('SIGINT'); // strace detaches and leaves the server running
    await exited;
    tracers.delete(tracer);
  };
}
/** The Node processes `pid` forked: the workers of `kvs serve --workers N` (not its store-lock helper). */
function nodeChildren(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  if (children === '') return [];
  return children
    .split(/\s+/u)
    .map(Number)
    .filter((child) => readFileSync(`/proc/${child}/comm`, 'utf8').trim() === 'node');
}

const dirs: string[] = [];
const started: ServerProcess[] = [];
after(async () => {
  for (const server of started) await server.stop();
  for (const dir of dirs) removeDir(dir);
});

/** 4 clients, `perClient` writes each (bounded), outcomes recorded. */
async function writeLoad(server: ServerProcess, round: number, perClient: number): Promise<WriteRecord[]> {
  const planner = writePlanner(round, new Random(seed + round), 40);
  const records: WriteRecord[] = [];
  await Promise.all(
    Array.from({ length: 4 }, async (_, client) => {
      for (let index = 0; index < perClient; index++) {
        const record = planner.next(client);
        records.push(record);
        await sendWrite(server.url, server.token, record);
      }
    }),
  );
  return records;
}

/** --workers 2 with every worker's fdatasync failing: every write answered, nothing acknowledged lost. */
async function sharedWritesUnderEio(server: ServerProcess, dataDir: string): Promise<void> {
  const workers = nodeChildren(server.pid);
  assert.equal(workers.length, 2, 'two workers');
  const detachers = await Promise.all(workers.map((pid) => injectFaults(pid, 'fdatasync:error=EIO:when=5+')));
  const records = await writeLoad(server, 3, 30).finally(() => Promise.all(detachers.map((detach) => detach())));
  const context = `server output:\n${server.output().slice(-2500)}`;
  assert.ok(
    records.some((record) => record.status === 'rejected'),
    `the injected fault refused writes (${context})`,
  );
  // Before the shared mode raced its flush wait against failures, a write whose fdatasync
  // failed waited for ever (here: until the client's 60 s timeout, status unknown).
  const unanswered = records.filter((record) => record.status === 'unknown');
  assert.equal(unanswered.length, 0, `every write was answered: ${unanswered[0]?.error} (${context})`);
  for (const record of records.filter((each) => each.status === 'rejected')) {
    assert.equal(record.httpStatus, 503, `write ${record.id}: ${record.error}`);
    assert.match(record.error ?? '', /unavailable/);
  }
  assert.equal(server.child.exitCode, null, 'the server is alive');
  await server.stop();
  await readBack(dataDir, records, () => false);
}

/**
 * lmdb-js's own message for a page write that failed with an errno, when it is long enough to
 * overrun the 100 bytes it is formatted into (mdb.c, mdb_page_flush); otherwise undefined.
 */
function lmdbPageWriteOverflow(output: string): string | undefined {
  const messages = output.match(
    /Attempting to write page at position \d+, size \d+, blocks \d+, buffer sizes -?\d+ -?\d+ -?\d+/gu,
  );
  return messages?.find((message) => message.length >= 100);
}

/** Rounds of the ENOSPC window: the fatal state is met in some of them, not all (about 2 in 3). */
const ENOSPC_ROUNDS = 5;
/** The ENOSPC test's bound: its servers are killed after this long, whatever they wait on. */
const ENOSPC_DEADLINE_MS = 240_000;

async function readBack(
  dataDir: string,
  records: readonly WriteRecord[],
  expectAbsent: (record: WriteRecord) => boolean,
): Promise<void> {
  const server = await startServer({ dataDir });
  try {
    for (const record of records) {
      for (const { key, value } of record.pairs) {
        const response = await fetch(`${server.url}/v1/kv/${key}`);
        const body = await response.text();
        if (record.status === 'acked') {
          assert.equal(response.status, 200, `acknowledged ${key} (write ${record.id}) survives the restart`);
          assert.ok(body === value, `acknowledged ${key} has its value`);
        } else if (expectAbsent(record)) {
          assert.equal(response.status, 404, `refused ${key} (write ${record.id}, ${record.httpStatus}) was not saved`);
        }
      }
    }
  } finally {
    await server.stop();
  }
}

describe(
  `injected I/O faults under load (seed ${seed})`,
  { skip: haveStrace ? false : 'strace is not installed' },
  () => {
    it('fdatasync fails with EIO: no false acknowledgement, reads go on, writes refused until restart, nothing acknowledged lost', async () => {
      const dataDir = tempDir('kvs-fault-eio');
      dirs.push(dataDir);
      const server = await startServer({ dataDir });
      started.push(server);
      const detach = await injectFaults(server.pid, 'fdatasync:error=EIO:when=5+');
      const records = await writeLoad(server, 1, 40).finally(detach);
      const acked = records.filter((record) => record.status === 'acked');
      const refused = records.filter((record) => record.status === 'rejected');
      assert.ok(refused.length > 0, 'the injected fault refused writes');
      for (const record of refused) {
        assert.equal(record.httpStatus, 503, `write ${record.id}: ${record.error}`);
        assert.match(record.error ?? '', /unavailable/);
      }
      assert.equal(records.filter((record) => record.status === 'unknown').length, 0, 'every write was answered');
      // Once refused, always refused until restart: no write is acknowledged after the first refusal by id order per client.
      for (const client of [0, 1, 2, 3]) {
        const own = records.filter((record) => record.client === client).sort((a, b) => a.id - b.id);
        const firstRefused = own.findIndex((record) => record.status === 'rejected');
        if (firstRefused >= 0)
          assert.ok(
            own.slice(firstRefused).every((record) => record.status === 'rejected'),
            `client ${client}: writes stay refused`,
          );
      }
      const after = await fetch(`${server.url}/v1/kv/after-fault`, {
        method: 'PUT',
        body: 'x',
        headers: { authorization: `Bearer ${server.token}` },
      });
      assert.equal(after.status, 503);
      assert.match(await after.text(), /refused until kvs is restarted/);
      if (acked.length > 0) {
        const { key, value } = acked[0]!.pairs[0]!;
        const read = await fetch(`${server.url}/v1/kv/${key}`);
        assert.equal(read.status, 200, 'reads keep working');
        assert.equal(await read.text(), value);
      }
      assert.equal(server.child.exitCode, null, 'the server is alive');
      await server.stop();
      // A refused write may be in the store (its commit was visible before the flush failed).
      await readBack(dataDir, records, () => false);
    });
    it('--workers 2, fdatasync fails with EIO in every worker: every write answered, no false acknowledgement, nothing acknowledged lost', async () => {
      const dataDir = tempDir('kvs-fault-eio-shared');
      dirs.push(dataDir);
      const server = await startServer({ dataDir, args: ['--workers', '2'] });
      // Stopped here, not by the file's cleanup, whatever the outcome.
      try {
        await sharedWritesUnderEio(server, dataDir);
      } finally {
        await server.kill9();
      }
    });
    it(`pwrite64 fails with ENOSPC for a window, ${ENOSPC_ROUNDS} rounds: 507 and writes resume, or a coded stop on MDB_PANIC; never a crash, nothing acknowledged lost`, async () => {
      const mine: ServerProcess[] = [];
      const deadline = setTimeout(() => {
        for (const server of mine) void server.kill9();
      }, ENOSPC_DEADLINE_MS);
      try {
        await enospcRounds(mine);
      } finally {
        clearTimeout(deadline);
        for (const server of mine) await server.kill9();
      }
    });
  },
);

/** The rounds of the ENOSPC window test; every server it starts goes into `mine`. */
async function enospcRounds(mine: ServerProcess[]): Promise<void> {
  const outcomes: string[] = [];
  for (let round = 0; round < ENOSPC_ROUNDS; round++) {
    const dataDir = tempDir('kvs-fault-enospc');
    dirs.push(dataDir);
    const server = await startServer({ dataDir });
    mine.push(server);
    const detach = await injectFaults(server.pid, 'pwrite64:error=ENOSPC:when=8..20');
    const records = await writeLoad(server, 10 + round, 40).finally(detach);
    const stopped = server.child.exitCode !== null || server.child.signalCode !== null;
    const context = `round ${round}; server output:\n${server.output().slice(-2500)}`;
    assert.ok(
      records.some((record) => record.status === 'rejected' || record.status === 'unknown'),
      `the injected fault refused writes (${context})`,
    );
    for (const record of records.filter((each) => each.status === 'rejected')) {
      // A failed data-page write is a full disk (507); a refusal that met LMDB's fatal state
      // before kvs stopped is 503.
      assert.ok(
        record.httpStatus === 507 || record.httpStatus === 503,
        `write ${record.id}: ${record.httpStatus} ${record.error} (${context})`,
      );
      assert.match(record.error ?? '', record.httpStatus === 507 ? /insufficient_storage/ : /unavailable/);
    }
    if (stopped) {
      const exit = await server.exited;
      const overflow = lmdbPageWriteOverflow(server.output());
      if (exit.signal === 'SIGABRT' && overflow !== undefined) {
        // Not kvs: lmdb-js 3.5.6 formats this message into malloc(100) when a page write
        // fails with an errno, and a message of 100 characters or more overruns it
        // (docs/durability.md). Counted and reported, never passed silently as anything else.
        outcomes.push(`lmdb-js page-write overflow (${overflow.length} characters)`);
      } else {
        // The coded stop of store-panic.ts (its line, then SIGKILL), not an abort or an uncaught error.
        assert.equal(exit.signal, 'SIGKILL', context);
        assert.match(
          server.output(),
          /^kvs: store_panic: LMDB's fatal state in .* kvs stops itself with SIGKILL/mu,
          context,
        );
        assert.equal(crashEvidence(server.output()), undefined, context);
        outcomes.push('stopped');
      }
      await server.kill9(); // already gone: marks the exit as expected for the cleanup
    } else {
      assert.equal(
        records.filter((record) => record.status === 'unknown').length,
        0,
        `every write was answered (${context})`,
      );
      const afterWindow = await fetch(`${server.url}/v1/kv/after-window`, {
        method: 'PUT',
        body: 'x',
        headers: { authorization: `Bearer ${server.token}` },
        signal: AbortSignal.timeout(30_000),
      });
      assert.equal(afterWindow.status, 201, `writes resumed by themselves after the window (${context})`);
      await server.stop();
      outcomes.push('resumed');
    }
    // Restarting recovers every acknowledged write. A refused write, or one whose answer was
    // cut off by the stop, may be in the store (committed before the failure was seen).
    await readBack(dataDir, records, () => false);
  }
  // Reported, not asserted: which path a round takes depends on which write the window hits.
  // At least one round must end in kvs's own stop or resume, not only in lmdb-js's overflow.
  assert.ok(
    outcomes.some((outcome) => outcome === 'stopped' || outcome === 'resumed'),
    outcomes.join(', '),
  );
  console.log(`ENOSPC window rounds: ${outcomes.join(', ')}`);
}
