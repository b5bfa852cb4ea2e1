// The file operations the WAL needs, as promises over node:fs's callback API (which runs them on
// libuv's thread pool, never on the event loop thread). Kept behind an interface so the tests can
// inject faults (ENOSPC on a write, EIO on fdatasync) without a kernel-level injector.

import * as fs from 'node:fs';

export interface WalFiles {
  /** Opens (creating if needed, never truncating) a file for reading and writing. */
  openForAppend(path: string): Promise<number>;
  /** Creates a new empty file for writing, replacing one of the same name. */
  create(path: string): Promise<number>;
  /** Writes all of `data` at `position`; a short write is an error. */
  writeAll(fd: number, data: Buffer, position: number): Promise<void>;
  datasync(fd: number): Promise<void>;
  truncate(fd: number, length: number): Promise<void>;
  close(fd: number): Promise<void>;
  /** fsync of a directory, so entries created, renamed or removed in it are durable. */
  syncDirectory(path: string): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  list(path: string): Promise<string[]>;
  remove(path: string): Promise<void>;
  makeDirectory(path: string): Promise<boolean>;
}

const call = <T>(start: (done: (error: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> =>
  new Promise<T>((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value))));

async function writeAll(fd: number, data: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const count = await call<number>((done) =>
      fs.write(fd, data, written, data.length - written, position + written, done),
    );
    // A regular file returns a short count only when the disk fills; the next call reports why.
    if (count === 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'EIO' });
    written += count;
  }
}

/**
 * The whole file in as few reads as the kernel allows (one, for a segment): fs.promises.readFile
 * reads in 512 KiB chunks, a thread-pool round trip each, 128 of them for a full segment.
 */
async function readFile(path: string): Promise<Buffer> {
  const fd = await call<number>((done) => fs.open(path, 'r', done));
  try {
    const { size } = await call<fs.Stats>((done) => fs.fstat(fd, done));
    // Nothing writes the log while it is read (one process owns the store), so its size holds.
    const bytes = Buffer.allocUnsafe(size);
    let length = 0;
    while (length < size) {
      const count = await call<number>((done) => fs.read(fd, bytes, length, size - length, length, done));
      if (count === 0) break;
      length += count;
    }
    return length === size ? bytes : bytes.subarray(0, length);
  } finally {
    await call<void>((done) => fs.close(fd, (error) => done(error, undefined)));
  }
}

export const nodeWalFiles: WalFiles = {
  openForAppend: (path) =>
    call<number>((done) => fs.open(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600, done)),
  create: (path) => call<number>((done) => fs.open(path, 'w', 0o600, done)),
  writeAll,
  datasync: (fd) => call<void>((done) => fs.fdatasync(fd, (error) => done(error, undefined))),
  truncate: (fd, length) => call<void>((done) => fs.ftruncate(fd, length, (error) => done(error, undefined))),
  close: (fd) => call<void>((done) => fs.close(fd, (error) => done(error, undefined))),
  async syncDirectory(path) {
    const fd = await call<number>((done) => fs.open(path, 'r', done));
    try {
      await call<void>((done) => fs.fsync(fd, (error) => done(error, undefined)));
    } finally {
      await call<void>((done) => fs.close(fd, (error) => done(error, undefined)));
    }
  },
  readFile,
  list: (path) => fs.promises.readdir(path),
  remove: (path) => fs.promises.unlink(path),
  async makeDirectory(path) {
    const created = await fs.promises.mkdir(path, { recursive: true, mode: 0o700 });
    return created !== undefined;
  },
};
