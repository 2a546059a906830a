"""The ``uploads`` table: the inbox files ppsync has seen, and what became of each.

Table (schema 2, created by ``ppsync.state.migrations``)::

    uploads  one row per inbox file (path relative to the inbox): the size and mtime it was
           last seen with, when it was first seen so (settling), its SHA-1 once hashed, and the
           outcome (``UploadStatus``) with a reason
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

from ppsync.state.base import StateBase


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


class UploadsMixin(StateBase):
    """Inbox files and their upload outcomes (``uploads``)."""

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
