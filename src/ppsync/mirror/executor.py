"""Carries out actions. Downloads run on worker threads; everything that changes a final path
or the state happens here, on the coordinating thread, after the side effect succeeded.

Layout under ``<target>/.ppsync/``::

    partial/    in-flight downloads (<file key>-<SHA-1>.part), resumable across runs
    replaced/   superseded versions of edited files, displaced and untracked files that stood
                where a new original had to go (kept unless delete = "mirror")
    trash/      files removed by delete = "trash", under their relative path; the sidecars
                ppsync wrote beside a photo's original go there with it (``mirror.trash``)
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path

from ppsync.errors import DiskFull, ItemError, PpsyncError, ServerBusy, ServerError
from ppsync.fsutil import (
    ensure_parent_dirs,
    existing_path,
    fsync_dir,
    ignores_case,
    is_disk_full,
    move_into,
    same_file,
    set_mtime_from_http,
)
from ppsync.logs import get_logger
from ppsync.mirror.disk_reserve import DiskReserve
from ppsync.mirror.downloader import Fetched, fetch
from ppsync.mirror.groups import Groups
from ppsync.mirror.renditions import note_version
from ppsync.models import Action, ActionKind, Failure, LocalRecord, RecordStatus, RunReport
from ppsync.redact import redact
from ppsync.servers.base import PhotoServer
from ppsync.state import State

log = get_logger("ppsync.executor")
STOP_GRACE = 1.0  # seconds in-flight downloads get to finish once a stop is requested
KNOWN_FOLDERS = 10_000  # folders whose safety this run has checked, remembered (memory bound)


class Layout:
    """Where ppsync keeps its own files for one target."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.meta = target / ".ppsync"
        self.partial = self.meta / "partial"
        self.replaced = self.meta / "replaced"
        self.trash = self.meta / "trash"
        self.ignores_case = False  # found out by ``create``

    def create(self) -> None:
        for folder in (self.meta, self.partial):
            folder.mkdir(mode=0o700, exist_ok=True)
        self.ignores_case = ignores_case(self.partial)

    def relative(self, path: Path) -> str:
        return path.relative_to(self.target).as_posix()


