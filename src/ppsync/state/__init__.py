"""ppsync's local state in SQLite: the only SQL in ppsync.

``core`` holds ``State`` (runs, meta and the open/close/lock logic), composed of the table-group
mixins ``files``, ``export``, ``uploads`` and ``set_aside`` over ``base``; ``migrations`` holds
the schema version and the forward migrations; ``reader`` is the read-only look ``status`` and
``health`` take. Other packages import only from here (or ``ppsync.state.reader``).

Names are loaded when first used (PEP 562): importing ``ppsync.state.reader`` runs this file,
and must not pay for ``State`` and everything it is made of.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ppsync.state.core import State, set_run_origin
    from ppsync.state.migrations import MIGRATIONS, SCHEMA_VERSION
    from ppsync.state.set_aside import AsideRow, AsideTotals
    from ppsync.state.uploads import UploadRecord, UploadStatus

_HOMES = {"State": "core", "set_run_origin": "core", "MIGRATIONS": "migrations",
          "SCHEMA_VERSION": "migrations", "AsideRow": "set_aside", "AsideTotals": "set_aside",
          "UploadRecord": "uploads", "UploadStatus": "uploads"}

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "AsideRow", "AsideTotals", "State", "UploadRecord",
           "UploadStatus", "set_run_origin"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # once: later look-ups do not come here
    return value
