// Flush-before-reply: kill -9 cannot show that an acknowledged write was flushed (the page cache
// outlives the process), so this test records the server's system calls with strace and checks
// their order for every acknowledged write (rules in flush-order.ts), on both write paths: the
// default one (the write-ahead log's fdatasync precedes each reply) and `--wal off` (lmdb's own
// flush and meta page precede each reply; --workers uses the same lmdb commit).
//
// Negative controls, on each path: the real log, rewritten into the log of a server that replies
// right after writing its data (before the flush), and into the log of a server that never
// flushes, must be caught for every write; so must the log of a real server run with
// --durability relaxed (the WAL without fdatasync, lmdb with noSync).

import { PREALLOCATE_STEP_BYTES } from '../../src/storage/wal/write-ahead-log.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, startServer, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { ndjson, writeFaultReport, type ReportFile } from './fault-report.js';
import {
  checkFlushOrder,
  describeVerdict,
  FD_FLUSH_CALLS,
  type AcknowledgedWrite,
  type FlushOrderReport,
  type FlushTarget,
} from './flush-order.js';
import { parseStraceFile, type SyscallEvent } from './strace-log.js';
import { replyRightAfterData, withoutCalls } from './trace-mutations.js';
import { Random, seedFromEnv, sendWrite, VALUE_TOKEN, writePlanner, type WriteRecord } from './write-load.js';

const SEQUENTIAL_WRITES = 40;
const CONCURRENT_CLIENTS = 8;
const WRITES_PER_CLIENT = 40;
/**
 * Large enough that no store page write or reply is cut short (the checker reports truncation),
 * including the WAL's preallocated zeros: one write of up to PREALLOCATE_STEP_BYTES (the checker
 * reads every write to a segment, zeros or records). About 8 MB of trace per such write.
 */
const STRING_LIMIT = PREALLOCATE_STEP_BYTES;
export const TRACED_CALLS = [
  'openat',
  'close',
  'mmap',
  'munmap',
  'write',
  'writev',
  'pwrite64',
  'pwritev',
  'pwritev2',
  'sendmsg',
  'sendto',
  'fsync',
  'fdatasync',
  'msync',
  'sync_file_range',
];

function straceAvailable(): boolean {
  const probe = spawnSync('strace', ['-V'], { encoding: 'utf8' });
  return probe.status === 0;
}

const haveStrace = straceAvailable();
if (!haveStrace && process.env.CI === 'true') {
  throw new Error(
    'strace is required for test/faults/fsync-order.test.ts (Debian: apt-get install -y strace); CI=true does not allow skipping',
  );
}

/** The traced node process: strace's child. */
function tracedPid(stracePid: number): number {
  const children = readFileSync(`/proc/${stracePid}/task/${stracePid}/children`, 'utf8').trim().split(/\s+/u);
  const pid = Number(children[0]);
  assert.ok(Number.isInteger(pid) && pid > 0, `could not find the process traced by strace ${stracePid}`);
  return pid;
}

interface TracedRun {
  readonly report: FlushOrderReport;
  readonly events: SyscallEvent[];
  readonly records: WriteRecord[];
  readonly writes: AcknowledgedWrite[];
  readonly traceFile: string;
  readonly target: FlushTarget;
}

const WRITE_PATHS = [
  { name: 'write-ahead log (default)', args: [] as string[] },
  { name: 'lmdb only (--wal off)', args: ['--wal', 'off'] },
] as const;

function acknowledged(record: WriteRecord): AcknowledgedWrite {
  return {
    label: `write #${record.id} ${record.kind} client ${record.client} (${record.pairs.map((pair) => pair.key).join(', ')})`,
    revision: record.revision!,
    valueTokens: record.pairs.map(({ value }) => value.match(VALUE_TOKEN)![0]),
    replyTexts: record.kind === 'form' ? ['OK\n'] : record.pairs.map(({ key }) => `"key":"${key}"`),
  };
}

