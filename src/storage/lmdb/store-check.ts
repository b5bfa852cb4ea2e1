// The offline check behind `kvs check --data DIR` (docs/durability.md, "Damaged or missing
// store"): the file checks of store-files.ts, then every record's checksum and the invariants
// that tie the sub-databases together, read in one read-only LMDB transaction.

import { open } from 'lmdb';
import { join } from 'node:path';
import type { ChangeEvent } from '../../model/events.js';
import { isLmdbDamage } from './lmdb-errors.js';
import { isLogFormat2, logEntryIntact } from './log-codec.js';
import { decodeRecord, recordState } from './record-codec.js';
import { checkStoreFiles, STORE_FILE, WAL_DIRECTORY } from './store-files.js';
import type { StoredRecord } from '../txn-plan.js';
import { auditEntryIntact } from '../audit-codec.js';
import { FolderCountStream } from '../folder-index.js';
import { utf8KeyEncoder } from './utf8-key-encoder.js';
import { checkWal, type WalCheck, type WalCheckReport } from './wal-check.js';

export interface StoreCheckReport {
  readonly path: string;
  readonly revision: number;
  readonly oldestRevision: number;
  readonly records: number;
  /** Records with checksums that match. */
  readonly checked: number;
  /** Records from before checksums (format 1), readable but not verifiable. */
  readonly unchecked: number;
  /** Keys whose record failed its checksum (at most `listLimit` of them). */
  readonly damagedKeys: string[];
  readonly damaged: number;
  readonly logEntries: number;
  readonly expiryEntries: number;
  /** Broken invariants and LMDB errors met while reading (at most `listLimit`). */
  readonly problems: string[];
  readonly problemCount: number;
  /** The write-ahead log beside the store (DATA/wal). */
  readonly wal: WalCheckReport;
}

export interface StoreCheckOptions {
  readonly listLimit?: number;
  /**
   * Called with each intact record (for `kvs check --salvage`): lmdb's, except for keys that
   * acknowledged commits only in the WAL wrote later, then those keys' final WAL records.
   */
  readonly onIntact?: (key: string, record: StoredRecord) => void;
  /**
   * Called every PROGRESS_ROWS rows read and between the check's steps: `kvs check` runs the
   * check in a child and kills it when this stops (a damaged tree can make LMDB loop or hang).
   */
  readonly onProgress?: () => void;
}

/** Rows read between two onProgress calls. */
const PROGRESS_ROWS = 1024;

