// The engine conformance suite on the in-memory engine.

import { MemoryEngine } from '../../src/storage/memory/memory-engine.js';
import { runEngineConformance } from './conformance.js';

runEngineConformance(
  'memory',
  async (options) => {
    const engine = new MemoryEngine({
      logLength: options.logLength,
      logValueMax: options.logValueMax,
      ...(options.auditRetention !== undefined && { auditRetention: options.auditRetention }),
      ...(options.historyRetention !== undefined && { historyRetention: options.historyRetention }),
    });
    return { engine, cleanup: () => engine.close() };
  },
  { durable: false },
);
