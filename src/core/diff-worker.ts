// A worker thread that diffs one pair of values (value-diff.ts) and posts the verdict, so that a
// large diff never holds the server's event loop (diff-runner.ts starts it).

import { parentPort, workerData } from 'node:worker_threads';
import { type DiffSide, diffValues } from './value-diff.js';

const { from, to } = workerData as { from: DiffSide; to: DiffSide };
// Values arrive as Uint8Arrays (structured clone): diffValues reads them as Buffers.
const asBuffer = (side: DiffSide): DiffSide => ({
  label: side.label,
  value: Buffer.from(side.value.buffer, side.value.byteOffset, side.value.byteLength),
});
parentPort!.postMessage(diffValues(asBuffer(from), asBuffer(to)));
