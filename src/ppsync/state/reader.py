"""A read-only look at the state for ``status`` and ``health``: plain ``sqlite3`` opened with
``mode=ro``, no sqlite-utils, no migration, nothing written.

``StateReader.open`` answers None where the state must be opened the full way
(``State.open``): a schema older or newer than this ppsync's (``State.open`` migrates the one
and refuses the other with its own message), or a file SQLite will not open read-only. A
damaged file is the same ``StateDamaged`` as ``State.open`` raises. ``immutable=1`` would skip
even the locks, but a daemon may be writing while ``status`` reads, so it is never safe here.

Each answer is the one ``State`` gives for the same call (``tests/test_quick_commands.py``
compares them on a state with runs, kept, set-aside and damaged files).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from types import TracebackType
from typing import Any

from ppsync.access import denied, is_denied
from ppsync.errors import ConfigError
from ppsync.state.migrations import SCHEMA_VERSION
from ppsync.state.set_aside import AsideTotals

RUNS = "SELECT id, command, started_at, finished_at, report FROM runs ORDER BY id DESC LIMIT ?"


def cannot_open(path: Path, exc: BaseException) -> str:
    """Why a state cannot be opened, with the uid and the fix when it is access (SQLite says
    only "unable to open database file" or "readonly database" for a folder that does not let
    it make its journal)."""
    start = "mirror.state: cannot open the state database"
    if is_denied(exc):
        return f"{start} {denied(path, exc if isinstance(exc, OSError) else None)}"
    if isinstance(exc, sqlite3.OperationalError):
        for needed, mode in ((path.parent, os.W_OK | os.X_OK), (path, os.R_OK | os.W_OK)):
            if needed.exists() and not os.access(needed, mode):
                return f"{start} {path}: {exc}: {denied(needed)}"
    return f"{start} {path}: {exc}"


def state_exists(path: Path) -> bool:
    """Is there a state at ``path``? Raises ``ConfigError`` (one line: the path, the uid, what
    to do) when its folder may not be looked into, instead of ``PermissionError``."""
    try:
        return path.is_file()  # Python 3.11 raises for EACCES, only ENOENT & co. are False
    except OSError as exc:
        raise ConfigError(cannot_open(path, exc)) from None


def run_from_row(run_id: int, command: str, started_at: float, finished_at: float | None,
                 report: str | None) -> dict[str, Any]:
    """One ``runs`` row as ``status`` and ``health`` read it: its stored report, or a stub for
    an unfinished run (``State.last_runs`` uses it too)."""
    run: dict[str, Any] = json.loads(report) if report else {}
    run.setdefault("run_id", run_id)
    run.setdefault("command", command)
    run.setdefault("started_at", started_at)
    run["finished"] = finished_at is not None
    return run


class StateReader:
    """The queries ``status`` and ``health`` make, on a read-only connection."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path) -> StateReader | None:
        """A reader of the state at ``path`` (which exists), or None: open it with
        ``State.open``. Raises ``StateDamaged`` when SQLite finds the file damaged."""
        try:
            conn = sqlite3.connect(path.absolute().as_uri() + "?mode=ro", uri=True, timeout=30)
        except sqlite3.Error:
            return None
        reader = cls(conn, path)
        try:
            version = reader.get_meta("schema_version")
        except sqlite3.Error:
            version = None  # no meta table, or not openable read-only: State.open says why
        if version != str(SCHEMA_VERSION):
            conn.close()
            return None
        return reader

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> StateReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            from ppsync.state.backup import damaged_error, is_damage

            if is_damage(exc):  # the same way back as a run is told
                raise damaged_error(self.path, str(exc)) from None
            raise

    def get_meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def last_runs(self, limit: int = 10) -> list[dict[str, Any]]:
        """The newest runs first (``State.last_runs``)."""
        return [run_from_row(*row) for row in self._rows(RUNS, (limit,))]

    def count_active(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM files WHERE status = 'active'")[0][0])

    def active_bytes(self) -> int:
        sql = "SELECT COALESCE(SUM(size), 0) FROM files WHERE status = 'active'"
        return int(self._rows(sql)[0][0])

    def count_kept(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM files WHERE status = 'kept'")[0][0])

    def count_damaged(self) -> int:
        """Active files with damage the scrub found and no repair has fixed yet
        (``len(State.damaged_records())``)."""
        sql = ("SELECT COUNT(*) FROM verified v JOIN files f ON f.file_uid = v.file_uid "
               "WHERE f.status = 'active' AND v.damage != ''")
        return int(self._rows(sql)[0][0])

    def set_aside_totals(self) -> AsideTotals:
        sql = "SELECT COUNT(*), COALESCE(SUM(size), 0), MIN(set_aside_at) FROM set_aside"
        files, size, oldest = self._rows(sql)[0]
        return AsideTotals(int(files), int(size), None if oldest is None else float(oldest))

