"""What ppsync set aside under ``.ppsync/trash/`` and ``.ppsync/replaced/``: counted after every
pass (recorded in the state with the time it was first seen), and pruned by ``[retention]``
after a pass that succeeded, or to keep the disk reserve (``[retention] make_room``).

Pruning removes only files under those two folders, only through real folders inside the
target (never through a symlink), never a file a record of the mirror still points at (a
displaced tracked file), never a damaged copy that ``verify --repair`` kept
(``~damaged-``: it may be the only copy of something), and each removal is logged.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ppsync.config import RetentionConfig
from ppsync.logs import get_logger
from ppsync.mirror.executor import Layout
from ppsync.mirror.retention import DAY, Item, Limits, Prune, items_of, plan_pruning, plan_room
from ppsync.models import Action, ActionKind, Failure, RunReport
from ppsync.redact import redact
from ppsync.state import AsideRow, State

log = get_logger("ppsync.retention")
AREAS = ("trash", "replaced")


def _real_area(layout: Layout, name: str) -> Path | None:
    """``.ppsync/<name>`` when it is a real folder inside the target (not a symlink)."""
    area = layout.meta / name
    if area.is_symlink() or layout.meta.is_symlink() or not area.is_dir():
        return None
    inside = Path(os.path.realpath(area)).is_relative_to(os.path.realpath(layout.target))
    return area if inside else None


def scan(layout: Layout) -> dict[str, int]:
    """Every file (or symlink, never followed) under the areas: relative path → size.
    Raises ``OSError`` when a folder cannot be read."""
    found: dict[str, int] = {}
    skip = len(str(layout.target)) + 1
    for name in AREAS:
        area = _real_area(layout, name)
        stack = [str(area)] if area is not None else []
        while stack:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        found[entry.path[skip:]] = entry.stat(follow_symlinks=False).st_size
    return found


def census(state: State, layout: Layout, now: float, *, write: bool = True) -> list[AsideRow]:
    """What is set aside now. A file not recorded yet was set aside during this pass (or
    before the state knew how to record it): it is recorded as set aside ``now``. Records of
    files that are gone (pruned, taken back, removed by hand) are dropped. ``write=False``
    (a plan) changes nothing."""
    on_disk = scan(layout)
    known = state.set_aside_rows()
    rows = [AsideRow(path, size, known[path].set_aside_at if path in known else now)
            for path, size in on_disk.items()]
    if write:
        changed = [r for r in rows if r.path not in known or known[r.path].size != r.size]
        gone = [path for path in known if path not in on_disk]
        if changed:
            state.record_set_aside(changed)
        if gone:
            state.forget_set_aside(gone)
    return rows


def _items(state: State, rows: list[AsideRow]) -> list[Item]:
    paths = [r.path for r in rows]
    protected = state.paths_with_records(paths)
    protected.update(p for p in paths if "~damaged-" in p.rpartition("/")[2])
    return items_of(rows, protected)


@dataclass
class Pruned:
    files: int = 0
    bytes: int = 0
    failures: list[Failure] = field(default_factory=list)


def _remove(layout: Layout, state: State, prunes: list[Prune]) -> Pruned:
    """Remove the pruned items' files and the folders they leave empty; forget them."""
    result = Pruned()
    removed: list[str] = []
    folders: set[Path] = set()
    areas = [a for a in (_real_area(layout, n) for n in AREAS) if a is not None]
    real_areas = [Path(os.path.realpath(a)) for a in areas]
    for prune in prunes:
        whole = True
        for rel in prune.item.paths:
            path = layout.target / rel
            if not any(Path(os.path.realpath(path.parent)).is_relative_to(a)
                       for a in real_areas):
                whole = False  # a folder became a symlink since the scan: leave it
                continue
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                whole = False
                result.failures.append(Failure(redact(rel), f"cannot prune: {exc.strerror}"))
                continue
            removed.append(rel)
            folders.add(path.parent)
        if whole:
            result.files += 1
            result.bytes += prune.item.size
            log.info("pruned", path=redact(prune.item.key), why=prune.why,
                     size=prune.item.size, set_aside_at=prune.item.set_aside_at)
    state.forget_set_aside(removed)
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        while folder not in areas and any(folder.is_relative_to(a) for a in areas):
            try:
                folder.rmdir()  # only an empty folder goes
            except OSError:
                break
            folder = folder.parent
    return result




def describe(prune: Prune) -> Action:
    """A prune as a line of ``plan``."""
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(prune.item.set_aside_at))
    extra = f" and {len(prune.item.paths) - 1} sidecar(s)" if len(prune.item.paths) > 1 else ""
    return Action(ActionKind.PRUNE, prune.item.key,
                  reason=f"{prune.why}; set aside {when} UTC{extra}")


class SetAside:
    """The set-aside items of one pass's target: counted, pruned, reported."""

    def __init__(self, state: State, layout: Layout, report: RunReport,
                 clock: Callable[[], float]) -> None:
        self._state = state
        self._layout = layout
        self._report = report
        self._clock = clock

    def _limits(self, retention: RetentionConfig) -> Limits:
        """``[retention]`` in seconds and bytes (a percentage of the mirror's originals)."""
        size = retention.max_size_limit
        return Limits(None if retention.keep_days is None else retention.keep_days * DAY,
                      None if size is None else size.of(self._state.active_bytes()))

    def _count(self, pruned: Pruned) -> None:
        self._report.pruned += pruned.files
        self._report.pruned_bytes += pruned.bytes
        self._report.failures.extend(pruned.failures)

    def make_room(self, needed: int) -> int:
        """Prune the oldest items until ``needed`` bytes are freed (or nothing is left to
        prune); returns the bytes freed. For the disk reserve, during a pass."""
        rows = census(self._state, self._layout, self._clock())
        pruned = _remove(self._layout, self._state, plan_room(_items(self._state, rows), needed))
        self._count(pruned)
        if pruned.files:
            log.warning("pruned set-aside items to keep the disk reserve", files=pruned.files,
                        bytes=pruned.bytes)
        return pruned.bytes

    def after_pass(self, retention: RetentionConfig, *, dry_run: bool,
                   show: Callable[[Action], None] | None = None) -> None:
        """Count what is set aside (into the report); after a pass that succeeded (no
        failure, no error so far), prune what ``[retention]`` says. A dry run (``plan``)
        changes nothing and shows each prune instead. Raises ``sqlite3.Error``."""
        report = self._report
        clean = not (report.failures or report.error or report.safety_stop)
        now = self._clock()
        try:
            limits = self._limits(retention)
            rows = census(self._state, self._layout, now, write=not dry_run)
            if clean and retention.limits:
                prunes = plan_pruning(_items(self._state, rows), now, limits)
                if dry_run:
                    for prune in prunes:
                        self._report.pruned += 1
                        self._report.pruned_bytes += prune.item.size
                        if show is not None:
                            show(describe(prune))
                else:
                    self._count(_remove(self._layout, self._state, prunes))
                    rows = census(self._state, self._layout, now)
        except OSError as exc:  # an unreadable area: said, and the run exits 1
            self._report.failures.append(Failure(".ppsync", redact(
                f"cannot count or prune what is set aside: {exc.strerror}: {exc.filename}")))
            return
        self._report.aside_measured = True
        self._report.aside_files = len(rows)
        self._report.aside_bytes = sum(r.size for r in rows)
        self._report.aside_oldest = min((r.set_aside_at for r in rows), default=0.0)
