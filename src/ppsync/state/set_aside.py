"""The ``set_aside`` table: what ppsync moved under ``.ppsync/trash/`` and ``.ppsync/replaced/``,
how big it is, and when it was set aside (what retention counts an item's age from).

Table (created by ``ppsync.state.migrations``, schema 6)::

    set_aside  one row per file under those folders, by its path relative to the target
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ppsync.state.base import StateBase


@dataclass(frozen=True, slots=True)
class AsideRow:
    path: str  # relative to the target, e.g. ".ppsync/trash/2024/05/IMG_1.jpg"
    size: int
    set_aside_at: float  # seconds since the epoch


@dataclass(frozen=True, slots=True)
class AsideTotals:
    files: int
    bytes: int
    oldest: float | None  # when the oldest item was set aside; None when there is none


class SetAsideMixin(StateBase):
    """What is set aside, by path; written by ``ppsync.mirror.set_aside`` only."""

    def set_aside_rows(self) -> dict[str, AsideRow]:
        """Every recorded item, by path."""
        sql = "SELECT path, size, set_aside_at FROM set_aside"
        return {row[0]: AsideRow(row[0], int(row[1]), float(row[2]))
                for row in self.db.execute(sql).fetchall()}

    def record_set_aside(self, rows: Iterable[AsideRow]) -> None:
        """Insert or update these items (a new size keeps the recorded time: same item)."""
        with self.transaction():
            self.db.conn.executemany(
                "INSERT INTO set_aside (path, size, set_aside_at) VALUES (?, ?, ?) "
                "ON CONFLICT(path) DO UPDATE SET size = excluded.size",
                [(r.path, r.size, r.set_aside_at) for r in rows])

    def forget_set_aside(self, paths: Iterable[str]) -> None:
        """Items that are gone from disk (pruned, or removed by the user)."""
        with self.transaction():
            self.db.conn.executemany("DELETE FROM set_aside WHERE path = ?",
                                     [(p,) for p in paths])

    def paths_with_records(self, paths: Iterable[str]) -> set[str]:
        """Which of these paths a ``files`` record (any status) names: a displaced tracked
        file lives in replaced/ with its record, and such a file is not for retention."""
        sql = "SELECT path FROM files WHERE path IN ({marks})"
        return {row[0] for row in self._rows_in(sql, paths)}

    def set_aside_totals(self) -> AsideTotals:
        row = self.db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0), MIN(set_aside_at) "
                              "FROM set_aside").fetchone()
        return AsideTotals(int(row[0]), int(row[1]), None if row[2] is None else float(row[2]))
