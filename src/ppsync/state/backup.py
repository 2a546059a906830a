"""Copies of the state that survive its damage, and the two ways back when SQLite reports it
damaged.

After each successful full walk ``keep_copy`` writes a copy next to the state with SQLite's
online backup (``<state>.backup-<UTC time>``, 0600), checks the copy with ``PRAGMA
quick_check`` before it counts, and keeps the newest ``GENERATIONS``. ``ppsync state restore``
(``restore_newest``) puts the newest good copy in place; ``ppsync state fresh``
(``start_fresh``) sets the damaged state aside so the next pass starts a new one, which adopts
the files already in the mirror by SHA-1 (no download). Neither deletes the damaged state: it
is renamed to ``<state>.damaged-<UTC time>``.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from ppsync.errors import ConfigError, StateDamaged
from ppsync.fsutil import fsync_dir

GENERATIONS = 3
_BACKUP = ".backup-"
_COMPANIONS = ("-wal", "-shm", "-journal")


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def is_damage(exc: sqlite3.Error) -> bool:
    """Does SQLite say the database file itself is damaged (not busy, not unreadable)?"""
    return getattr(exc, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def problems_of(conn: sqlite3.Connection) -> list[str]:
    """What ``PRAGMA quick_check`` finds wrong (empty: nothing). A damaged file may also make
    the check itself fail: that is reported as its problem."""
    try:
        rows = [str(row[0]) for row in conn.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [] if rows == ["ok"] else rows


def copies(state_path: Path) -> list[Path]:
    """The kept copies of this state, the newest first."""
    found = state_path.parent.glob(state_path.name + _BACKUP + "*")
    return sorted((p for p in found if not p.name.endswith(".tmp")), reverse=True)


def damaged_error(state_path: Path, detail: str) -> StateDamaged:
    """The error that stops a run on a damaged state, naming both ways back."""
    kept = copies(state_path)
    newest = (f"the newest of {len(kept)} kept copies, from after the full walk of "
              f"{_when(kept[0])}" if kept else "no copy is kept yet, so only the second way")
    return StateDamaged(
        f"mirror.state: the state database {state_path} is damaged ({detail}). Way back: "
        f"`ppsync state restore` puts the newest good copy in place ({newest}); or "
        "`ppsync state fresh` sets it aside and starts a new state, and the next sync adopts "
        "the files already in the mirror by SHA-1 (nothing is downloaded again). Either way "
        "the damaged file is kept next to it")


def _when(copy: Path) -> str:
    stamp = copy.name.rsplit(_BACKUP, 1)[-1]
    try:
        moment = datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    except ValueError:
        return stamp
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def keep_copy(conn: sqlite3.Connection, state_path: Path) -> Path:
    """Copy the open state (``conn``) next to it, check the copy, keep the newest
    ``GENERATIONS``. Returns the copy. Raises ``StateDamaged`` when the copy fails its check
    (nothing is kept then, and older copies stay), ``OSError``/``sqlite3.Error`` when it cannot
    be written."""
    folder = state_path.parent
    temporary = folder / f".{state_path.name}{_BACKUP}{os.getpid()}.tmp"
    old_umask = os.umask(0o077)
    try:
        temporary.unlink(missing_ok=True)
        copy = sqlite3.connect(str(temporary), isolation_level=None)
        try:
            conn.backup(copy)
            problems = problems_of(copy)
        finally:
            copy.close()
    finally:
        os.umask(old_umask)
    if problems:
        temporary.unlink(missing_ok=True)
        raise damaged_error(state_path, "; ".join(problems[:3]))
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    final = folder / f"{state_path.name}{_BACKUP}{_stamp()}"
    os.replace(temporary, final)
    for old in copies(state_path)[GENERATIONS:]:
        old.unlink(missing_ok=True)
    fsync_dir(folder)
    return final


def _set_aside(state_path: Path) -> Path:
    """Rename the state (and its journal files) to ``<state>.damaged-<time>``; never deleted."""
    aside = state_path.with_name(f"{state_path.name}.damaged-{_stamp()}")
    for suffix in _COMPANIONS:
        companion = state_path.with_name(state_path.name + suffix)
        if companion.exists():
            os.replace(companion, aside.with_name(aside.name + suffix))
    if state_path.exists():
        os.replace(state_path, aside)
    fsync_dir(state_path.parent)
    return aside


def _refuse_if_sound(state_path: Path) -> None:
    """Both ways back replace the state: never a state SQLite finds sound."""
    if not state_path.exists():
        return
    try:
        conn = sqlite3.connect(f"file:{state_path}?mode=ro", uri=True)
        try:
            problems = problems_of(conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        problems = [str(exc)]
    if not problems:
        raise ConfigError(f"mirror.state: {state_path} is not damaged (PRAGMA quick_check: ok); "
                          "nothing was changed")


def restore_newest(state_path: Path) -> tuple[Path, Path | None]:
    """Put the newest copy that passes its check in place of the damaged state. Returns (the
    copy used, where the damaged state was set aside). Raises ``ConfigError`` when the state
    is sound or no good copy is kept."""
    _refuse_if_sound(state_path)
    for copy in copies(state_path):
        conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        try:
            if problems_of(conn):
                continue
            aside = _set_aside(state_path) if state_path.exists() else None
            old_umask = os.umask(0o077)
            try:
                fresh = sqlite3.connect(str(state_path), isolation_level=None)
                try:
                    conn.backup(fresh)
                finally:
                    fresh.close()
            finally:
                os.umask(old_umask)
            fsync_dir(state_path.parent)
            return copy, aside
        finally:
            conn.close()
    raise ConfigError(f"mirror.state: no good copy of {state_path} is kept; "
                      "`ppsync state fresh` starts a new state instead")


def start_fresh(state_path: Path) -> Path | None:
    """Set the damaged state aside; the next pass starts a new one. Returns where it went
    (None: there was no state). Raises ``ConfigError`` when the state is sound."""
    _refuse_if_sound(state_path)
    return _set_aside(state_path) if state_path.exists() else None
