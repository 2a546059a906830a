"""The only module with SQL: ppsync's local state in SQLite (via sqlite-utils).

Tables (schema version in ``meta``; forward migrations in ``MIGRATIONS``)::

    files  one row per mirrored original, keyed by the server's FileUID
    walk   the FileUIDs (and the paths they claim) seen by the current walk: deduplication and
           "what is missing from the listing" without holding the listing in memory
    runs   one row per run: command, times, exit code and the JSON run report
    uploads  one row per inbox file (path relative to the inbox): the size and mtime it was
           last seen with, when it was first seen so (settling), its SHA-1 once hashed, and the
           outcome (``UploadStatus``) with a reason; schema 2
    photos   per photo with a metadata export: the UpdatedAt the written sidecars reflect, the
           primary original's path they sit next to, and which kinds were written; schema 3
    photo_todo  photos this walk saw with an UpdatedAt that differs from ``photos``: the only
           ones whose details are fetched (a no-op pass leaves it empty); schema 3
    sidecar_files  FileUIDs of metadata sidecar originals (XMP, AAE...) and their photo: search
           never lists them, so a walk that sees the photo counts them as seen; schema 3
    albums / album_entries  album folders ppsync made and every entry in them (nothing else
           under the album folder is ever removed); schema 3

Writes happen only on the coordinating thread, and only after the side effect they record has
succeeded on disk. The database file is created 0600 and uses WAL so ``status`` can read while a
run writes.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from ppsync.errors import ConfigError
from ppsync.fsutil import shares_memory_safely
from ppsync.models import LocalRecord, RecordStatus, RunReport

SCHEMA_VERSION = 3
_BATCH = 500  # SQLite's variable limit is 32766; stay far below it


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


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _migrate_to_1, _migrate_to_2, _migrate_to_3]


class UploadStatus(enum.StrEnum):
    SEEN = "seen"  # noticed with this size and mtime; settling, not sent yet
    PENDING = "pending"  # hashed; sent or tried, not confirmed yet (retried next pass)
    CONFIRMED = "confirmed"  # sent by ppsync and found on the server by its SHA-1
    DUPLICATE = "duplicate"  # not sent: the library already had this content
    REJECTED = "rejected"  # the server would not take it; retried only if the file changes

    @property
    def final(self) -> bool:
        return self in (UploadStatus.CONFIRMED, UploadStatus.DUPLICATE, UploadStatus.REJECTED)


@dataclass(frozen=True, slots=True)
class UploadRecord:
    """What the state knows about one inbox file, as last seen (size, mtime)."""

    path: str  # relative POSIX path inside the inbox
    size: int
    mtime_ns: int
    first_seen: float
    sha1: str = ""
    status: UploadStatus = UploadStatus.SEEN
    reason: str = ""
    attempts: int = 0

    def same_file(self, size: int, mtime_ns: int) -> bool:
        return self.size == size and self.mtime_ns == mtime_ns


_UPLOAD_COLUMNS = "path, size, mtime_ns, first_seen, sha1, status, reason, attempts"


_FILE_COLUMNS = "file_uid, photo_uid, path, sha1, size, status, last_seen_run"


def _record(row: tuple[Any, ...]) -> LocalRecord:
    """A ``files`` row selected as ``_FILE_COLUMNS`` (plain tuples: this is the hot path)."""
    uid, photo_uid, path, sha1, size, status, last_seen_run = row
    return LocalRecord(uid, photo_uid, path, sha1, size, RecordStatus(status), last_seen_run)


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


class State:
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
            db = sqlite_utils.Database(conn)
            state = cls(db, path)
            state._migrate()
        except (OSError, sqlite3.DatabaseError) as exc:
            raise ConfigError(f"mirror.state: cannot open state database {path}: {exc}") from None
        return state

    def close(self) -> None:
        self.db.commit()
        self.db.conn.close()

    def transaction(self) -> contextlib.AbstractContextManager[sqlite_utils.Database]:
        """A transaction, or a savepoint when one is already open (nested writes)."""
        return self.db.atomic()

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

    def _rows_in(self, sql: str, keys: Iterable[str]) -> Iterator[tuple[Any, ...]]:
        """Rows of ``sql`` for all ``keys``: its ``IN ({marks})`` is filled chunk by chunk, so a
        page of keys never exceeds SQLite's variable limit."""
        for chunk in _chunks(list(keys)):
            marks = ",".join("?" * len(chunk))
            yield from self.db.execute(sql.format(marks=marks), chunk).fetchall()

    # --- files -------------------------------------------------------------------------------

    def records_for(self, file_uids: Iterable[str]) -> dict[str, LocalRecord]:
        """The records (any status) for these FileUIDs, keyed by FileUID."""
        sql = f"SELECT {_FILE_COLUMNS} FROM files WHERE file_uid IN ({{marks}})"
        return {row[0]: _record(row) for row in self._rows_in(sql, file_uids)}

    def active_owners_of(self, paths: Iterable[str]) -> dict[str, LocalRecord]:
        """The active records occupying these relative paths, keyed by path."""
        sql = (f"SELECT {_FILE_COLUMNS} FROM files WHERE status = 'active' "
               "AND path IN ({marks})")
        return {row[2]: _record(row) for row in self._rows_in(sql, paths)}

    def active_owner_of(self, path: str) -> LocalRecord | None:
        return self.active_owners_of([path]).get(path)

    def active_owners_by_claim(self, path: str) -> list[LocalRecord]:
        """Active records whose path is one file with ``path`` on the target's disk (its
        other spellings, when the disk ignores case). A scan: only for the rare collision."""
        sql = (f"SELECT {_FILE_COLUMNS} FROM files WHERE status = 'active' "
               "AND claim_key(path) = claim_key(?)")
        return [_record(row) for row in self.db.execute(sql, [path]).fetchall()]

    # --- the current walk --------------------------------------------------------------------

    def begin_walk(self) -> None:
        self.end_walk()  # a walk killed before its end left its rows

    def end_walk(self) -> None:
        """Forget the walk once its pass is over. Done at the end rather than only at the
        start, so a quiet change pass does not pay for clearing a full walk's 100,000 rows."""
        with self.transaction():
            self.db.execute("DELETE FROM walk")
            self.db.execute("DELETE FROM photo_todo")

    def unwalked(self, file_uids: list[str]) -> set[str]:
        """Which of these FileUIDs the current walk has not seen yet."""
        sql = "SELECT file_uid FROM walk WHERE file_uid IN ({marks})"
        return set(file_uids) - {row[0] for row in self._rows_in(sql, file_uids)}

    def claims_on(self, paths: Iterable[str]) -> dict[str, str]:
        """FileUIDs that already claimed these paths in the current walk, keyed by
        ``claim_key(path)``."""
        sql = "SELECT path, file_uid FROM walk WHERE path IN ({marks})"
        return {row[0]: row[1] for row in self._rows_in(sql, map(self.claim_key, paths))}

    def record_walked(self, claims: list[tuple[str, str | None]]) -> None:
        """Note (FileUID, claimed path or None) pairs as seen by this walk."""
        with self.transaction():
            if self.claim_key is not _same_path:
                claims = [(uid, None if path is None else self.claim_key(path))
                          for uid, path in claims]
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO walk (file_uid, path) VALUES (?, ?)", claims
            )

    def save(self, record: LocalRecord) -> None:
        """Insert or replace the record for ``record.file_uid``."""
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO files (file_uid, photo_uid, path, sha1, size, status, "
                "last_seen_run, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [record.file_uid, record.photo_uid, record.path, record.sha1, record.size,
                 record.status.value, record.last_seen_run, time.time()],
            )

    def set_status(self, file_uid: str, status: RecordStatus) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE files SET status = ?, updated_at = ? WHERE file_uid = ?",
                [status.value, time.time(), file_uid],
            )

    def drop(self, file_uid: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM files WHERE file_uid = ?", [file_uid])

    _UNSEEN = "status = 'active' AND file_uid NOT IN (SELECT file_uid FROM walk)"

    def unwalked_active(self) -> Iterator[LocalRecord]:
        """Active records the current walk did not see, streamed in path order."""
        # Materialised first: the caller changes these rows while iterating.
        uids = [r[0] for r in self.db.execute(f"SELECT file_uid FROM files WHERE {self._UNSEEN}")]
        for chunk in _chunks(uids):
            yield from self.records_for(chunk).values()

    def count_unwalked_active(self) -> int:
        return int(self.db.execute(f"SELECT COUNT(*) FROM files WHERE {self._UNSEEN}")
                   .fetchone()[0])

    def active_records(self) -> Iterator[LocalRecord]:
        sql = f"SELECT {_FILE_COLUMNS} FROM files WHERE status = 'active' ORDER BY path"
        for row in self.db.execute(sql):
            yield _record(row)

    def count_active(self) -> int:
        row = self.db.execute("SELECT COUNT(*) FROM files WHERE status = 'active'").fetchone()
        return int(row[0])

    def active_bytes(self) -> int:
        row = self.db.execute("SELECT COALESCE(SUM(size), 0) FROM files WHERE status = 'active'")
        return int(row.fetchone()[0])

    def knows_sha1(self, sha1: str) -> bool:
        """Has the mirror ever held this content (any status)? Such a file is never uploaded."""
        row = self.db.execute("SELECT 1 FROM files WHERE sha1 = ? LIMIT 1", [sha1]).fetchone()
        return row is not None

    # --- photo metadata (sidecars) ----------------------------------------------------------

    def note_photos(self, updated: dict[str, str], kinds: str) -> None:
        """Per walk page: queue the photos whose sidecars are missing or older than their
        UpdatedAt (or were written as other kinds), and mark the sidecar originals of every
        photo in the page as seen by this walk. One SELECT when nothing changed."""
        uids = list(updated)
        sql = "SELECT photo_uid, updated_at, kinds FROM photos WHERE photo_uid IN ({marks})"
        known = {row[0]: (row[1], row[2]) for row in self._rows_in(sql, uids)}
        stale = [(uid, updated[uid]) for uid in uids if known.get(uid) != (updated[uid], kinds)]
        with self.transaction():
            if stale:
                self.db.conn.executemany(
                    "INSERT OR REPLACE INTO photo_todo (photo_uid, updated_at) VALUES (?, ?)",
                    stale)
            for chunk in _chunks(uids):
                marks = ",".join("?" * len(chunk))
                self.db.execute(
                    "INSERT OR IGNORE INTO walk (file_uid, path) "
                    "SELECT s.file_uid, claim_key(f.path) FROM sidecar_files s "
                    "JOIN files f ON f.file_uid = s.file_uid "
                    f"WHERE s.photo_uid IN ({marks})", chunk)

    def photo_todo(self, limit: int) -> list[tuple[str, str]]:
        """Up to ``limit`` queued (photo UID, UpdatedAt) pairs."""
        sql = "SELECT photo_uid, updated_at FROM photo_todo ORDER BY photo_uid LIMIT ?"
        return [(r[0], r[1]) for r in self.db.execute(sql, [limit]).fetchall()]

    def done_todo(self, photo_uids: list[str]) -> None:
        with self.transaction():
            self.db.conn.executemany("DELETE FROM photo_todo WHERE photo_uid = ?",
                                     [(u,) for u in photo_uids])

    def photo_row(self, photo_uid: str) -> tuple[str, str, str] | None:
        """(updated_at, path, kinds) of a photo's written sidecars, or None."""
        row = self.db.execute("SELECT updated_at, path, kinds FROM photos WHERE photo_uid = ?",
                              [photo_uid]).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def save_photo(self, photo_uid: str, updated_at: str, path: str, kinds: str) -> None:
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO photos (photo_uid, updated_at, path, kinds) "
                            "VALUES (?, ?, ?, ?)", [photo_uid, updated_at, path, kinds])

    def drop_photo(self, photo_uid: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM photos WHERE photo_uid = ?", [photo_uid])

    def orphan_photos(self) -> list[tuple[str, str, str]]:
        """(photo UID, path, kinds) of sidecars whose original is no longer mirrored there."""
        # NOT IN builds one lookup table; a correlated NOT EXISTS let the planner scan the
        # files table per photo (quadratic: 1.5 s at 5,000 photos).
        sql = ("SELECT photo_uid, path, kinds FROM photos WHERE path NOT IN "
               "(SELECT path FROM files WHERE status = 'active')")
        return [(r[0], r[1], r[2]) for r in self.db.execute(sql).fetchall()]

    def photo_has_active_file(self, photo_uid: str) -> bool:
        sql = "SELECT 1 FROM files WHERE photo_uid = ? AND status = 'active' LIMIT 1"
        return self.db.execute(sql, [photo_uid]).fetchone() is not None

    def requeue_photo(self, photo_uid: str) -> None:
        """Queue a photo for export in this pass. A photo the walk queued keeps the walk's
        UpdatedAt; otherwise the one its sidecars were written from (the details' when none),
        so the next walk does not see a difference that is only a matter of formatting."""
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO photo_todo (photo_uid, updated_at) VALUES (?, COALESCE("
                "(SELECT updated_at FROM photos WHERE photo_uid = ?), ''))",
                [photo_uid, photo_uid])

    def set_sidecar_files(self, photo_uid: str, file_uids: Iterable[str]) -> None:
        """The photo's metadata sidecar originals are exactly these FileUIDs from now on."""
        with self.transaction():
            self.db.execute("DELETE FROM sidecar_files WHERE photo_uid = ?", [photo_uid])
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO sidecar_files (file_uid, photo_uid) VALUES (?, ?)",
                [(uid, photo_uid) for uid in file_uids])

    # --- album folders ----------------------------------------------------------------------

    def active_path_under(self, folder: str) -> str | None:
        """A mirrored original inside ``folder/`` (the album folder must hold none)."""
        sql = ("SELECT path FROM files WHERE status = 'active' AND path >= ? AND path < ? "
               "LIMIT 1")
        row = self.db.execute(sql, [folder + "/", folder + "0"]).fetchone()
        return str(row[0]) if row else None

    def album_rows(self) -> dict[str, tuple[str, str, str]]:
        """Album folders ppsync made: album UID → (folder name, UpdatedAt, mode)."""
        sql = "SELECT album_uid, folder, updated_at, mode FROM albums"
        return {r[0]: (r[1], r[2], r[3]) for r in self.db.execute(sql).fetchall()}

    def save_album(self, album_uid: str, folder: str, updated_at: str, mode: str) -> None:
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO albums (album_uid, folder, updated_at, mode) "
                            "VALUES (?, ?, ?, ?)", [album_uid, folder, updated_at, mode])

    def drop_album(self, album_uid: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM albums WHERE album_uid = ?", [album_uid])
            self.db.execute("DELETE FROM album_entries WHERE album_uid = ?", [album_uid])

    def album_entries(self, album_uid: str) -> dict[str, tuple[str, str, str, str]]:
        """photo UID → (entry name or '' for none, FileUID, source path, SHA-1)."""
        sql = ("SELECT photo_uid, entry, file_uid, source, sha1 FROM album_entries "
               "WHERE album_uid = ?")
        return {r[0]: (r[1], r[2], r[3], r[4])
                for r in self.db.execute(sql, [album_uid]).fetchall()}

    def set_album_entries(self, album_uid: str,
                          entries: dict[str, tuple[str, str, str, str]]) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM album_entries WHERE album_uid = ?", [album_uid])
            self.db.conn.executemany(
                "INSERT INTO album_entries (album_uid, photo_uid, entry, file_uid, source, sha1) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(album_uid, photo, *values) for photo, values in entries.items()])

    def stale_albums(self) -> set[str]:
        """Albums whose entries no longer match the mirror: an original moved, changed, left,
        or (for a member without an entry) is mirrored now."""
        sql = ("SELECT DISTINCT e.album_uid FROM album_entries e LEFT JOIN files f "
               "ON f.file_uid = e.file_uid AND f.status = 'active' "
               "WHERE (f.file_uid IS NULL) != (e.entry = '') "
               "OR (e.entry != '' AND (f.path != e.source OR f.sha1 != e.sha1))")
        return {r[0] for r in self.db.execute(sql).fetchall()}

    # --- uploads -----------------------------------------------------------------------------

    def upload_records(self) -> dict[str, UploadRecord]:
        """Every inbox file the state knows, keyed by its path inside the inbox."""
        sql = f"SELECT {_UPLOAD_COLUMNS} FROM uploads"
        found = {}
        for path, size, mtime_ns, first_seen, sha1, status, reason, attempts in self.db.execute(
                sql):
            found[path] = UploadRecord(path, size, mtime_ns, first_seen, sha1,
                                       UploadStatus(status), reason, attempts)
        return found

    def save_upload(self, record: UploadRecord) -> None:
        with self.transaction():
            self.db.execute(
                f"INSERT OR REPLACE INTO uploads ({_UPLOAD_COLUMNS}, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [record.path, record.size, record.mtime_ns, record.first_seen, record.sha1,
                 record.status.value, record.reason, record.attempts, time.time()],
            )

    def uploaded_sha1(self, sha1: str) -> bool:
        """Did an earlier pass confirm this content on the server (under any inbox path)?"""
        row = self.db.execute("SELECT 1 FROM uploads WHERE sha1 = ? AND status = ? LIMIT 1",
                              [sha1, UploadStatus.CONFIRMED.value]).fetchone()
        return row is not None

    # --- small named values (change cursor, last full walk) ---------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])

    # --- runs --------------------------------------------------------------------------------

    def start_run(self, command: str) -> int:
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO runs (command, started_at) VALUES (?, ?)", [command, time.time()]
            )
        return int(cursor.lastrowid or 0)

    def finish_run(self, report: RunReport) -> None:
        self.finish_run_payload(report.run_id, asdict(report))

    def finish_run_payload(self, run_id: int, payload: dict[str, Any]) -> None:
        """Record a finished run from its report as plain data (``finished_at``, ``exit_code``
        and the rest, as ``status`` shows them)."""
        with self.transaction():
            self.db.execute(
                "UPDATE runs SET finished_at = ?, exit_code = ?, report = ? WHERE id = ?",
                [payload["finished_at"], payload["exit_code"], json.dumps(payload), run_id],
            )

    def last_runs(self, limit: int = 10) -> list[dict[str, Any]]:
        """The newest runs first, each as its stored report (or a stub for an unfinished run)."""
        runs = []
        sql = "SELECT * FROM runs ORDER BY id DESC LIMIT ?"
        for row in self.db.query(sql, [limit]):
            report = json.loads(row["report"]) if row["report"] else {}
            report.setdefault("run_id", row["id"])
            report.setdefault("command", row["command"])
            report.setdefault("started_at", row["started_at"])
            report["finished"] = row["finished_at"] is not None
            runs.append(report)
        return runs


def _same_path(path: str) -> str:
    return path


def _casefold(path: str | None) -> str | None:
    return None if path is None else path.casefold()