class Executor:
    """Apply actions for one run. Call ``apply`` per action, then ``drain`` before removals."""

    def __init__(
        self, *, layout: Layout, state: State, server: PhotoServer, report: RunReport,
        workers: int, keep_replaced: bool, on_progress: Callable[[], None] | None = None,
        stop: threading.Event | None = None, reserve: DiskReserve | None = None,
    ) -> None:
        self._layout = layout
        self._target_str = str(layout.target)
        self._state = state
        self._server = server
        self._report = report
        self._keep_replaced = keep_replaced
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ppsync-dl")
        self._window = workers * 4  # bounded in-flight work keeps memory flat
        self._pending: dict[Future[Fetched], Action] = {}
        self._fatal: ServerError | DiskFull | None = None
        self._on_progress = on_progress or (lambda: None)
        self._stop = stop or threading.Event()
        self._reserve = reserve  # [mirror] min_free: downloads that would eat into it wait
        # A file is recorded only after its bytes and its name are on disk, by groups of
        # files (see ``groups``); a page end, a drain and ``close`` flush the group.
        self._groups = Groups(state, layout.partial, place=self._place_safely,
                              on_error=self._record_error, on_folder_error=self._folder_failed)
        # Folders checked by ensure_parent_dirs in this run (real folders inside the target),
        # by relative path: the run holds the target's lock and only ever adds folders, so a
        # folder checked once needs no stat or realpath walk for every later file in it.
        self._folders: dict[str, Path] = {}

    # --- entry points ------------------------------------------------------------------------

    def apply(self, action: Action) -> None:
        """Carry out (or start) one action from the listing. Item failures are recorded."""
        try:
            if action.kind is ActionKind.CHECK:
                self._check(action)
            elif action.kind is ActionKind.MOVE:
                self._move(action)
            elif action.kind is ActionKind.DOWNLOAD:
                self._start_download(action, adopt=action.record is None)
            elif action.kind is ActionKind.REFUSE:
                self._fail(action.path, action.reason)
            else:
                self.remove(action)
        except (ItemError, OSError) as exc:
            self._record_error(action, exc)

    def remove(self, action: Action) -> None:
        """Trash, delete or forget a tracked file that left the server (after the verdict)."""
        record = action.record
        assert record is not None
        self._record_placed()
        source = existing_path(self._layout.target, record.path)
        if source is not None and self._taken_by_another(record):
            source = None  # on a disk that ignores case, that name now holds another file
        try:
            if action.kind is ActionKind.FORGET:
                self._state.set_status(record.file_uid, RecordStatus.GONE)
                self._report.forgotten += 1
                return
            if source is not None and action.kind is ActionKind.TRASH:
                move_into(source, self._layout.trash, _outside_meta(record.path))
                fsync_dir(source.parent)
            elif source is not None:
                source.unlink()
                fsync_dir(source.parent)
            self._state.drop(record.file_uid)
            if action.kind is ActionKind.TRASH:
                self._report.trashed += 1
            else:
                self._report.deleted += 1
            log.info(action.kind.value, path=record.path)
        except OSError as exc:
            self._fail(record.path, _reason(exc))

    def drain(self, grace: float = STOP_GRACE) -> None:
        """Wait for every download, put each in place. Raises the first run-level server error
        (unreachable, auth) after everything in flight has settled. Once a stop is requested,
        downloads get ``grace`` seconds to finish; then their connections are closed and they
        stay resumable in partial/."""
        abort_at: float | None = None
        while self._pending:
            if self._stop.is_set():
                abort_at = abort_at or time.monotonic() + grace
                if time.monotonic() >= abort_at:
                    self._server.abort()
            self._collect(timeout=0.25)
        self.sync_dirs()
        if self._fatal is not None:
            raise self._fatal
        if self._reserve is not None and self._reserve.stopped:
            raise DiskFull(self._reserve.message())

    def sync_dirs(self) -> None:
        """fsync every folder that received a file since the last call, then record the files
        placed since then (one transaction)."""
        self._record_placed()

    def _record_placed(self) -> None:
        self._groups.flush()

    def _folder_failed(self, folder: Path, exc: OSError) -> None:
        self._fail(self._layout.relative(folder), f"cannot fsync folder: {_reason(exc)}")

    def _take(self, action: Action, fetched: Fetched) -> None:
        """A finished download: in place now, or with its group when its bytes await a sync."""
        if fetched.part is None or fetched.synced:
            self._place(action, fetched)
        else:
            self._groups.add_part(action, fetched)

    def _place_safely(self, action: Action, fetched: Fetched) -> None:
        try:
            self._place(action, fetched)
        except (PpsyncError, OSError) as exc:
            self._record_error(action, exc)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        try:
            self._record_placed()  # what was placed before a stop or an error is kept
        except (sqlite3.Error, OSError) as exc:  # the run's end is still recorded
            log.error("cannot record the files placed last; the next run adopts them",
                      error=str(exc))

    @property
    def pending(self) -> int:
        return len(self._pending)

    # --- listing actions ---------------------------------------------------------------------

    def _check(self, action: Action) -> None:
        record, remote = action.record, action.remote
        assert record is not None and remote is not None
        # The hot path of a no-op run: one lstat, no path resolution. Reading metadata through
        # a symlinked folder is harmless; the final component must be a regular file.
        try:
            info = os.lstat(os.path.join(self._target_str, record.path))
        except OSError:
            info = None
        if info is not None and stat.S_ISREG(info.st_mode) and (
                remote.size < 0 or info.st_size == remote.size):
            self._report.unchanged += 1
            self._on_progress()
            return
        log.warning("local copy missing or changed; downloading again", path=record.path)
        self._start_download(action, adopt=False)

    def _current(self, action: Action) -> LocalRecord | None:
        """The record as it stands now: an earlier action of this page may have displaced it
        (a swap of two names), so the planned copy can be stale."""
        assert action.remote is not None
        self._record_placed()  # what it reads and what it writes next follow the batch
        return self._state.records_for([action.remote.file_uid]).get(action.remote.file_uid)

    def _move(self, action: Action) -> None:
        record, remote = self._current(action), action.remote
        assert record is not None and remote is not None
        source = existing_path(self._layout.target, record.path)
        if source is not None and source.stat().st_size != record.size:
            source = None  # not the file we recorded there: never move the wrong bytes
        if source is None:
            log.warning("file to move is gone locally; downloading it", path=record.path)
            self._start_download(replace(action, record=None), adopt=True)
            return
        final = ensure_parent_dirs(self._layout.target, action.path)
        if same_file(source, final):
            # A rename that only changes case, on a disk that ignores case: rename(2) from
            # one spelling to the other is a no-op there, so go through a temporary name.
            # A .part name, so a run killed in between leaves nothing that a clean pass
            # does not sweep (the record still names the old spelling: the file is fetched).
            interim = self._layout.partial / f"{remote.file_uid}-rename.part"
            os.replace(source, interim)
            source = interim
        else:
            self._clear_destination(action.path, final, remote.file_uid)
        os.replace(source, final)
        fsync_dir(final.parent)
        fsync_dir(source.parent)
        self._state.save(replace(record, path=action.path, photo_uid=remote.photo_uid,
                                 status=RecordStatus.ACTIVE))
        self._report.moved += 1
        self._on_progress()
        log.info("moved", source=record.path, path=action.path)

    def _start_download(self, action: Action, *, adopt: bool) -> None:
        if self._stop.is_set():
            return  # shutting down: the next pass picks this file up
        if self._fatal is not None:
            self._fail(action.path, "skipped: the run stopped after a server error")
            return
        remote = action.remote
        assert remote is not None
        if self._reserve is not None and not self._reserve.admit(
                remote, [a.remote for a in self._pending.values() if a.remote is not None],
                self._settle):
            return  # waits for room: the pass ends saying so (``drain``), the next one fetches
        while len(self._pending) >= self._window:
            self._collect(timeout=None)
        future = self._pool.submit(fetch, self._server, remote, self._layout.partial,
                                   self._layout.target, action.path, adopt=adopt,
                                   trash=self._layout.trash)
        self._pending[future] = action
        self._collect(timeout=0)

    def _settle(self) -> None:
        """Put every download in flight in place (the disk reserve prunes only then)."""
        while self._pending:
            self._collect(timeout=None)

    def _collect(self, *, timeout: float | None) -> None:
        """Place the downloads that finished within ``timeout`` seconds (None: at least one)."""
        if not self._pending:
            return
        done, _ = wait(list(self._pending), timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            action = self._pending.pop(future)
            try:
                self._take(action, future.result())
            except (PpsyncError, OSError) as exc:
                self._record_error(action, exc)
            except Exception as exc:  # a connection closed under it by a shutdown
                if not self._stop.is_set():
                    raise
                log.info("download abandoned for shutdown; it will resume", path=action.path,
                         error=_reason(exc))
        self._groups.flush_if_late()

    def _record_error(self, action: Action, exc: PpsyncError | OSError) -> None:
        if is_disk_full(exc):  # wherever it struck (placing, a folder, a flush): stop the pass
            exc = DiskFull(f"no space left on the mirror's disk at {action.path}")
        if self._stop.is_set():
            log.info("download abandoned for shutdown; it will resume", path=action.path,
                     error=_reason(exc))
        elif isinstance(exc, DiskFull) or (isinstance(exc, ServerError)
                                           and not isinstance(exc, ServerBusy)):
            self._fatal = self._fatal or exc  # unreachable, locked out or disk full: stop
            self._fail(action.path, _reason(exc))
        else:
            self._fail(action.path, _reason(exc))

    # --- putting a verified file in place ----------------------------------------------------

    def _place(self, action: Action, fetched: Fetched) -> None:
        remote = fetched.remote
        final = self._final_path(action.path)
        old = self._current(action) if action.record is not None else None  # edited on server
        if fetched.part is None:
            self._report.adopted += 1
            log.info("adopted existing copy", path=action.path)
        else:
            self._clear_destination(action.path, final, remote.file_uid)
            if old is not None and not _same_rendition(action, old, remote.sha1):
                self._set_aside_old_version(old)
            os.replace(fetched.part, final)
            set_mtime_from_http(final, fetched.last_modified)
            if fetched.from_trash:  # restored on the server: the kept copy goes back
                self._report.adopted += 1
                log.info("taken back from .ppsync/trash", path=action.path)
            else:
                self._report.downloaded += 1
                self._report.bytes_downloaded += fetched.bytes_received
                log.info("downloaded", path=action.path, size=remote.size)
        if action.remote is not None and action.remote.rendition:
            note_version(self._state, action.remote)  # the edit's stamp, as listed
        self._groups.add_record(LocalRecord(
            file_uid=remote.file_uid, photo_uid=remote.photo_uid, path=action.path,
            sha1=remote.sha1, size=remote.size if remote.size >= 0 else final.stat().st_size,
            status=RecordStatus.ACTIVE, last_seen_run=self._report.run_id,
        ), None if fetched.part is None else final.parent)
        self._on_progress()

    def _final_path(self, rel: str) -> Path:
        """``ensure_parent_dirs`` once per folder and run; the final path of ``rel``."""
        folder, _, name = rel.rpartition("/")
        known = self._folders.get(folder)
        if known is None:
            known = ensure_parent_dirs(self._layout.target, rel).parent
            if len(self._folders) < KNOWN_FOLDERS:
                self._folders[folder] = known
        return known / name

    def _clear_destination(self, rel: str, final: Path, file_uid: str) -> None:
        """Make room at ``final`` without losing anything: another tracked file there is moved
        to ``replaced/`` (its record follows it, so a later move in this walk still finds it),
        and untracked content is kept aside too."""
        try:
            os.lstat(final)
        except FileNotFoundError:
            return  # the common case, a new name: nothing there (under any spelling)
        self._record_placed()  # the owner query and the displaced record follow the batch
        owner = self._state.active_owner_of(rel)
        if owner is None and self._layout.ignores_case and final.exists():
            owner = next(iter(self._state.active_owners_by_claim(rel)), None)
        other_owner = owner is not None and owner.file_uid != file_uid
        if owner is not None and other_owner and existing_path(self._layout.target, rel):
            aside = move_into(final, self._layout.replaced, rel, f"~{owner.file_uid}")
            self._state.save(replace(owner, path=self._layout.relative(aside)))
            self._report.kept_aside += 1
            log.info("displaced tracked file", path=rel, kept_at=self._layout.relative(aside))
        if (final.exists() or final.is_symlink()) and (owner is None or other_owner):
            aside = move_into(final, self._layout.replaced, rel, "~untracked")
            self._report.kept_aside += 1
            log.info("kept untracked file aside", path=rel, kept_at=self._layout.relative(aside))

    def _taken_by_another(self, record: LocalRecord) -> bool:
        """Does another active record occupy this record's path under another spelling?"""
        return self._layout.ignores_case and any(
            other.file_uid != record.file_uid
            for other in self._state.active_owners_by_claim(record.path))

    def _set_aside_old_version(self, old: LocalRecord) -> None:
        source = existing_path(self._layout.target, old.path)
        if source is None:
            return
        if self._keep_replaced:
            aside = move_into(source, self._layout.replaced, _outside_meta(old.path),
                              f"~{old.sha1[:12]}")
            self._report.kept_aside += 1
            log.info("kept previous version aside", path=old.path,
                     kept_at=self._layout.relative(aside))
        else:
            source.unlink()
            log.info("removed previous version", path=old.path)
        fsync_dir(source.parent)

    def _fail(self, path: str, reason: str) -> None:
        self._report.failures.append(Failure(redact(path), redact(reason)))
        log.error("failed", path=redact(path), reason=redact(reason))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"{exc.strerror or type(exc).__name__}" + (f": {exc.filename}" if exc.filename
                                                          else "")
    return str(exc) or type(exc).__name__


def _same_rendition(action: Action, old: LocalRecord, sha1: str) -> bool:
    """An edited rendition fetched again (its stamp moved) whose bytes did not change: the
    copy in place is the same, nothing to keep aside."""
    return action.remote is not None and action.remote.rendition and old.sha1 == sha1


def _outside_meta(rel: str) -> str:
    """Paths of displaced files already live under .ppsync/; keep their tail only."""
    prefix = ".ppsync/replaced/"
    return rel[len(prefix):] if rel.startswith(prefix) else rel
