"""The disk reserve, ``[mirror] min_free``: a download that would leave less free space than
that on the target's disk is not started.

The first download refused stops the pass's downloading: every later one waits too, and the
pass ends (``DiskFull``, exit 1) with one line saying how much is free, how much is reserved
and what waits. So the state, the sidecars, the manifests and whatever else shares the disk
keep room, and nothing is half-written. The next pass tries again, and goes on once there is
room. With ``[retention] make_room`` the oldest set-aside items are pruned first.

Free space is what an unprivileged process may use (``f_bavail``): running as root, ppsync
still leaves a filesystem's root reserve (ext4's 5 %) alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from ppsync.config import Size
from ppsync.logs import get_logger
from ppsync.mirror.downloader import partial_path
from ppsync.models import RemoteFile, RunReport
from ppsync.report import human_size

log = get_logger("ppsync.reserve")


def disk_space(path: Path) -> tuple[int, int]:
    """(bytes free for an unprivileged process, size of the disk) of the filesystem holding
    ``path``: the one place ppsync reads free space. (0, 0) where the filesystem says nothing
    (some FUSE and network filesystems): the reserve then cannot be kept, and is not."""
    info = os.statvfs(path)
    return info.f_bavail * info.f_frsize, info.f_blocks * info.f_frsize


class DiskReserve:
    """Admits downloads while they leave ``min_free`` free; counts those that wait."""

    def __init__(self, target: Path, partial: Path, min_free: Size, report: RunReport,
                 make_room: Callable[[int], int] | None = None) -> None:
        self._target = target
        self._partial = partial
        self._report = report
        self._make_room = make_room
        try:
            free, total = disk_space(target)
        except OSError:  # the target went between the guard and here: the pass finds out
            free, total = 0, 0
        self.minimum = min_free.of(total)
        self._measurable = total > 0
        if self.minimum and not self._measurable:
            log.warning("the target's filesystem does not report its free space: the disk "
                        "reserve ([mirror] min_free) cannot be kept", target=str(target))
        self.free_seen = free
        self.stopped = False

    def admit(self, remote: RemoteFile, in_flight: Iterable[RemoteFile],
              settle: Callable[[], None]) -> bool:
        """May ``remote`` be downloaded now, with ``in_flight`` still to land? ``settle``
        waits for those (before pruning for room: no download then reads the trash).
        A refusal is counted, and every later call refuses too."""
        if self.minimum <= 0 or not self._measurable:
            return True
        if not self.stopped:
            pending = list(in_flight)
            free = disk_space(self._target)[0]
            # The fast path: as if nothing in flight, nor this file, had written a byte yet.
            if free - sum(max(0, r.size) for r in [remote, *pending]) >= self.minimum:
                return True
            need = max(0, remote.size) - self._held(remote)
            free -= sum(max(0, r.size) - self._held(r) for r in pending)
            if free - need < self.minimum and self._make_room is not None:
                settle()
                short = self.minimum + need - disk_space(self._target)[0]
                if short > 0:
                    self._make_room(short)
                free = disk_space(self._target)[0]
            if free - need >= self.minimum:
                return True
            self.stopped, self.free_seen = True, max(0, free)
            log.error("disk nearly full: downloads stop for this pass", free=free,
                      reserved=self.minimum, path=remote.name)
        self._report.waiting_for_room += 1
        self._report.waiting_bytes += max(0, remote.size)
        return False

    def _held(self, remote: RemoteFile) -> int:
        """Bytes of ``remote`` already in its partial file (a resumed download needs the rest)."""
        try:
            return os.stat(partial_path(self._partial, remote)).st_size
        except OSError:
            return 0

    def message(self) -> str:
        """The one line a pass that had downloads wait ends with."""
        files = self._report.waiting_for_room
        return (f"disk nearly full: {human_size(self.free_seen)} free, "
                f"{human_size(self.minimum)} reserved ([mirror] min_free), {files} "
                f"file{'s' if files != 1 else ''} ({human_size(self._report.waiting_bytes)}) "
                "wait; the next pass goes on once there is room")