/** Throws StoreFileError when the store cannot be opened; otherwise reports what it found. */
export async function checkStore(dataDir: string, options: StoreCheckOptions = {}): Promise<StoreCheckReport> {
  const listLimit = options.listLimit ?? 100;
  let rows = 0;
  const progress = options.onProgress ?? ((): void => {});
  /** One more row read: every PROGRESS_ROWS rows, progress. */
  const row = (): void => {
    if (++rows % PROGRESS_ROWS === 0) progress();
  };
  const files = checkStoreFiles(dataDir);
  const path = join(dataDir, STORE_FILE);
  if (!files.exists) throw new Error(`${path} does not exist`);
  const root = open({ path, readOnly: true, maxDbs: 16, compression: false });
  const damagedKeys: string[] = [];
  const problems: string[] = [];
  let damaged = 0;
  let problemCount = 0;
  const problem = (text: string): void => {
    problemCount++;
    if (problems.length < listLimit) problems.push(text);
  };
  let records = 0;
  let checked = 0;
  let unchecked = 0;
  let logEntries = 0;
  let expiryEntries = 0;
  let revision = 0;
  let oldestRevision = 1;
  let wal: WalCheck | undefined;
  try {
    const kv = root.openDB<Buffer, string>({ name: 'kv', encoding: 'binary', keyEncoder: utf8KeyEncoder } as {
      name: string;
      encoding: 'binary';
    });
    const meta = root.openDB<number, string>({ name: 'meta', encoding: 'msgpack' });
    const legacyLog = root.openDB<ChangeEvent[], number>({ name: 'log', encoding: 'msgpack' });
    const log = root.openDB<Buffer, number>({ name: 'log', encoding: 'binary' });
    const expiry = root.openDB<string, [number, string]>({ name: 'expiry', encoding: 'msgpack' });
    // Its values (the key, or the key and its expiry) are not checked: only the entries' keys.
    const recent = root.openDB<unknown, [number, string]>({ name: 'recent', encoding: 'msgpack' });
    const folders = root.openDB<number, string>({
      name: 'folders',
      encoding: 'msgpack',
      keyEncoder: utf8KeyEncoder,
    } as {
      name: string;
      encoding: 'msgpack';
    });
    const guarded = <T>(what: string, read: () => T): T | undefined => {
      progress();
      try {
        return read();
      } catch (error) {
        problem(
          `${what}: ${isLmdbDamage(error) ? 'LMDB reports damaged pages' : 'unreadable'} (${error instanceof Error ? error.message : String(error)})`,
        );
        return undefined;
      }
    };
    revision = guarded('meta revision', () => meta.get('revision')) ?? 0;
    oldestRevision = guarded('meta oldest', () => meta.get('oldest')) ?? 1;
    const upgraded = files.alwaysChecksummed || guarded('meta recordFormat', () => meta.get('recordFormat')) === 2;
    if (!Number.isSafeInteger(revision) || revision < 0)
      problem(`meta: store revision ${String(revision)} is not a whole number`);
    // The server refuses such a store rather than build the index again into it (lmdb-engine.ts).
    if (files.indexedSinceCreation) {
      const flags = guarded('meta flags', () => ({
        recentIndexed: meta.get('recentIndexed') === 1,
        foldersIndexed: meta.get('foldersIndexed') === 1,
        logChecksummedFrom: Number.isSafeInteger(meta.get('logChecksummedFrom')),
      }));
      for (const [flag, present] of Object.entries(flags ?? {}))
        if (!present) problem(`meta: ${flag} is missing, but the store has held it since its creation (kvs.store)`);
    }
    // The WAL is read before the records, so that a key an acknowledged commit only in the WAL
    // wrote later is salvaged from there, never with lmdb's older record.
    wal = await checkWal(join(dataDir, WAL_DIRECTORY), revision, listLimit);
    progress();
    const newerInWal = wal.finals;
    const expiresOf = new Map<string, number>();
    const modRevisionOf = new Map<string, number>();
    // The folder index (folder-index.ts) is checked against the stored keys, damaged ones
    // included, counted as the scan meets them (in key order, as the stream needs).
    const folderCounts = new Map<string, number>();
    const folderStream = new FolderCountStream((folder, count) => folderCounts.set(folder, count));
    guarded('kv tree', () => {
      for (const { key, value } of kv.getRange({ start: '' })) {
        row();
        records++;
        folderStream.add(key);
        const state = recordState(value, key, !upgraded);
        if (state === 'damaged') {
          damaged++;
          if (damagedKeys.length < listLimit) damagedKeys.push(key);
          continue;
        }
        if (state === 'ok') checked++;
        else unchecked++;
        const record = decodeRecord(value, key, !upgraded);
        if (
          !(record.createRevision >= 1 && record.createRevision <= record.modRevision && record.modRevision <= revision)
        ) {
          problem(
            `key ${JSON.stringify(key)}: revisions create ${record.createRevision}, mod ${record.modRevision} do not fit the store revision ${revision}`,
          );
        }
        if (!(Number.isSafeInteger(record.version) && record.version >= 1))
          problem(`key ${JSON.stringify(key)}: version ${record.version} is not a positive whole number`);
        if (record.expires !== null) expiresOf.set(key, record.expires);
        modRevisionOf.set(key, record.modRevision);
        if (!newerInWal.has(key)) options.onIntact?.(key, record);
      }
    });
    // Every key the scan met is also looked up by key, as the server reads it: the scan walks the
    // tree in order, a lookup descends it by comparing keys, and a damaged branch page can send
    // one astray (a key the scan finds but a lookup does not) or crash it (then the child dies,
    // and the check reports the store unreadable, exit 2) while the scan passes.
    guarded('kv lookups', () => {
      for (const key of [...modRevisionOf.keys(), ...damagedKeys]) {
        row();
        if (kv.getBinary(key) === undefined)
          problem(`key ${JSON.stringify(key)}: found by the scan but not by a lookup (a damaged branch page)`);
      }
    });
    for (const [key, record] of newerInWal) if (record !== null) options.onIntact?.(key, record);
    // Each count of the folder index must be the keys stored under its folder.
    folderStream.finish();
    if (guarded('meta foldersIndexed', () => meta.get('foldersIndexed')) === 1) {
      guarded('folder index', () => {
        for (const { key: folder, value: count } of folders.getRange({})) {
          row();
          const stored = folderCounts.get(folder) ?? 0;
          folderCounts.delete(folder);
          if (count !== stored)
            problem(`folder index: ${JSON.stringify(folder)} counts ${count} keys, the store holds ${stored}`);
        }
      });
      for (const [folder, stored] of folderCounts)
        problem(`folder index: ${JSON.stringify(folder)} has no count (the store holds ${stored} under it)`);
    }
    guarded('expiry index', () => {
      for (const {
        key: [expires, key],
      } of expiry.getRange({})) {
        row();
        expiryEntries++;
        if (expiresOf.get(key) === expires) expiresOf.delete(key);
        else if (!damagedKeys.includes(key))
          problem(`expiry index: entry for ${JSON.stringify(key)} at ${expires} matches no record`);
      }
    });
    for (const key of expiresOf.keys()) problem(`key ${JSON.stringify(key)} expires but has no expiry index entry`);
    // The recent index (the index page's "recently updated"): the server walks it from the newest
    // end, so a damaged page there is met by `GET /`.
    const recentIndexed = guarded('meta recentIndexed', () => meta.get('recentIndexed')) === 1;
    guarded('recent index', () => {
      for (const {
        key: [modRevision, key],
      } of recent.getRange({})) {
        row();
        if (modRevisionOf.get(key) === modRevision) modRevisionOf.delete(key);
        else if (!damagedKeys.includes(key))
          problem(`recent index: entry for ${JSON.stringify(key)} at revision ${modRevision} matches no record`);
      }
    });
    if (recentIndexed)
      for (const key of modRevisionOf.keys()) problem(`key ${JSON.stringify(key)} has no recent index entry`);
    // The audit trail (docs/audit.md): each entry intact, under a revision the store has reached.
    const auditLog = root.openDB<Buffer, number>({ name: 'audit', encoding: 'binary' });
    guarded('audit trail', () => {
      for (const { key, value } of auditLog.getRange({})) {
        row();
        if (!(Number.isSafeInteger(key) && key >= 1 && key <= revision))
          problem(`audit trail: revision ${String(key)} is outside 1-${revision}`);
        if (!auditEntryIntact(value)) problem(`audit trail: the entry of revision ${String(key)} failed its checksum`);
      }
    });
    // From this revision on every entry has a checksum (log-codec.ts); absent: none was written yet.
    const checksummedFrom =
      guarded('meta logChecksummedFrom', () => meta.get('logChecksummedFrom')) ?? Number.POSITIVE_INFINITY;
    guarded('change log', () => {
      for (const { key, value } of log.getRange({})) {
        row();
        logEntries++;
        if (key < oldestRevision || key > revision)
          problem(`change log: revision ${key} is outside ${oldestRevision}-${revision}`);
        if (key >= checksummedFrom || isLogFormat2(value)) {
          if (!logEntryIntact(value, key)) problem(`change log: the entry of revision ${key} failed its checksum`);
        } else if (!Array.isArray(legacyLog.get(key))) {
          problem(`change log: revision ${key} does not hold a list of events`);
        }
      }
    });
  } finally {
    root.close();
  }
  return {
    path,
    revision,
    oldestRevision,
    records,
    checked,
    unchecked,
    damagedKeys,
    damaged,
    logEntries,
    expiryEntries,
    problems,
    problemCount,
    wal: wal!.report,
  };
}
