"""``ppsync verify``: re-hash every mirrored file against the SHA-1 the server gave for it.

Reads the state and the files only; with ``repair`` a damaged file is moved aside under
``.ppsync/damaged/`` (never deleted: it may be the only copy of something) and the caller runs a
sync pass, which downloads every missing original again. A verify is a whole cycle of the rolling
scrub (``mirror.scrub``): every file found intact counts as verified now, and the cycle restarts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ppsync.fsutil import existing_path, move_into, sha1_of
from ppsync.logs import get_logger
from ppsync.mirror.executor import Layout
from ppsync.mirror.scrub import CYCLE_DONE_KEY, CYCLE_STARTED_KEY, damaged_folder
from ppsync.models import Failure
from ppsync.state import State

log = get_logger("ppsync.verify")


@dataclass(slots=True)
class VerifyReport:
    checked: int = 0
    ok: int = 0
    missing: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    set_aside: list[Failure] = field(default_factory=list)
    duration: float = 0.0

    @property
    def problems(self) -> int:
        return len(self.missing) + len(self.damaged)


def verify_mirror(state: State, layout: Layout, *, repair: bool,
                  clock: Callable[[], float] = time.time) -> VerifyReport:
    """Hash every held (active or kept) record's file. Returns what was missing or damaged
    (and, with ``repair``, where damaged files were set aside)."""
    report = VerifyReport()
    started = time.monotonic()
    now = clock()
    state.catch_up_verified(now)
    intact: list[tuple[str, str, float]] = []
    for record in state.held_records():  # kept files from an earlier server too
        report.checked += 1
        local = existing_path(layout.target, record.path)
        if local is None:
            report.missing.append(record.path)
            log.error("missing", path=record.path)
            continue
        digest = sha1_of(local)
        if digest == record.sha1:
            report.ok += 1
            intact.append((record.file_uid, record.sha1, now))
            continue
        report.damaged.append(record.path)
        log.error("damaged", path=record.path, expected=record.sha1, actual=digest)
        if repair:
            aside = move_into(local, damaged_folder(layout), record.path, f"~{digest[:12]}")
            report.set_aside.append(Failure(record.path, layout.relative(aside)))
    state.mark_verified(intact)
    if not report.problems:  # the on-demand full check is a whole cycle of the scrub
        state.set_meta(CYCLE_DONE_KEY, repr(now))
        state.set_meta(CYCLE_STARTED_KEY, repr(now))
    report.duration = time.monotonic() - started
    return report
