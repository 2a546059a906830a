"""The rolling scrub: after a pass, re-read a slice of the mirror, least recently verified
first, and repair what no longer matches the server's SHA-1.

The slice is sized so every mirrored file is re-hashed at least once per ``[scrub] every``:
the files whose last verification would be ``every`` old before the next pass, and at least
``every``'s share of the mirror for one gap between passes (the schedule's interval, or the
gap since the last scrub when that is longer: a cron job or a timer runs ``sync`` at times
ppsync cannot read). It runs after the pass's downloads are all in place, under the pass's
lock, so it never competes with them for the disk; its reads are held to ``max_rate``.

A damaged file (missing, truncated, or bytes that no longer match) is downloaded again into
``.ppsync/partial/`` and verified like any download; only then is the damaged copy moved to
``.ppsync/damaged/`` (never deleted) and the good one renamed into place. When the server no
longer has those bytes, the damaged copy stays as it is (it may be the only one left) and is
reported on every pass, exit 1, until the user puts a good copy there or the file leaves the
mirror. Sidecars and album manifests take their turns as well: one whose bytes are no longer
what ppsync wrote (``written`` in the state) is made again. A periodic ``PRAGMA quick_check``
of the state is part of the scrub.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ppsync.config import Settings
from ppsync.errors import IntegrityError, PpsyncError, RemoteFileMissing
from ppsync.fsutil import (
    READ_CHUNK,
    ensure_parent_dirs,
    existing_path,
    fsync_dir,
    move_into,
    set_mtime_from_http,
)
from ppsync.logs import get_logger
from ppsync.mirror.downloader import fetch
from ppsync.mirror.executor import Layout
from ppsync.models import Failure, LocalRecord, RemoteFile, RunReport
from ppsync.redact import redact
from ppsync.servers.base import PhotoServer
from ppsync.state import State
from ppsync.state.backup import damaged_error, problems_of

log = get_logger("ppsync.scrub")

LAST_SCRUB_KEY = "scrub_last_at"
CYCLE_STARTED_KEY = "scrub_cycle_started"
CYCLE_DONE_KEY = "scrub_cycle_done"
STATE_CHECKED_KEY = "state_checked_at"
STATE_CHECK_EVERY = 86400.0  # quick_check reads the whole state: once a day is plenty
# Verification times are recorded by 100 files or each second (and on any exit): a pass
# killed outright loses at most a second of the scrub's work.
FLUSH_EVERY = 100
FLUSH_SECONDS = 1.0
KEPT = "the server no longer has these bytes"


def damaged_folder(layout: Layout) -> Path:
    return layout.meta / "damaged"


class Throttle:
    """Hold reads to ``rate`` bytes per second (0: no limit); waits end at once on ``stop``."""

    def __init__(self, rate: int, stop: threading.Event) -> None:
        self._rate = rate
        self._stop = stop
        self._started = time.monotonic()
        self._read = 0

    def spent(self, count: int) -> None:
        if not self._rate:
            return
        self._read += count
        ahead = self._read / self._rate - (time.monotonic() - self._started)
        if ahead > 0:
            self._stop.wait(ahead)


def hash_file(path: Path, throttle: Throttle, stop: threading.Event) -> tuple[str, int] | None:
    """(SHA-1 hex, bytes read) of ``path``, or None when ``stop`` was set meanwhile (checked
    after every chunk, so a stop is heard within one chunk's read)."""
    digest = hashlib.sha1()
    buffer = bytearray(READ_CHUNK)
    view = memoryview(buffer)
    total = 0
    with path.open("rb", buffering=0) as handle:
        while count := handle.readinto(buffer):
            digest.update(view[:count])
            total += count
            throttle.spent(count)
            if stop.is_set():
                return None
    return digest.hexdigest(), total


def slice_size(total: int, due: int, period: float, every: float) -> int:
    """How many files this pass re-reads: those due before the next pass, and at least the
    share of ``total`` one ``period`` is of ``every``."""
    share = math.ceil(total * min(1.0, period / every)) if every > 0 else 0
    return min(total, max(due, share))


@dataclass
class Scrub:
    """One slice of the scrub, after a pass (``run``)."""

    settings: Settings
    state: State
    layout: Layout
    server: PhotoServer | None
    report: RunReport
    stop: threading.Event
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.stale_photos: list[str] = []  # photos whose sidecars no longer match

    def run(self) -> None:
        """Re-read this pass's slice, repair what it can, record when each file was verified.
        Raises ``StateDamaged`` when the periodic check finds the state damaged."""
        now = self.clock()
        if not self.layout.meta.is_dir():
            # The disk went away under the pass (its end says so, exit 4): every file would
            # look missing, and nothing can be repaired onto it.
            log.warning("scrub skipped: the mirror's .ppsync folder is gone")
            return
        self._check_state(now)
        state, every = self.state, self.settings.scrub.every_seconds
        state.catch_up_verified(now)
        if state.get_meta(CYCLE_STARTED_KEY) is None:
            state.set_meta(CYCLE_STARTED_KEY, repr(now))
        last = state.get_meta(LAST_SCRUB_KEY)
        period = self._period(now, float(last) if last else None)
        total = state.count_active()
        size = slice_size(total, state.count_verified_before(now + period - every), period,
                          every)
        throttle = Throttle(self.settings.scrub.rate, self.stop)
        done: list[tuple[str, str, float]] = []
        flushed = time.monotonic()
        try:
            for record, _ in state.least_recently_verified(size):
                if self.stop.is_set():
                    break
                if self._check(record, throttle):
                    done.append((record.file_uid, record.sha1, self.clock()))
                if len(done) >= FLUSH_EVERY or time.monotonic() - flushed >= FLUSH_SECONDS:
                    state.mark_verified(done)
                    done, flushed = [], time.monotonic()
        finally:  # a stop or a signal keeps what was verified: the next pass resumes there
            state.mark_verified(done)
        state.set_meta(LAST_SCRUB_KEY, repr(now))  # the gap between passes, stopped or not
        self._cycle(now, total)
        self._written_next(now, period, every)
        log.info("scrub", checked=self.report.scrubbed, bytes=self.report.scrubbed_bytes,
                 damaged=self.report.damaged, repaired=self.report.repaired,
                 kept=self.report.damaged_kept,
                 cycle_progress=round(self.report.scrub_progress, 4))

    def _period(self, now: float, last: float | None) -> float:
        """The gap to plan for: the schedule's interval, or the gap since the last scrub when
        that is longer (a cron job or timer, whose schedule ppsync cannot read), at most
        ``every``. A cron schedule with no scrub yet plans for a day."""
        schedule, every = self.settings.schedule, self.settings.scrub.every_seconds
        configured = 0.0 if schedule.cron else schedule.interval_seconds
        observed = min(max(0.0, now - last), every) if last is not None else 0.0
        return max(configured, observed) or min(86400.0, every)

    def _written_next(self, now: float, period: float, every: float) -> None:
        """What ppsync wrote beside the originals takes its turn too: a sidecar or manifest
        that no longer has the bytes ppsync wrote is made again (``stale_photos``: by the
        caller, this pass; an album folder: rebuilt by the next pass's album export)."""
        state = self.state
        rows = state.written_to_check(slice_size(state.count_written(), 0, period, every))
        compared: list[str] = []
        for path, sha1, kind, owner in rows:
            if self.stop.is_set():
                break
            compared.append(path)
            if not self._still_ours(path, kind, owner):
                state.forget_written(path)
                continue
            local = existing_path(self.layout.target, path)
            try:
                intact = local is not None and hashlib.sha1(local.read_bytes()).hexdigest() == sha1
            except OSError:
                intact = False
            if intact:
                continue
            log.warning("a file ppsync wrote no longer matches; it is written again", path=path)
            if kind == "manifest":
                state.recheck_albums([owner])
            else:
                self.stale_photos.append(owner)
        state.written_checked(compared, now)

    def _still_ours(self, path: str, kind: str, owner: str) -> bool:
        """Is ``path`` still where ppsync keeps this sidecar or manifest?"""
        if kind == "manifest":
            folder = self.state.album_folder(owner)
            albums = self.settings.albums
            return folder is not None and albums.mode != "none" and \
                path == f"{albums.folder}/{folder}/.album.json"
        base = self.state.sidecar_base(owner)
        wanted = self.settings.metadata.sidecars
        suffixes = {"json": (".ppsync.json",), "xmp": (".ppsync.xmp",),
                    "both": (".ppsync.json", ".ppsync.xmp")}.get(wanted, ())
        return base is not None and any(path == base + suffix for suffix in suffixes)

    def _check_state(self, now: float) -> None:
        """``PRAGMA quick_check`` once a day (or once per ``every`` when shorter)."""
        last = self.state.get_meta(STATE_CHECKED_KEY)
        if last is not None and now - float(last) < min(STATE_CHECK_EVERY,
                                                         self.settings.scrub.every_seconds):
            return
        problems = problems_of(self.state.db.conn)
        if problems:
            raise damaged_error(self.state.path, "; ".join(problems[:3]))
        self.state.set_meta(STATE_CHECKED_KEY, repr(now))

    def _cycle(self, now: float, total: int) -> None:
        """A cycle ends when every file without kept damage was verified after it began (a
        file first seen then counts once it is re-read)."""
        state = self.state
        started = float(state.get_meta(CYCLE_STARTED_KEY) or now)
        oldest = state.oldest_verification(undamaged=True)
        if total and (oldest is None or oldest > started) and not self.stop.is_set():
            state.set_meta(CYCLE_DONE_KEY, repr(now))
            state.set_meta(CYCLE_STARTED_KEY, repr(now))
            started = now
            log.info("scrub cycle complete: every mirrored file was re-read", files=total)
        done = state.get_meta(CYCLE_DONE_KEY)
        self.report.scrub_cycle_done_at = float(done) if done else 0.0
        fresh = state.count_verified_since(started)
        self.report.scrub_progress = 1.0 if not total else max(0.0, min(1.0, fresh / total))

    # --- one file ------------------------------------------------------------------------------

    def _check(self, record: LocalRecord, throttle: Throttle) -> bool:
        """Re-read one file. True when it is intact now (as found, or repaired)."""
        local = existing_path(self.layout.target, record.path)
        damage, actual = "", ""
        if local is None:
            damage = "missing"
        else:
            try:
                size = local.stat().st_size
                if 0 <= size < record.size:
                    damage = f"truncated: {size} of {record.size} bytes"
                elif record.size >= 0 and size != record.size:
                    damage = f"{size} bytes where {record.size} were mirrored"
                else:
                    hashed = hash_file(local, throttle, self.stop)
                    if hashed is None:
                        return False  # stopped: not verified, first in line next time
                    actual, read = hashed
                    self.report.scrubbed_bytes += read
                    if actual == record.sha1:
                        self.report.scrubbed += 1
                        return True
                    damage = f"its SHA-1 is {actual}, not the mirrored {record.sha1}"
            except OSError as exc:  # a bad sector answers EIO: that is damage too
                damage = f"cannot be read: {exc.strerror or exc}"
        self.report.scrubbed += 1
        self.report.damaged += 1
        log.error("damaged file found", path=record.path, damage=damage)
        return self._repair(record, local, damage, actual)

    def _repair(self, record: LocalRecord, local: Path | None, damage: str,
                actual: str) -> bool:
        """Download the file again and put it in place, the damaged copy moved aside first;
        or keep the damaged copy when the server no longer has the bytes."""
        state = self.state
        remote = RemoteFile(record.file_uid, record.photo_uid, record.path, record.sha1,
                            record.size)
        if self.server is None:
            return self._unrepaired(record, damage, "no server session to repair it from")
        try:
            fetched = fetch(self.server, remote, self.layout.partial, self.layout.target,
                            record.path, adopt=False)
        except (RemoteFileMissing, IntegrityError) as exc:
            state.mark_damaged(record.file_uid, record.sha1, f"{damage}; {KEPT}")
            self.report.damaged_kept += 1
            self._fail(record.path, f"damaged ({damage}) and {KEPT} ({exc}): kept as it is; "
                       "put a good copy there, or remove it, to end this report")
            return False
        except Exception as exc:  # a server error, or a connection cut by a shutdown
            if not isinstance(exc, PpsyncError | OSError) and not self.stop.is_set():
                raise
            return self._unrepaired(record, damage, str(exc) or type(exc).__name__)
        assert fetched.part is not None
        if not fetched.synced:  # small files are grouped by the executor; this one is alone
            with fetched.part.open("rb") as handle:
                os.fsync(handle.fileno())
        final = ensure_parent_dirs(self.layout.target, record.path)
        if local is not None or final.is_symlink() or final.exists():
            suffix = f"~{actual[:12]}" if actual else "~damaged"
            aside = move_into(final, damaged_folder(self.layout), record.path, suffix)
            log.warning("damaged copy kept aside", path=record.path,
                        kept_at=self.layout.relative(aside))
        os.replace(fetched.part, final)
        set_mtime_from_http(final, fetched.last_modified)
        fsync_dir(final.parent)
        self.report.repaired += 1
        log.warning("damaged file repaired from the server", path=record.path,
                    bytes=fetched.bytes_received)
        return True

    def _unrepaired(self, record: LocalRecord, damage: str, why: str) -> bool:
        self.state.mark_damaged(record.file_uid, record.sha1, f"{damage}; not repaired: {why}")
        self._fail(record.path, f"damaged ({damage}); not repaired this pass: {why}; the next "
                   "pass tries again")
        return False

    def _fail(self, path: str, reason: str) -> None:
        self.report.failures.append(Failure(redact(path), redact(reason)))
        log.error("failed", path=redact(path), reason=redact(reason))
