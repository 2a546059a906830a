"""Pure: which set-aside items to prune, from their rows, the clock and the limits. No I/O.

An item is a file under ``.ppsync/trash/`` or ``.ppsync/replaced/``, together with ppsync's
own sidecars of it kept beside it (``<name>.ppsync.json`` / ``.ppsync.xmp``): they go together,
so a kept photo never loses its sidecar and no sidecar outlives its photo. Protected items
(a file a record still points at, a damaged copy) are never chosen, but their bytes count
towards ``max_size``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ppsync.state import AsideRow

DAY = 86400.0
_SIDECAR_SUFFIXES = (".ppsync.json", ".ppsync.xmp")


@dataclass(frozen=True, slots=True)
class Limits:
    keep_seconds: float | None = None  # older than this (since set aside) goes
    max_bytes: int | None = None  # beyond this in total, the oldest go


@dataclass(frozen=True, slots=True)
class Item:
    """One set-aside item: a file and ppsync's sidecars of it (``paths``, the file first)."""

    key: str
    paths: tuple[str, ...]
    size: int
    set_aside_at: float  # the newest of its files: an item is as old as its youngest part
    protected: bool


@dataclass(frozen=True, slots=True)
class Prune:
    item: Item
    why: str  # "expired" | "over max_size" | "make room"


def _item_key(path: str) -> str:
    for suffix in _SIDECAR_SUFFIXES:
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return path


def items_of(rows: Iterable[AsideRow], protected: set[str]) -> list[Item]:
    """Rows grouped into items, oldest first (ties by path, so the order is stable)."""
    groups: dict[str, list[AsideRow]] = {}
    for row in rows:
        groups.setdefault(_item_key(row.path), []).append(row)
    items = [Item(key, tuple(r.path for r in sorted(members, key=lambda r: (r.path != key,
                                                                               r.path))),
                  sum(r.size for r in members), max(r.set_aside_at for r in members),
                  any(r.path in protected for r in members))
             for key, members in groups.items()]
    return sorted(items, key=lambda i: (i.set_aside_at, i.key))


def plan_pruning(items: list[Item], now: float, limits: Limits) -> list[Prune]:
    """What the limits prune, oldest first: every item older than ``keep_seconds``, then the
    oldest until the total is within ``max_bytes``. ``items`` as ``items_of`` returns them."""
    chosen: list[Prune] = []
    total = sum(i.size for i in items)
    for item in items:
        if item.protected:
            continue
        if limits.keep_seconds is not None and now - item.set_aside_at > limits.keep_seconds:
            chosen.append(Prune(item, "expired"))
        elif limits.max_bytes is not None and total > limits.max_bytes:
            chosen.append(Prune(item, "over max_size"))
        else:
            continue
        total -= item.size
    return chosen


def plan_room(items: list[Item], needed: int) -> list[Prune]:
    """The oldest items whose bytes together reach ``needed`` (all of them when they do not)."""
    chosen: list[Prune] = []
    freed = 0
    for item in items:
        if freed >= needed:
            break
        if not item.protected:
            chosen.append(Prune(item, "make room"))
            freed += item.size
    return chosen
