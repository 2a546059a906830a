"""A case-insensitive, case-preserving filesystem for tests: FUSE over a plain folder.

Behaves like exFAT, FAT32 or an SMB share seen from Linux, where ``IMG.JPG`` and ``img.jpg``
are one file: every path component is matched without regard to case, new names keep the case
they were created with, and renaming a file to a name that differs only in case changes its
case. Run as its own process (``python tests/casefold_fs.py BACKING MOUNTPOINT``); it stays in
the foreground until unmounted.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

import mfusepy as fuse  # type: ignore[import-not-found, unused-ignore]


class CaseFoldPassthrough(fuse.Operations):  # type: ignore[misc, unused-ignore]
    use_ns = True  # utimens gets nanoseconds

    def __init__(self, backing: str) -> None:
        self.backing = backing

    # --- name resolution ---------------------------------------------------------------------

    def _resolve(self, path: str, *, last_may_be_new: bool = False) -> str:
        """The backing path of ``path``, each component matched case-insensitively."""
        current = self.backing
        parts = [p for p in path.split("/") if p]
        for index, part in enumerate(parts):
            match = self._match(current, part)
            if match is None:
                if last_may_be_new and index == len(parts) - 1:
                    return os.path.join(current, part)
                raise fuse.FuseOSError(errno.ENOENT)
            current = os.path.join(current, match)
        return current

    @staticmethod
    def _match(folder: str, name: str) -> str | None:
        try:
            entries = os.listdir(folder)
        except OSError:
            return None
        if name in entries:
            return name
        folded = name.casefold()
        return next((e for e in entries if e.casefold() == folded), None)

    # --- operations ----------------------------------------------------------------------------

    def access(self, path: str, amode: int) -> int:
        if not os.access(self._resolve(path), amode):
            raise fuse.FuseOSError(errno.EACCES)
        return 0

    def getattr(self, path: str, fh: Any = None) -> dict[str, Any]:
        info = os.lstat(self._resolve(path))
        return {key: getattr(info, key) for key in (
            "st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_atime", "st_mtime",
            "st_ctime", "st_ino")}

    def readdir(self, path: str, fh: Any) -> list[str]:
        return [".", "..", *os.listdir(self._resolve(path))]

    def readlink(self, path: str) -> str:
        return os.readlink(self._resolve(path))

    def mkdir(self, path: str, mode: int) -> None:
        os.mkdir(self._resolve(path, last_may_be_new=True), mode)

    def rmdir(self, path: str) -> None:
        os.rmdir(self._resolve(path))

    def unlink(self, path: str) -> None:
        os.unlink(self._resolve(path))

    def symlink(self, target: str, source: str) -> None:
        os.symlink(source, self._resolve(target, last_may_be_new=True))

    def link(self, target: str, source: str) -> None:
        os.link(self._resolve(source), self._resolve(target, last_may_be_new=True))

    def rename(self, old: str, new: str) -> None:
        source = self._resolve(old)
        parent, name = os.path.split(new)
        destination_dir = self._resolve(parent)
        existing = self._match(destination_dir, name)
        if existing is not None and os.path.join(destination_dir, existing) != source:
            os.replace(source, os.path.join(destination_dir, existing))  # replaces that entry
            source = os.path.join(destination_dir, existing)
        os.rename(source, os.path.join(destination_dir, name))  # takes the new name's case

    def chmod(self, path: str, mode: int) -> None:
        os.chmod(self._resolve(path), mode)

    def chown(self, path: str, uid: int, gid: int) -> None:
        os.chown(self._resolve(path), uid, gid)

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> None:
        os.utime(self._resolve(path), ns=times)

    def truncate(self, path: str, length: int, fh: Any = None) -> None:
        os.truncate(self._resolve(path), length)

    def statfs(self, path: str) -> dict[str, int]:
        info = os.statvfs(self._resolve(path))
        return {key: getattr(info, key) for key in (
            "f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files",
            "f_flag", "f_frsize", "f_namemax")}

    def open(self, path: str, flags: int) -> int:
        return os.open(self._resolve(path), flags)

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        return os.open(self._resolve(path, last_may_be_new=True),
                       os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        return os.pread(fh, size, offset)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        return os.pwrite(fh, data, offset)

    def flush(self, path: str, fh: int) -> None:
        pass

    def fsync(self, path: str, datasync: bool, fh: int) -> None:
        os.fsync(fh)

    def fsyncdir(self, path: str, datasync: bool, fh: Any) -> None:
        pass

    def release(self, path: str, fh: int) -> None:
        os.close(fh)


if __name__ == "__main__":
    backing, mountpoint = sys.argv[1], sys.argv[2]
    fuse.FUSE(CaseFoldPassthrough(backing), mountpoint, foreground=True, nothreads=True)
