// A process that appends to a WAL as fast as it can and prints `ack REVISION` for every record
// whose append resolved: the subject of the power-loss test (test/faults/power-loss.test.ts).
// Usage: node wal-writer-process.js DIRECTORY WRITERS SYNC(1|0) MAX_RECORDS

import { WriteAheadLog } from '../../src/storage/wal/write-ahead-log.js';

/** The payload of a revision, so the test can check every replayed byte. */
export function powerLossPayload(revision: number): Buffer {
  return Buffer.from(`revision ${revision} `.repeat((revision % 11) + 1));
}

async function main(): Promise<void> {
  const [directory, writersText, syncText, maxText] = process.argv.slice(2);
  if (directory === undefined || maxText === undefined) throw new Error('usage: DIRECTORY WRITERS SYNC MAX');
  const { wal } = await WriteAheadLog.open(directory, {
    checkpoint: 0,
    sync: syncText === '1',
    segmentBytes: 64 * 1024,
  });
  const max = Number(maxText);
  const writer = async () => {
    while (wal.nextRevision <= max) {
      const revision = wal.nextRevision;
      await wal.append(revision, powerLossPayload(revision));
      process.stdout.write(`ack ${revision}\n`);
    }
  };
  await Promise.all(Array.from({ length: Number(writersText) }, writer));
  await wal.close();
}

if (process.argv[1]?.endsWith('wal-writer-process.js')) {
  main().catch((error: unknown) => {
    process.stderr.write(`wal-writer-process: ${String(error)}\n`);
    process.exit(1);
  });
}
