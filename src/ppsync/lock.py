"""One run per target: an exclusive, non-blocking ``flock`` on ``<target>/.ppsync/lock``.

The kernel drops the lock when the process dies (even by SIGKILL), so a crash never leaves a
stale lock behind.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path
from types import TracebackType

from ppsync.errors import LockHeld


class TargetLock:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    def __enter__(self) -> TargetLock:
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
                holder = self._path.read_text(errors="replace").strip() or "unknown"
                raise LockHeld(f"another ppsync run (pid {holder}) is working on this target; "
                               f"lock file {self._path}") from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None
