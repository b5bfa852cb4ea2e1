#!/usr/bin/python3
"""A pass-through FUSE file system that loses every write not yet fsynced when it is killed.

Usage: power-loss-fs.py BACKING_DIR MOUNT_POINT

Writes and truncations to a file are kept in this process's memory (reads see them) until the file
is fsynced or fdatasynced; only then are they written to BACKING_DIR and fsynced there. Killing
this process with SIGKILL is a power cut: BACKING_DIR then holds exactly what a disk would hold.
Directory operations (create, rename, unlink, mkdir) go to BACKING_DIR at once, so the model is
kinder than a real disk there; docs/wal.md says what that means. Used by test/faults/power-loss*.
Needs python3-fusepy (Debian), /dev/fuse and root.
"""

import errno
import os
import sys
import threading

from fusepy import FUSE, FuseOSError, Operations


class LossyFS(Operations):
    def __init__(self, root):
        self.root = root
        self.mutex = threading.RLock()  # not "lock": that name is the FUSE lock operation
        # path -> bytearray with the file's content as the program sees it, for files with
        # writes not yet synced. Absent: the backing file is the truth.
        self.dirty = {}

    def _full(self, path):
        return os.path.join(self.root, path.lstrip('/'))

    def _content(self, path):
        if path not in self.dirty:
            with open(self._full(path), 'rb') as backing:
                self.dirty[path] = bytearray(backing.read())
        return self.dirty[path]

    # ---- metadata, passed through at once ----
    def getattr(self, path, fh=None):
        with self.mutex:
            try:
                st = os.lstat(self._full(path))
            except OSError as error:
                raise FuseOSError(error.errno)
            attrs = {key: getattr(st, key) for key in (
                'st_atime', 'st_ctime', 'st_gid', 'st_mode', 'st_mtime', 'st_nlink', 'st_size', 'st_uid')}
            if path in self.dirty:
                attrs['st_size'] = len(self.dirty[path])
            return attrs

    def readdir(self, path, fh):
        return ['.', '..'] + os.listdir(self._full(path))

    def access(self, path, mode):
        if not os.access(self._full(path), mode):
            raise FuseOSError(errno.EACCES)

    def chmod(self, path, mode):
        return os.chmod(self._full(path), mode)

    def chown(self, path, uid, gid):
        return os.chown(self._full(path), uid, gid)

    def utimens(self, path, times=None):
        return os.utime(self._full(path), times)

    def mkdir(self, path, mode):
        return os.mkdir(self._full(path), mode)

    def rmdir(self, path):
        return os.rmdir(self._full(path))

    def statfs(self, path):
        st = os.statvfs(self._full(path))
        return {key: getattr(st, key) for key in (
            'f_bavail', 'f_bfree', 'f_blocks', 'f_bsize', 'f_favail', 'f_ffree', 'f_files', 'f_flag',
            'f_frsize', 'f_namemax')}

    def unlink(self, path):
        with self.mutex:
            self.dirty.pop(path, None)
            return os.unlink(self._full(path))

    def rename(self, old, new):
        with self.mutex:
            if old in self.dirty:
                self.dirty[new] = self.dirty.pop(old)
            else:
                self.dirty.pop(new, None)
            return os.rename(self._full(old), self._full(new))

    # ---- file data, held until synced ----
    def create(self, path, mode, fi):
        # The kernel sends CREATE for any open with O_CREAT whose name is not cached, also when
        # the file exists (atomic open): it must then open the file as it is, truncating only
        # for O_TRUNC and, like every write, only in memory until a sync.
        with self.mutex:
            full = self._full(path)
            existed = os.path.exists(full)
            fd = os.open(full, os.O_WRONLY | os.O_CREAT | (fi.flags & os.O_EXCL), mode)
            os.close(fd)
            if not existed:
                self.dirty.pop(path, None)
            elif fi.flags & os.O_TRUNC:
                self._content(path)[:] = b''
            return 0

    def open(self, path, fi):
        with self.mutex:
            if not os.path.exists(self._full(path)):
                raise FuseOSError(errno.ENOENT)
            if fi.flags & os.O_TRUNC:
                self._content(path)[:] = b''
            return 0

    def read(self, path, size, offset, fh):
        with self.mutex:
            if path in self.dirty:
                return bytes(self.dirty[path][offset:offset + size])
            with open(self._full(path), 'rb') as backing:
                backing.seek(offset)
                return backing.read(size)

    def write(self, path, data, offset, fh):
        with self.mutex:
            content = self._content(path)
            if offset > len(content):
                content.extend(b'\0' * (offset - len(content)))
            content[offset:offset + len(data)] = data
            return len(data)

    def truncate(self, path, length, fh=None):
        with self.mutex:
            content = self._content(path)
            if length < len(content):
                del content[length:]
            else:
                content.extend(b'\0' * (length - len(content)))

    def fsync(self, path, datasync, fh):
        with self.mutex:
            content = self.dirty.pop(path, None)
            if content is None:
                return 0
            fd = os.open(self._full(path), os.O_WRONLY)
            try:
                os.ftruncate(fd, len(content))
                os.pwrite(fd, bytes(content), 0)
                os.fsync(fd)
            finally:
                os.close(fd)
            return 0

    def fsyncdir(self, path, datasync, fh):
        return 0

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        return 0


if __name__ == '__main__':
    if len(sys.argv) != 3:
        print('usage: power-loss-fs.py BACKING_DIR MOUNT_POINT', file=sys.stderr)
        sys.exit(2)
    # No attribute or entry caching: a file's size must change for mmap readers (LMDB) the moment
    # a write extends it, or the kernel faults on pages it believes are past the end.
    # raw_fi: create and open see the open flags (O_TRUNC, O_EXCL).
    FUSE(LossyFS(sys.argv[1]), sys.argv[2], foreground=True, nothreads=False, allow_other=False, raw_fi=True,
         attr_timeout=0, entry_timeout=0, negative_timeout=0)