for (const path of WRITE_PATHS)
  describe(
    `fsync order, ${path.name}: every acknowledged write is flushed before its reply is written`,
    { skip: haveStrace ? false : 'strace is not installed' },
    () => {
      const dirs: string[] = [];
      /** Each strace process with the server it traces (killing strace alone would leave the server running). */
      const traced: { server: ServerProcess; nodePid: number }[] = [];
      after(async () => {
        for (const { server, nodePid } of traced) {
          // strace exits only after the traced server has: while strace runs, nodePid is still ours.
          if (server.child.exitCode === null && server.child.signalCode === null) {
            try {
              process.kill(nodePid, 'SIGKILL');
            } catch {
              // already gone
            }
          }
          await server.kill9();
        }
        for (const dir of dirs) removeDir(dir);
      });

      async function tracedRun(durability: 'strict' | 'relaxed', round: number, random: Random): Promise<TracedRun> {
        const dataDir = tempDir(`kvs-fsync-${durability}`);
        const traceDir = tempDir('kvs-strace');
        dirs.push(dataDir, traceDir);
        const traceFile = join(traceDir, 'server.strace');
        const target: FlushTarget =
          path.args.length === 0
            ? { kind: 'wal', directory: join(realpathSync(dataDir), 'wal') }
            : { kind: 'lmdb', file: join(realpathSync(dataDir), 'kvs.mdb') };
        const server = await startServer({
          dataDir,
          args: ['--durability', durability, ...path.args],
          wrapper: [
            'strace',
            '-f',
            '-ttt',
            '-yy',
            '--seccomp-bpf',
            '-s',
            String(STRING_LIMIT),
            '-o',
            traceFile,
            '-e',
            `trace=${TRACED_CALLS.join(',')}`,
          ],
          readyTimeoutMs: 120_000,
        });
        const nodePid = tracedPid(server.pid);
        traced.push({ server, nodePid });

        const planner = writePlanner(round, random, 60);
        const records: WriteRecord[] = [];
        const write = async (client: number) => {
          const record = planner.next(client);
          records.push(record);
          await sendWrite(server.url, server.token, record);
        };
        for (let index = 0; index < SEQUENTIAL_WRITES; index++) await write(0);
        await Promise.all(
          Array.from({ length: CONCURRENT_CLIENTS }, async (_, client) => {
            for (let index = 0; index < WRITES_PER_CLIENT; index++) await write(client + 1);
          }),
        );
        // A graceful stop: the server exits, then strace (its tracer) exits and closes the log.
        process.kill(nodePid, 'SIGTERM');
        await server.exited;

        const notAcked = records.filter((record) => record.status !== 'acked');
        assert.deepEqual(
          notAcked.map((record) => `${record.id}: ${record.status} ${record.httpStatus ?? ''} ${record.error ?? ''}`),
          [],
          'every write should be acknowledged',
        );
        const writes = records.map(acknowledged);
        const { events, unparsed } = await parseStraceFile(traceFile);
        assert.deepEqual(unparsed.slice(0, 5), [], 'strace lines the parser could not read');
        const report = checkFlushOrder(events, target, writes, VALUE_TOKEN);
        const size = statSync(traceFile).size;
        const split = events.filter((event) => event.endLine !== event.startLine).length;
        console.log(
          `${path.name}, ${durability}: ${writes.length} acknowledged writes, trace ${(size / 1e6).toFixed(1)} MB, ${events.length} calls (${split} interrupted by other threads), ` +
            `${JSON.stringify(report.counts)}, ${report.violations.length} violate the order`,
        );
        return { report, events, records, writes, traceFile, target };
      }

      function keepReport(name: string, run: TracedRun, note: string): string {
        const files: ReportFile[] = [
          {
            name: 'summary.txt',
            content: `${note}\nflush target ${JSON.stringify(run.target)}\n${JSON.stringify(run.report.counts)}\nlog problems:\n${run.report.logProblems.join('\n')}\n`,
          },
          { name: 'verdicts.txt', content: `${run.report.verdicts.map(describeVerdict).join('\n')}\n` },
          { name: 'history.ndjson', content: ndjson(run.records) },
        ];
        // The trace can be large; keep it when it is reasonable, otherwise name where it is.
        if (statSync(run.traceFile).size < 200e6)
          files.push({ name: 'server.strace', content: { copyFrom: run.traceFile } });
        return writeFaultReport(name, files);
      }

      let run: TracedRun;
      const seed = seedFromEnv();
      before(async () => {
        run = await tracedRun('strict', 1, new Random(seed));
      });

      it('strict durability: flush of the durable file between the data write and the reply, for every write', () => {
        assert.equal(run.writes.length, SEQUENTIAL_WRITES + CONCURRENT_CLIENTS * WRITES_PER_CLIENT);
        if (run.report.logProblems.length > 0 || run.report.violations.length > 0) {
          const dir = keepReport(`fsync-order-strict-${path.args.length === 0 ? 'wal' : 'lmdb'}`, run, `seed ${seed}`);
          assert.fail(
            `${run.report.violations.length} write(s) not flushed before their reply, ${run.report.logProblems.length} log problem(s); first: ` +
              `${[...run.report.logProblems, ...run.report.violations.map(describeVerdict)].slice(0, 3).join(' | ')}; report: ${dir}`,
          );
        }
        const flushesUsed = new Set(run.report.verdicts.map((verdict) => verdict.flush!.startLine));
        console.log(
          `strict: ${run.writes.length} writes covered by ${flushesUsed.size} distinct flushes (first flush after each write's data)`,
        );
      });

      /** Runs the checker on a rewritten copy of the strict log; returns the writes it did not flag. */
      async function checkRewritten(
        name: string,
        lines: string[],
      ): Promise<{ unflagged: string[]; report: FlushOrderReport }> {
        const file = `${run.traceFile}.${name}`;
        writeFileSync(file, `${lines.join('\n')}\n`);
        const { events, unparsed } = await parseStraceFile(file);
        assert.deepEqual(unparsed.slice(0, 5), []);
        const report = checkFlushOrder(events, run.target, run.writes, VALUE_TOKEN);
        assert.deepEqual(report.logProblems, []);
        const flagged = new Set(report.violations.map((verdict) => verdict.write.label));
        console.log(`${name}: ${report.violations.length} of ${run.writes.length} writes flagged`);
        return { unflagged: run.writes.map((write) => write.label).filter((label) => !flagged.has(label)), report };
      }

      it("negative control: the same log with every reply moved before its commit's flush is caught for every write", async () => {
        assert.equal(run.report.violations.length, 0, 'needs a correct strict log to rewrite');
        const lines = readFileSync(run.traceFile, 'latin1').split('\n');
        if (lines.at(-1) === '') lines.pop();
        const moves = run.report.verdicts.map((verdict) => ({ reply: verdict.reply!, data: verdict.dataWrite! }));
        const { unflagged, report } = await checkRewritten('reply-first', replyRightAfterData(lines, moves));
        assert.deepEqual(unflagged, []);
        for (const verdict of report.violations) assert.match(verdict.problems.join('; '), /no flush of the store/u);
      });

      it('negative control: a real server with --durability relaxed (no flush before replying) is caught for every write', async () => {
        const relaxed = await tracedRun('relaxed', 2, new Random(seed + 1));
        const flagged = new Set(relaxed.report.violations.map((verdict) => verdict.write.label));
        const unflagged = relaxed.writes.map((write) => write.label).filter((label) => !flagged.has(label));
        assert.deepEqual(unflagged, [], 'every write of a server that never flushes before replying must be flagged');
      });

      it('negative control: the same log without its flush calls is caught for every write', async () => {
        assert.equal(run.report.violations.length, 0, 'needs a correct strict log to rewrite');
        const lines = readFileSync(run.traceFile, 'latin1').split('\n');
        if (lines.at(-1) === '') lines.pop();
        const target = run.target;
        const flushes = run.events.filter(
          (event) =>
            FD_FLUSH_CALLS.has(event.name) &&
            (target.kind === 'lmdb'
              ? event.fdTarget === target.file
              : event.fdTarget?.startsWith(`${target.directory}/`)),
        );
        assert.ok(flushes.length > 0);
        const { unflagged } = await checkRewritten('no-flush', withoutCalls(lines, flushes));
        assert.deepEqual(unflagged, []);
      });
    },
  );
