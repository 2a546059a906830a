"""The state schema: its version and the forward migrations that build it, one function each.

``State.open`` applies every migration past the stored version, in order, in one transaction each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils


SCHEMA_VERSION = 7


def _migrate_to_1(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE IF NOT EXISTS files (
               file_uid TEXT PRIMARY KEY,
               photo_uid TEXT NOT NULL,
               path TEXT NOT NULL,
               sha1 TEXT NOT NULL,
               size INTEGER NOT NULL,
               status TEXT NOT NULL,
               last_seen_run INTEGER NOT NULL DEFAULT 0,
               updated_at REAL NOT NULL)"""
    )
    db.execute("CREATE INDEX IF NOT EXISTS files_path ON files(path)")
    db.execute("CREATE INDEX IF NOT EXISTS files_sha1 ON files(sha1)")
    db.execute("CREATE INDEX IF NOT EXISTS files_status_seen ON files(status, last_seen_run)")
    db.execute("CREATE TABLE IF NOT EXISTS walk (file_uid TEXT PRIMARY KEY, path TEXT)")
    db.execute("CREATE INDEX IF NOT EXISTS walk_path ON walk(path)")
    db.execute(
        """CREATE TABLE IF NOT EXISTS runs (
               id INTEGER PRIMARY KEY AUTOINCREMENT,
               command TEXT NOT NULL,
               started_at REAL NOT NULL,
               finished_at REAL,
               exit_code INTEGER,
               report TEXT)"""
    )


def _migrate_to_2(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE IF NOT EXISTS uploads (
               path TEXT PRIMARY KEY,
               size INTEGER NOT NULL,
               mtime_ns INTEGER NOT NULL,
               first_seen REAL NOT NULL,
               sha1 TEXT NOT NULL DEFAULT '',
               status TEXT NOT NULL,
               reason TEXT NOT NULL DEFAULT '',
               attempts INTEGER NOT NULL DEFAULT 0,
               updated_at REAL NOT NULL)"""
    )
    db.execute("CREATE INDEX IF NOT EXISTS uploads_sha1 ON uploads(sha1, status)")


def _migrate_to_3(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE IF NOT EXISTS photos (
               photo_uid TEXT PRIMARY KEY,
               updated_at TEXT NOT NULL,
               path TEXT NOT NULL,
               kinds TEXT NOT NULL)"""
    )
    db.execute("CREATE TABLE IF NOT EXISTS photo_todo (photo_uid TEXT PRIMARY KEY, "
               "updated_at TEXT NOT NULL)")
    db.execute("CREATE TABLE IF NOT EXISTS sidecar_files (file_uid TEXT PRIMARY KEY, "
               "photo_uid TEXT NOT NULL)")
    db.execute("CREATE INDEX IF NOT EXISTS sidecar_files_photo ON sidecar_files(photo_uid)")
    db.execute(
        """CREATE TABLE IF NOT EXISTS albums (
               album_uid TEXT PRIMARY KEY,
               folder TEXT NOT NULL,
               updated_at TEXT NOT NULL,
               mode TEXT NOT NULL)"""
    )
    db.execute(
        """CREATE TABLE IF NOT EXISTS album_entries (
               album_uid TEXT NOT NULL,
               photo_uid TEXT NOT NULL,
               entry TEXT NOT NULL,
               file_uid TEXT NOT NULL,
               source TEXT NOT NULL,
               sha1 TEXT NOT NULL,
               PRIMARY KEY (album_uid, photo_uid))"""
    )


def _migrate_to_4(db: sqlite_utils.Database) -> None:
    """The Favorite/Private flags a photo's sidecars were written with ("" = not known: the
    next walk re-reads each photo's details once, catching stars an older ppsync missed)."""
    for table in ("photos", "photo_todo"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN flags TEXT NOT NULL DEFAULT ''")


def _migrate_to_5(db: sqlite_utils.Database) -> None:
    """Photos whose sidecars were written without album names because the server would not
    say them (1): written again once it can. Added only when missing (a state rolled back to
    an older schema by hand may still have it)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(photos)").fetchall()}
    if "albums_unknown" not in columns:
        db.execute("ALTER TABLE photos ADD COLUMN albums_unknown INTEGER NOT NULL DEFAULT 0")


def _migrate_to_6(db: sqlite_utils.Database) -> None:
    """What ppsync set aside under .ppsync/ (trash/, replaced/), with when it did: retention
    counts an item's age from then, never from the file's mtime (that is the photo's). Items
    already there have no such time: the first pass after the upgrade records them as set
    aside then (``ppsync.mirror.set_aside``), so nothing old is pruned at once and each gets
    the whole keep_days from the upgrade. The only other choice, the mtime, is the photo's
    age and would prune last week's deletions of old photos on the first pass."""
    db.execute(
        """CREATE TABLE IF NOT EXISTS set_aside (
               path TEXT PRIMARY KEY,
               size INTEGER NOT NULL,
               set_aside_at REAL NOT NULL)"""
    )
    db.execute("CREATE INDEX IF NOT EXISTS set_aside_age ON set_aside(set_aside_at, path)")


def _migrate_to_7(db: sqlite_utils.Database) -> None:
    """When the rolling scrub last re-read each mirrored file (``ppsync.state.scrub``), the
    damage it found there, and what ppsync wrote beside the originals. A ``verified`` row is
    made when the scrub first sees a file (its download, or its adoption, hashed it then), so
    an existing mirror starts its first cycle spread over ``[scrub] every``, not all at once."""
    db.execute(
        """CREATE TABLE IF NOT EXISTS verified (
               file_uid TEXT PRIMARY KEY,
               sha1 TEXT NOT NULL,
               verified_at REAL NOT NULL,
               damage TEXT NOT NULL DEFAULT '')"""
    )
    db.execute("CREATE INDEX IF NOT EXISTS verified_order ON verified(verified_at, file_uid)")
    # What ppsync last wrote beside the originals (sidecars, album manifests): the SHA-1 of the
    # bytes, whose they are, and when the scrub last compared the file with it.
    db.execute(
        """CREATE TABLE IF NOT EXISTS written (
               path TEXT PRIMARY KEY,
               sha1 TEXT NOT NULL,
               kind TEXT NOT NULL,
               owner TEXT NOT NULL,
               checked_at REAL NOT NULL DEFAULT 0)"""
    )
    db.execute("CREATE INDEX IF NOT EXISTS written_order ON written(checked_at, path)")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _migrate_to_1, _migrate_to_2, _migrate_to_3, _migrate_to_4, _migrate_to_5,
    _migrate_to_6, _migrate_to_7]
