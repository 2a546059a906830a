"""ppsync's local state in SQLite (via sqlite-utils): ``State``; with its package, the only SQL.

Tables (schema version in ``meta``; forward migrations in ``migrations``), by the module that
reads and writes them (each a mixin of ``State``, or ``State`` itself: "here")::

    meta   small named values: the schema version, change cursor, last full walk, the server
           the mirror follows (here; no secret is ever stored)
    runs   one row per run: command, times, exit code and the JSON run report (here)
    files, walk  mirrored originals and the current walk's claims (``files``)
    uploads  inbox files and their upload outcomes; schema 2 (``uploads``)
    photos, photo_todo, sidecar_files, albums, album_entries  the metadata export: sidecars and
           album folders; schema 3, the photos' Favorite/Private flags schema 4
           (``export``)
    set_aside  what ppsync set aside under .ppsync/trash and replaced, with when; schema 6
           (``set_aside``)
    verified  when the rolling scrub last re-read each file, and damage it found; schema 7
           (``scrub``)

``base`` holds what the mixins share (connection, transactions, batched lookups). Other
packages import only from ``ppsync.state``: ``State``, ``UploadRecord``, ``UploadStatus``.

Writes happen only on the coordinating thread, and only after the side effect they record has
succeeded on disk. The database file is created 0600 and uses WAL so ``status`` can read while a
run writes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ppsync.errors import ConfigError
from ppsync.fsutil import shares_memory_safely
from ppsync.models import RunReport
from ppsync.procs import is_running, process_identity
from ppsync.state.backup import damaged_error, is_damage
from ppsync.state.base import _casefold, _same_path
from ppsync.state.export import ExportMixin
from ppsync.state.files import FilesMixin
from ppsync.state.migrations import MIGRATIONS, SCHEMA_VERSION
from ppsync.state.reader import RUNS, cannot_open, run_from_row, state_exists
from ppsync.state.scrub import ScrubMixin
from ppsync.state.set_aside import SetAsideMixin
from ppsync.state.uploads import UploadRecord, UploadsMixin, UploadStatus

if TYPE_CHECKING:  # imported by ``open``: ``status`` and ``health`` read without it
    import sqlite_utils

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "State", "UploadRecord", "UploadStatus"]

CRASHED = ("crashed: the run ended without finishing (the process was killed, e.g. by SIGKILL or "
           "for lack of memory, or the machine stopped); the next run resumes")


# Who starts runs in this process: "daemon" (set once by ``ppsync daemon``) or "command" (a
# one-off ``ppsync sync`` beside it, which must not decide the daemon's health). Stored in the
# run's JSON report: no schema change.
_ORIGIN = ["command"]


def set_run_origin(origin: str) -> None:
    _ORIGIN[0] = origin


class State(FilesMixin, ExportMixin, UploadsMixin, SetAsideMixin, ScrubMixin):
    """Handle on the state database. Open with ``State.open``; close with ``close``."""

    def __init__(self, db: sqlite_utils.Database, path: Path) -> None:
        self.db = db
        self.path = path
        # What makes two paths one file on the target's disk: the path itself, or its
        # casefold on a case-insensitive disk (exFAT, SMB), where IMG.JPG is img.jpg.
        self.claim_key: Callable[[str], str] = _same_path
        db.conn.create_function("claim_key", 1, _same_path, deterministic=True)

    def fold_case_in_claims(self) -> None:
        """The target's disk does not tell names apart by case: claims compare casefolds."""
        self.claim_key = str.casefold
        self.db.conn.create_function("claim_key", 1, _casefold, deterministic=True)

    @classmethod
    def open(cls, path: Path) -> State:
        """Open (creating 0600 if needed) and migrate the state at ``path``.

        Raises ``ConfigError`` if the file cannot be created or is not a ppsync state.
        """
        try:
            # Create the file ourselves so that it is 0600 before SQLite writes a byte into it;
            # the -wal and -shm companions inherit the umask set here.
            old_umask = os.umask(0o077)
            try:
                os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
                # Autocommit mode: transactions are explicit (``transaction``), so a page of
                # writes can be one commit with each write a savepoint inside it.
                conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
                # WAL where it is safe; on network and FUSE disks (a NAS share) the classic
                # rollback journal, as WAL's shared memory does not work there.
                wal = shares_memory_safely(path)
                conn.execute(f"PRAGMA journal_mode={'WAL' if wal else 'DELETE'}")
            finally:
                os.umask(old_umask)
            conn.execute("PRAGMA synchronous=NORMAL")
            import sqlite_utils

            db = sqlite_utils.Database(conn)
            state = cls(db, path)
            state._migrate()
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):  # say the way back, not "configuration problem"
                raise damaged_error(path, str(exc)) from None
            raise ConfigError(cannot_open(path, exc)) from None
        except OSError as exc:
            raise ConfigError(cannot_open(path, exc)) from None
        return state

    @staticmethod
    def exists(path: Path) -> bool:
        """Is there a state at ``path``? Raises ``ConfigError`` (one line: the path, the uid,
        what to do) when its folder may not be looked into, instead of ``PermissionError``."""
        return state_exists(path)

    def close(self) -> None:
        self.db.commit()
        self.db.conn.close()

    def _migrate(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"mirror.state: {self.path} was written by a newer ppsync "
                f"(schema {version} > {SCHEMA_VERSION}); upgrade ppsync"
            )
        with self.transaction():
            for step in range(version, SCHEMA_VERSION):
                MIGRATIONS[step](self.db)
            self.db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                [str(SCHEMA_VERSION)],
            )


    # --- small named values (change cursor, last full walk) ---------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])

    def delete_meta(self, key: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM meta WHERE key = ?", [key])

    def knows_files(self) -> bool:
        """Has this state mirrored or uploaded anything (any status)? Such a state belongs to
        the server it was written with (``ppsync.mirror.identity``)."""
        row = self.db.execute("SELECT EXISTS (SELECT 1 FROM files) "
                              "OR EXISTS (SELECT 1 FROM uploads)").fetchone()
        return bool(row[0])

    # --- runs --------------------------------------------------------------------------------

    def start_run(self, command: str) -> int:
        """A new unfinished run, owned by this process (``health`` tells a running run from one
        that was cut short by the process it names)."""
        owner = json.dumps({"pid": os.getpid(), "process": process_identity(),
                            "origin": _ORIGIN[0]})
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO runs (command, started_at, report) VALUES (?, ?, ?)",
                [command, time.time(), owner],
            )
        return int(cursor.lastrowid or 0)

    def mark_crashed(self, *, all_unfinished: bool = False) -> int:
        """Finish, as crashed, the unfinished runs whose process is gone (SIGKILL, out of
        memory, power loss), or every unfinished run with ``all_unfinished`` (the caller holds
        the target's lock, so no other run can be going). Returns how many were marked."""
        rows = self.db.execute(
            "SELECT id, command, started_at, report FROM runs WHERE finished_at IS NULL"
        ).fetchall()
        marked = 0
        for run_id, command, started_at, raw in rows:
            owner = json.loads(raw) if raw else {}
            pid, identity = int(owner.get("pid") or 0), str(owner.get("process") or "")
            if not all_unfinished and is_running(pid, identity):
                continue
            self.finish_run_payload(run_id, {
                "run_id": run_id, "command": command, "started_at": started_at,
                "finished_at": time.time(), "exit_code": None, "crashed": True,
                "error": CRASHED})
            marked += 1
        return marked

    def finish_run(self, report: RunReport) -> None:
        self.finish_run_payload(report.run_id, asdict(report))

    def finish_run_payload(self, run_id: int, payload: dict[str, Any]) -> None:
        """Record a finished run from its report as plain data (``finished_at``, ``exit_code``
        and the rest, as ``status`` shows them)."""
        row = self.db.execute("SELECT report FROM runs WHERE id = ?", [run_id]).fetchone()
        started = json.loads(row[0]) if row and row[0] else {}
        if "origin" in started:  # who ran it stays with the finished run (``health``)
            payload = {**payload, "origin": started["origin"]}
        with self.transaction():
            self.db.execute(
                "UPDATE runs SET finished_at = ?, exit_code = ?, report = ? WHERE id = ?",
                [payload["finished_at"], payload["exit_code"], json.dumps(payload), run_id],
            )

    def last_runs(self, limit: int = 10) -> list[dict[str, Any]]:
        """The newest runs first, each as its stored report (or a stub for an unfinished run)."""
        return [run_from_row(*row) for row in self.db.execute(RUNS, [limit]).fetchall()]
