"""Group commits: the executor's durability promise at the cost of one sync per group of files.

The promise: a file is recorded in the state only after its bytes and its name are on disk. Per
file that costs an fsync of the file, one of its folder and a SQLite commit, each a journal
commit of ~3 ms on a plain disk, which dominates a mirror of many small files. Here the same
steps are taken once for a group of up to ``GROUP_FILES`` files (or ``GROUP_SECONDS`` after the
first of them):

1. small downloads (``Fetched.synced`` False) wait with their bytes unsynced; one ``syncfs``
   puts all their bytes on disk, then the executor renames each into place;
2. the folders that received names are fsynced;
3. the records of the files placed since the last group are committed in one transaction.

A crash before 3 leaves files on disk without records: the next run adopts them (their SHA-1 is
checked) instead of downloading them again. It never leaves a record without its file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ppsync.fsutil import fsync_dir, sync_filesystem
from ppsync.mirror.downloader import Fetched
from ppsync.models import Action, LocalRecord
from ppsync.state import State

GROUP_FILES = 256
GROUP_SECONDS = 1.0

Place = Callable[[Action, Fetched], None]  # renames one verified download into place
OnError = Callable[[Action, OSError], None]  # a file of the group could not be synced
OnFolderError = Callable[[Path, OSError], None]  # a folder could not be fsynced


class Groups:
    """What waits for the next group: unsynced small downloads, folders, records."""

    def __init__(self, state: State, partial: Path, *, place: Place, on_error: OnError,
                 on_folder_error: OnFolderError) -> None:
        self._state = state
        self._partial = partial
        self._place = place
        self._on_error = on_error
        self._on_folder_error = on_folder_error
        self._parts: list[tuple[Action, Fetched]] = []
        self._folders: set[Path] = set()
        self._records: list[tuple[LocalRecord, Path | None]] = []
        self._since = 0.0  # when the oldest waiting item arrived

    def add_part(self, action: Action, fetched: Fetched) -> None:
        """A verified small download whose bytes still need a sync before its rename."""
        self._arrived()
        self._parts.append((action, fetched))
        self._flush_if_due()

    def add_record(self, record: LocalRecord, folder: Path | None) -> None:
        """A file placed in ``folder`` (None: adopted where it was, no new name) to record."""
        self._arrived()
        self._records.append((record, folder))
        if folder is not None:
            self._folders.add(folder)
        self._flush_if_due()

    def flush_if_late(self) -> None:
        if (self._parts or self._records) and time.monotonic() - self._since >= GROUP_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Sync and place the waiting downloads, fsync the folders, commit the records."""
        parts, self._parts = self._parts, []
        if parts:
            try:
                sync_filesystem(self._partial)
            except OSError as exc:  # the parts stay in partial/ and are checked next run
                for action, _ in parts:
                    self._on_error(action, exc)
                parts = []
            for action, fetched in parts:
                self._place(action, fetched)  # may flush the group so far (a displaced file)
        folders, self._folders = self._folders, set()
        failed = set()
        for folder in folders:
            try:
                fsync_dir(folder)
            except OSError as exc:
                failed.add(folder)
                self._on_folder_error(folder, exc)
        records, self._records = self._records, []
        # A name that may not be on disk is not recorded; the next run adopts the file.
        kept = [record for record, folder in records if folder not in failed]
        if kept:
            self._state.save_many(kept)

    def _arrived(self) -> None:
        if not (self._parts or self._records):
            self._since = time.monotonic()

    def _flush_if_due(self) -> None:
        if (len(self._parts) + len(self._records) >= GROUP_FILES
                or time.monotonic() - self._since >= GROUP_SECONDS):
            self.flush()
