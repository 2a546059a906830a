"""What every table group of the state shares: the connection, transactions, batched lookups.

``State`` (in ``ppsync.state``) is composed of the table-group mixins, which all build on
``StateBase``. This module is apart from ``state.py`` only so the mixins can import it without
an import cycle.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported by State.open: the read-only commands never load it
    import sqlite_utils


_BATCH = 500  # SQLite's variable limit is 32766; stay far below it


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


def _same_path(path: str) -> str:
    return path


def _casefold(path: str | None) -> str | None:
    return None if path is None else path.casefold()


class StateBase:
    """The attributes and helpers the table-group mixins rely on; ``State.__init__`` sets them."""

    db: sqlite_utils.Database
    claim_key: Callable[[str], str]

    def transaction(self) -> contextlib.AbstractContextManager[sqlite_utils.Database]:
        """A transaction, or a savepoint when one is already open (nested writes)."""
        return self.db.atomic()

    def _rows_in(self, sql: str, keys: Iterable[str]) -> Iterator[tuple[Any, ...]]:
        """Rows of ``sql`` for all ``keys``: its ``IN ({marks})`` is filled chunk by chunk, so a
        page of keys never exceeds SQLite's variable limit."""
        for chunk in _chunks(list(keys)):
            marks = ",".join("?" * len(chunk))
            yield from self.db.execute(sql.format(marks=marks), chunk).fetchall()
