"""The ``verified`` table: when the rolling scrub last re-read each mirrored file, and damage
it found that is still there (schema 7; ``ppsync.mirror.scrub`` reads and writes it).

    verified  file_uid, the SHA-1 it was verified against, verified_at (seconds since the
              epoch), damage ("" = none; else why the file is damaged and still unrepaired)
    written   what ppsync last wrote beside the originals: path, SHA-1 of the bytes, kind
              ("sidecar" of the photo ``owner``, "manifest" of the album ``owner``), when the
              scrub last compared the file with it

A row follows its ``files`` record: ``catch_up`` adds rows for new records (a download or an
adoption hashed the file then), restarts a row whose record got new content, and drops rows
of records that are no longer mirrored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from ppsync.models import LocalRecord
from ppsync.state.base import StateBase
from ppsync.state.files import _FILE_COLUMNS, _record

_ACTIVE = "SELECT file_uid, sha1 FROM files WHERE status = 'active'"


class ScrubMixin(StateBase):
    """Verification times and found damage, per mirrored file."""

    def catch_up_verified(self, now: float) -> None:
        """Make ``verified`` follow ``files`` (see the module docstring). A few statements
        over the whole table: ~0.1 s at 100,000 files."""
        with self.transaction():
            self.db.execute("DELETE FROM verified WHERE file_uid NOT IN "
                            "(SELECT file_uid FROM files WHERE status = 'active')")
            self.db.execute(
                "UPDATE verified SET sha1 = f.sha1, verified_at = ?, damage = '' "
                f"FROM ({_ACTIVE}) AS f WHERE f.file_uid = verified.file_uid "
                "AND f.sha1 != verified.sha1", [now])
            self.db.execute("INSERT OR IGNORE INTO verified (file_uid, sha1, verified_at) "
                            f"SELECT file_uid, sha1, ? FROM ({_ACTIVE})", [now])

    def least_recently_verified(self, limit: int) -> list[tuple[LocalRecord, float]]:
        """Up to ``limit`` active records, the least recently verified first, each with when
        it was last verified."""
        columns = ", ".join(f"f.{c.strip()}" for c in _FILE_COLUMNS.split(","))
        sql = (f"SELECT {columns}, v.verified_at FROM verified v JOIN files f "
               "ON f.file_uid = v.file_uid WHERE f.status = 'active' "
               "ORDER BY v.verified_at, v.file_uid LIMIT ?")
        return [(_record(row[:-1]), float(row[-1])) for row in self.db.execute(sql, [limit])]

    def count_verified_before(self, when: float) -> int:
        """How many mirrored files were last verified before ``when``."""
        row = self.db.execute("SELECT COUNT(*) FROM verified WHERE verified_at < ?",
                              [when]).fetchone()
        return int(row[0])

    def count_verified_since(self, when: float) -> int:
        """How many mirrored files were verified after ``when``."""
        row = self.db.execute("SELECT COUNT(*) FROM verified WHERE verified_at > ?",
                              [when]).fetchone()
        return int(row[0])

    def oldest_verification(self, *, undamaged: bool = False) -> float | None:
        """When the least recently verified file was verified (``undamaged``: of those
        without damage); None for none."""
        where = " WHERE damage = ''" if undamaged else ""
        row = self.db.execute(f"SELECT MIN(verified_at) FROM verified{where}").fetchone()
        return None if row[0] is None else float(row[0])

    def mark_verified(self, done: Iterable[tuple[str, str, float]]) -> None:
        """(file key, SHA-1, when) for files found intact (or repaired): their damage is
        cleared."""
        with self.transaction():
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO verified (file_uid, sha1, verified_at, damage) "
                "VALUES (?, ?, ?, '')", list(done))

    def mark_damaged(self, file_uid: str, sha1: str, reason: str) -> None:
        """Damage found and not repaired: the row keeps its old time (so it stays first in
        line) and says why."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO verified (file_uid, sha1, verified_at, damage) VALUES (?, ?, 0, ?) "
                "ON CONFLICT (file_uid) DO UPDATE SET damage = excluded.damage",
                [file_uid, sha1, reason])

    def damaged_records(self) -> list[tuple[LocalRecord, str]]:
        """Active records with damage still unrepaired, each with why, in path order."""
        columns = ", ".join(f"f.{c.strip()}" for c in _FILE_COLUMNS.split(","))
        sql = (f"SELECT {columns}, v.damage FROM verified v JOIN files f "
               "ON f.file_uid = v.file_uid WHERE f.status = 'active' AND v.damage != '' "
               "ORDER BY f.path")
        return [(_record(row[:-1]), str(row[-1])) for row in self.db.execute(sql)]

    # --- what ppsync wrote beside the originals ---------------------------------------------

    def note_written(self, path: str, data: bytes, kind: str, owner: str) -> None:
        """ppsync put ``data`` at ``path`` (or found it there already): a sidecar of the photo
        ``owner``, or the manifest of the album ``owner`` (``kind``)."""
        digest = hashlib.sha1(data).hexdigest()
        with self.transaction():
            self.db.execute(
                "INSERT INTO written (path, sha1, kind, owner) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (path) DO UPDATE SET sha1 = excluded.sha1, kind = excluded.kind, "
                "owner = excluded.owner", [path, digest, kind, owner])

    def written_to_check(self, limit: int) -> list[tuple[str, str, str, str]]:
        """Up to ``limit`` (path, SHA-1, kind, owner), the least recently compared first."""
        sql = "SELECT path, sha1, kind, owner FROM written ORDER BY checked_at, path LIMIT ?"
        return [(str(r[0]), str(r[1]), str(r[2]), str(r[3]))
                for r in self.db.execute(sql, [limit])]

    def count_written(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM written").fetchone()[0])

    def written_checked(self, paths: Iterable[str], now: float) -> None:
        with self.transaction():
            self.db.conn.executemany("UPDATE written SET checked_at = ? WHERE path = ?",
                                     [(now, path) for path in paths])

    def forget_written(self, path: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM written WHERE path = ?", [path])

    def sidecar_base(self, photo_uid: str) -> str | None:
        """The original path a photo's sidecars are written next to now, or None."""
        row = self.db.execute("SELECT path FROM photos WHERE photo_uid = ?",
                              [photo_uid]).fetchone()
        return None if row is None else str(row[0])

    def album_folder(self, album_uid: str) -> str | None:
        row = self.db.execute("SELECT folder FROM albums WHERE album_uid = ?",
                              [album_uid]).fetchone()
        return None if row is None else str(row[0])

    def recheck_albums(self, album_uids: Iterable[str]) -> None:
        """The next album export rebuilds these folders (their manifests are written again):
        their recorded change stamp is forgotten."""
        with self.transaction():
            self.db.conn.executemany("UPDATE albums SET updated_at = '' WHERE album_uid = ?",
                                     [(uid,) for uid in album_uids])
