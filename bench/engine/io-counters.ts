// What the engine benchmark counts as bytes written, from two places (Linux):
//
// /proc/self/io, summed over every thread of this process (the main thread, lmdb-js's write
// thread, libuv's thread pool where the WAL's pwrite and fdatasync run):
// - write_bytes: bytes the process caused to be sent to the block layer. The kernel counts it
//   when one of the process's writes turns a clean page-cache folio dirty, and counts the whole
//   folio. With small (4 KiB) folios that is 4 KiB per page dirtied between two syncs; but with
//   large folios (ext4 on kernel 6.16 and later), a 100-byte write into a clean 1 MiB folio counts
//   1 MiB, while writeback sends only the dirty 4 KiB blocks: an overcount (bench/README.md,
//   the engine suite; writeBytesPerSmallWrite below measures it). It leaves out what kernel threads write for the
//   file system (ext4's journal).
// - wchar: bytes handed to write system calls (LMDB writes whole 4 KiB pages; the WAL appends its
//   records), whether or not they reach the disk; a lower bound on what a sync sends.
// - cancelled_write_bytes: dirty bytes dropped before writeback (a file truncated or deleted).
//
// /sys/dev/block/MAJ:MIN/stat of the device holding the store: sectors the device was asked to
// write, by everything on the machine (ext4's journal included, and any other process writing to
// that disk at the same time).

import { closeSync, fdatasyncSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface IoCounters {
  readonly writeBytes: number;
  readonly wchar: number;
  readonly cancelledWriteBytes: number;
  /** Bytes written to the store's block device (whole device), or undefined if it has none. */
  readonly deviceBytes: number | undefined;
}

const SECTOR_BYTES = 512;
/** Field of /sys/block/DEV/stat: sectors written (Documentation/block/stat.rst). */
const SECTORS_WRITTEN_FIELD = 6;

function readProcIo(): Map<string, number> {
  const fields = new Map<string, number>();
  for (const line of readFileSync('/proc/self/io', 'utf8').split('\n')) {
    const [name, value] = line.split(':');
    if (name !== undefined && value !== undefined) fields.set(name.trim(), Number(value.trim()));
  }
  return fields;
}

/** The stat file of the block device that holds `path`, or undefined (tmpfs, overlay without one). */
export function deviceStatFile(path: string): string | undefined {
  const dev = statSync(path).dev;
  // glibc's gnu_dev_major / gnu_dev_minor for the encodings Linux uses.
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00);
  const file = `/sys/dev/block/${major}:${minor}/stat`;
  try {
    readFileSync(file, 'utf8');
    return file;
  } catch {
    return undefined;
  }
}

function field(fields: Map<string, number>, name: string): number {
  const value = fields.get(name);
  if (value === undefined || !Number.isFinite(value)) throw new Error(`/proc/self/io has no ${name}`);
  return value;
}

export function readIoCounters(deviceStat: string | undefined): IoCounters {
  const fields = readProcIo();
  let deviceBytes: number | undefined;
  if (deviceStat !== undefined) {
    const sectors = Number(readFileSync(deviceStat, 'utf8').trim().split(/\s+/)[SECTORS_WRITTEN_FIELD]);
    deviceBytes = Number.isFinite(sectors) ? sectors * SECTOR_BYTES : undefined;
  }
  return {
    writeBytes: field(fields, 'write_bytes'),
    wchar: field(fields, 'wchar'),
    cancelledWriteBytes: field(fields, 'cancelled_write_bytes'),
    deviceBytes,
  };
}

/**
 * What write_bytes counts for one 100-byte write plus fdatasync into a file whose page cache was
 * filled by 1 MiB writes (so it holds large folios, if the kernel uses them), averaged over a few
 * writes: about 4 KiB where folios are pages, up to 1 MiB where they are large. Shown in the
 * report so that the write_bytes column can be read for what it is.
 */
export function writeBytesPerSmallWrite(directory: string): number {
  const path = join(directory, 'folio-probe.bin');
  const fd = openSync(path, 'w+');
  try {
    const chunk = Buffer.alloc(1 << 20, 1);
    for (let index = 0; index < PROBE_CHUNKS; index++) writeSync(fd, chunk, 0, chunk.length, index * chunk.length);
    fdatasyncSync(fd);
    const small = Buffer.alloc(100, 2);
    const before = field(readProcIo(), 'write_bytes');
    for (let index = 0; index < PROBE_CHUNKS; index++) {
      // The middle of each 1 MiB chunk: a clean region each time.
      writeSync(fd, small, 0, small.length, index * chunk.length + chunk.length / 2);
      fdatasyncSync(fd);
    }
    return (field(readProcIo(), 'write_bytes') - before) / PROBE_CHUNKS;
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}

const PROBE_CHUNKS = 8;
