"""What a pass does for the years after its walk: a copy of the state after a successful full
walk (``state.backup``), then a slice of the rolling scrub (``mirror.scrub``).

``after_pass`` runs inside the pass, under its lock and after every download is in place (so
the scrub never reads the disk while the pass writes to it), for the daemon's passes and a
one-shot ``sync`` alike; never for ``plan``, nor for the pass ``verify --repair`` runs (the
verify was the full check).
"""

from __future__ import annotations

import sqlite3

from ppsync.config import Settings
from ppsync.export.sidecars import SidecarExport
from ppsync.logs import get_logger
from ppsync.mirror.executor import Layout
from ppsync.mirror.scrub import Scrub
from ppsync.mirror.walk import PassOptions
from ppsync.models import Failure, RunReport
from ppsync.servers.base import PhotoServer
from ppsync.state import State
from ppsync.state.backup import keep_copy

log = get_logger("ppsync.upkeep")


def successful_full_walk(report: RunReport, options: PassOptions) -> bool:
    return (not report.changes_since and report.walk_complete and not report.failures
            and not report.safety_stop and not report.deferred and not options.rebind
            and not report.dry_run)


def after_pass(settings: Settings, state: State, layout: Layout, server: PhotoServer,
               report: RunReport, options: PassOptions,
               sidecars: SidecarExport | None = None) -> None:
    """Keep a copy of the state, then scrub, then make again the sidecars the scrub found
    changed (``sidecars``: the pass's export, None when sidecars are off). Raises
    ``StateDamaged`` when SQLite finds the state damaged; a copy that cannot be written is a
    failure of the pass (exit 1)."""
    if options.dry_run or options.command == "repair":
        return
    if successful_full_walk(report, options):
        try:
            copy = keep_copy(state.db.conn, settings.mirror.state_path)
            log.info("state copy kept", path=str(copy))
        except (OSError, sqlite3.Error) as exc:
            report.failures.append(Failure("state copy", f"cannot keep a copy of the state: "
                                           f"{exc}"))
            log.error("cannot keep a copy of the state", error=str(exc))
    if settings.scrub.enabled and not options.stop.is_set():
        scrub = Scrub(settings, state, layout, server, report, options.stop, options.clock)
        scrub.run()
        if sidecars is not None and scrub.stale_photos and not options.stop.is_set():
            _rewrite_sidecars(settings, state, sidecars, scrub.stale_photos, report)


def _rewrite_sidecars(settings: Settings, state: State, sidecars: SidecarExport,
                      photos: list[str], report: RunReport) -> None:
    """The sidecars the scrub found changed are made again from the server's details (one
    request per photo) and written."""
    for photo in photos:
        state.requeue_photo(photo)
    before = sidecars.written
    sidecars.run(settings.mirror.workers, keep_gone=settings.mirror.delete == "keep")
    report.sidecars_rewritten += sidecars.written - before
    if sidecars.written > before:
        log.warning("sidecars that no longer matched were written again",
                    count=sidecars.written - before)
