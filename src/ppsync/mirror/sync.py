"""One sync pass: guard the target, lock it, walk the server, plan and carry out, report.

``run_sync`` is the engine that ``ppsync sync``, ``ppsync plan`` and the daemon share. It never
raises for problems of the run itself: every failure ends up in the returned ``RunReport``
(``exit_code``, ``error``, ``safety_stop``, ``failures``), in the state's run history and in the
logs. Configuration problems found before the run starts (missing target, lock) raise.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time

from ppsync.config import Settings
from ppsync.errors import (
    INTERRUPTED,
    ConfigError,
    Interrupted,
    PpsyncError,
    SafetyStop,
    StateDamaged,
)
from ppsync.export.albums import AlbumExport
from ppsync.export.sidecars import SidecarExport
from ppsync.lock import TargetLock
from ppsync.logs import bind_run, get_logger, unbind_run
from ppsync.mirror import layout as templates
from ppsync.mirror.disk_reserve import DiskReserve
from ppsync.mirror.dry_run import ActionSink, planner_sink
from ppsync.mirror.executor import STOP_GRACE, Executor, Layout
from ppsync.mirror.guards import (
    TargetMark,
    guard_state_matches_target,
    guard_target_still_there,
    mark_target,
    record_refused_pass,
    record_run,
    refused_report,
)
from ppsync.mirror.guards import (
    guard_target as guard_target,  # cli, uploader and restore use it here
)
from ppsync.mirror.identity import (
    ServerIdentity,
    bind,
    guard_identity,
    record_identity,
)
from ppsync.mirror.set_aside import SetAside
from ppsync.mirror.unproven import UnprovenServer, is_unproven
from ppsync.mirror.upkeep import after_pass
from ppsync.mirror.walk import PassOptions as PassOptions  # the engine's callers import it here
from ppsync.mirror.walk import SyncRun
from ppsync.models import Failure, RunReport
from ppsync.redact import redact
from ppsync.report import listed_note
from ppsync.servers import open_server
from ppsync.servers.abortable import StopWatchdog
from ppsync.servers.preflight import preflight
from ppsync.state import State
from ppsync.state.backup import damaged_error, is_damage

log = get_logger("ppsync.sync")

CURSOR_KEY = "change_cursor"
LAST_FULL_KEY = "last_full_walk"
# "<favorites>,<private>,<archived>" from the server's config.count when the last full walk
# began: a star, archiving and restoring leave the change stamp alone, so a change pass that
# finds these counts moved walks everything.
FLAG_COUNTS_KEY = "flag_counts"
NOT_ON_SERVER_WARNING = (
    "files the mirror holds are not listed by the new server: they stay in the mirror, kept "
    "(no later walk removes them). Its defaults may leave out what the old server listed "
    "(archived, private, hidden or locked photos, a query filter), or they were not restored "
    "into it; a file of the same content that it lists later takes its copy back")


def full_walk_due(settings: Settings, now: float) -> bool:
    """Is it time for a full walk (none yet, or the last one is ``full_every`` old)? The one
    rule for the daemon's passes and a one-shot ``ppsync sync``."""
    path = settings.mirror.state_path
    if not path.is_file():
        return True
    state = State.open(path)
    try:
        last = state.get_meta(LAST_FULL_KEY)
    finally:
        state.close()
    return last is None or now - float(last) >= settings.schedule.full_every_seconds


def clean_partials(layout: Layout) -> None:
    """After a complete, failure-free pass nothing in partial/ will be resumed."""
    for leftover in layout.partial.glob("*.part"):
        leftover.unlink(missing_ok=True)


def _exit_code(report: RunReport) -> int:
    if report.exit_code:
        return report.exit_code
    if report.safety_stop:
        return SafetyStop.exit_code
    return 1 if report.failures else 0


def run_sync(settings: Settings, options: PassOptions | None = None) -> RunReport:
    """Run one pass (a full walk, or a change pass with ``options.changes_only``).

    Raises ``SafetyStop``/``ConfigError``/``LockHeld`` before the run starts; everything that
    happens after is in the returned report, the state's run history and the logs.
    """
    options = options or PassOptions()
    try:
        layout = guard_target(settings.mirror)
        mark = mark_target(layout)  # what every check during the pass compares with
        templates.for_server(settings.mirror.layout,
                             server_paths=settings.server.kind == "photoprism")
    except (SafetyStop, ConfigError) as exc:
        record_refused_pass(settings.mirror, refused_report(
            _command(options), exc, dry_run=options.dry_run))
        raise
    with TargetLock(layout.meta / "lock"):
        state = State.open(settings.mirror.state_path)
        try:
            # We hold the lock, so no run of this target is going: an unfinished one was cut
            # short (SIGKILL, out of memory, power loss).
            state.mark_crashed(all_unfinished=True)
            try:
                guard_state_matches_target(state, layout, settings.mirror)
                if not options.rebind:  # kind and address; the account once logged in
                    guard_identity(state, ServerIdentity.configured(settings.server))
            except SafetyStop as exc:
                record_run(state, refused_report(_command(options), exc,
                                                 dry_run=options.dry_run))
                raise
            return _run_locked(settings, state, layout, mark, options)
        finally:
            state.close()


def _command(options: PassOptions) -> str:
    return "change" if options.changes_only else options.command


def _run_locked(settings: Settings, state: State, layout: Layout, mark: TargetMark,
                options: PassOptions) -> RunReport:
    own_server = options.server is None
    server = options.server or open_server(settings.server, stop=options.stop)
    # A state from an older ppsync is bound to its server by a full walk that lists its files.
    unproven = not options.rebind and is_unproven(state)
    # A server without a change feed gets a full walk when a change pass is asked for.
    changes = (options.changes_only and server.capabilities.change_feed
               and not options.rebind and not unproven)  # a re-bind walks everything
    since = state.get_meta(CURSOR_KEY) if changes else None
    command = "change" if since else options.command
    report = RunReport(command=command, started_at=time.time(), dry_run=options.dry_run,
                       changes_since=since or "", rebind=options.rebind)
    report.run_id = state.start_run(command)
    bind_run(report.run_id, command)
    set_aside = SetAside(state, layout, report, options.clock)
    reserve = None if options.dry_run else DiskReserve(
        layout.target, layout.partial, settings.mirror.min_free_limit, report,
        make_room=set_aside.make_room if settings.retention.make_room else None)
    executor = Executor(layout=layout, state=state, server=server, report=report,
                        workers=settings.mirror.workers,
                        keep_replaced=settings.mirror.delete != "mirror",
                        on_progress=options.on_progress, stop=options.stop, reserve=reserve)
    run = SyncRun(settings, state, server, report, options)
    if layout.ignores_case:  # names that differ only in case must claim one path
        state.fold_case_in_claims()
        run.placer.fold_case = True
        run.collision_note = ("; this disk does not tell upper from lower case, so names that "
                              "differ only in case are one file here")
    dry_run = options.dry_run
    if settings.metadata.enabled:  # a plan walks like a sync, and only previews the export
        run.sidecars = SidecarExport(metadata=settings.metadata, state=state, server=server,
                                     executor=executor, layout=layout, report=report)
    apply: ActionSink = (planner_sink(layout, report, options.on_action,
                                      keep_replaced=settings.mirror.delete != "mirror")
                         if dry_run else executor.apply)
    proof = UnprovenServer(state, apply) if unproven else None
    log.info("run started", target=str(layout.target), dry_run=dry_run, since=since or None,
             ignores_case=layout.ignores_case)

    def still_there(*, with_state: bool = True) -> None:
        guard_target_still_there(settings.mirror, layout, mark, state if with_state else None)

    def after_page() -> None:  # two stats: no page's downloads go to a gone disk
        if not dry_run:
            executor.sync_dirs()
        still_there(with_state=False)

    watchdog = StopWatchdog(options.stop, server.abort, STOP_GRACE)
    try:
        tracked_before = state.count_active()
        if not server.is_open:
            info = server.open()
            log.info("logged in", server_version=info.version, user=info.user_name)
            preflight(server, settings)  # once per session: all it lacks, before any work
        identity = ServerIdentity.reached(settings.server, server)
        if not options.rebind:
            guard_identity(state, identity)  # before anything is listed or touched
            if not dry_run:
                bind(state, identity)
        flags = (server.flags_stamp() if run.sidecars is not None
                 and server.capabilities.flags_outside_change_feed else "")
        if since and flags and flags != (state.get_meta(FLAG_COUNTS_KEY) or flags):
            log.info("the number of favourite, private or archived photos changed, and "
                     "neither a star nor the archive changes a photo's UpdatedAt: this pass "
                     "walks everything", counts=flags)
            since, report.command, report.changes_since = None, options.command, ""
            bind_run(report.run_id, report.command)
        complete, reason = run.walk(proof.apply if proof else apply, after_page, since or "")
        if proof is not None:  # another server than the mirror's: refused before any removal
            proof.judge_walk(complete, identity)
            report.deferred = proof.dropped
        executor.drain()
        still_there()  # never remove on the strength of a gone disk
        report.rekeyed = run.rebinder.matched
        if options.rebind:  # nothing is removed on the strength of a first walk of a server
            report.not_on_server = state.count_unwalked_active()
            log.info("re-bound to the configured server", matched_by_sha1=report.rekeyed,
                     not_on_the_new_server=report.not_on_server, complete=complete)
            if report.not_on_server:
                log.warning(NOT_ON_SERVER_WARNING, not_on_the_new_server=report.not_on_server)
        elif not since:
            complete = run.remove_missing(complete, reason, tracked_before,
                                          apply if dry_run else executor.remove)
        report.walk_complete = complete
        # Kept from an earlier server once this pass is over (a re-bind keeps what it missed).
        report.kept_from_before = state.count_kept() + (
            report.not_on_server if options.rebind and complete else 0)
        if options.stop.is_set():
            raise Interrupted("stopped before the pass could finish; it resumes next time")
        if dry_run and run.sidecars is not None:  # what sync reads after the walk, read only
            run.sidecars.preview(settings.mirror.workers, apply)
        if not dry_run:
            _export(settings, run, state, layout, executor)
            if flags and not since and complete:  # every photo's flags were compared
                state.set_meta(FLAG_COUNTS_KEY, flags)
            _remember_progress(state, run, layout, report,
                               full=not since and not options.rebind)
            if proof is not None:
                proof.bind_if_proven(report, identity)
            after_pass(settings, state, layout, server, report, options,  # copy, scrub
                       run.sidecars)
            if options.rebind and complete:  # only a complete listing accepts the server
                record_identity(state, identity)
                # What the new server did not list is kept, never removed by its walks: its
                # defaults may leave out what the old one listed (its archive, private or
                # hidden photos, a filter), so its listing proves no deletion.
                state.keep_unwalked()
                state.delete_meta(LAST_FULL_KEY)  # the next pass walks everything
    except PpsyncError as exc:
        report.error = redact(str(exc))
        report.exit_code = exc.exit_code
        report.error_type = type(exc).__name__
        if isinstance(exc, SafetyStop):
            report.safety_stop = report.error
        log.error("run failed", error=report.error, exit_code=exc.exit_code)
    except (sqlite3.Error, OSError) as exc:  # the state or the disk gave out under us
        damaged = isinstance(exc, sqlite3.Error) and is_damage(exc)  # say the way back: exit 2
        report.error = redact(str(damaged_error(state.path, str(exc))) if damaged
                              else f"{type(exc).__name__}: {exc}")
        report.exit_code = StateDamaged.exit_code if damaged else 1
        report.error_type = StateDamaged.__name__ if damaged else type(exc).__name__
        log.error("run failed", error=report.error, exit_code=report.exit_code)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM to a one-shot command (see cli.main)
        options.stop.set()  # downloads in flight get the grace period, then stay resumable
        report.error = INTERRUPTED
        report.exit_code = Interrupted.exit_code
        log.error("run interrupted", exit_code=report.exit_code)
        raise
    finally:
        watchdog.finish()
        if executor.pending:
            # The walk failed with downloads in flight: put what finished in place anyway.
            with contextlib.suppress(PpsyncError):  # already the run's error, or per file
                executor.drain()
        executor.close()
        if own_server:
            server.close()
        with contextlib.suppress(sqlite3.Error):  # begin_walk clears it anyway
            state.end_walk()
        report.finished_at = time.time()
        if report.exit_code != Interrupted.exit_code and not report.safety_stop:
            try:
                still_there()
            except sqlite3.Error:
                pass  # the state gave out: already the run's error, or said when recorded
            except SafetyStop as exc:  # what failed failed for that: say so, exit 4
                report.safety_stop = report.error = redact(str(exc))
                report.exit_code = exc.exit_code
        if not report.safety_stop and report.exit_code != Interrupted.exit_code:
            try:  # counted after every pass; pruned only after one that succeeded
                set_aside.after_pass(settings.retention, dry_run=dry_run,
                                     show=options.on_action)
            except sqlite3.Error as exc:
                report.failures.append(Failure(".ppsync", f"set-aside items: {exc}"))
        report.exit_code = _exit_code(report)
        try:
            state.finish_run(report)
        except sqlite3.Error as exc:  # e.g. a full disk: the logs still carry the summary
            log.error("cannot record the run in the state", error=str(exc))
        log.info("run finished", exit_code=report.exit_code, listed=report.listed,
                 downloaded=report.downloaded, moved=report.moved, failed=report.failed,
                 duration=round(report.duration, 2),
                 **({"listed_what": listed_note(report)} if since else {}))
        unbind_run()
    return report


def _export(settings: Settings, run: SyncRun, state: State, layout: Layout,
            executor: Executor) -> None:
    """After the walk and its removals: album folders, then metadata sidecars. Both only act
    on what changed (no request per photo or album member on a no-op pass)."""
    if settings.albums.mode != "none":
        # First: a membership change does not move the photo's change stamp, so the album export
        # queues the photos it saw join or leave an album for their sidecars below.
        # A re-bind drops the old server's albums: their manifests are kept aside, as the
        # only record of them when the albums were not restored into the new server.
        AlbumExport(settings.albums, state, run.server, layout, run.report,
                    manifests_aside=layout.trash if run.options.rebind else None,
                    archive_walked=settings.mirror.include_archived and run.report.walk_complete
                    and not run.report.changes_since).run()
    if run.sidecars is not None:
        run.sidecars.run(settings.mirror.workers, keep_gone=settings.mirror.delete == "keep",
                         trash_gone=settings.mirror.delete == "trash")
        executor.drain()


def _remember_progress(state: State, run: SyncRun, layout: Layout, report: RunReport,
                       *, full: bool) -> None:
    """After a clean pass, move the change cursor (a pass with failures leaves it, so the next
    change pass asks again for what failed) and note a complete full walk. A walk of an unproven
    server that dropped actions (``report.deferred``) records neither, and forgets both: the
    next pass, a change pass or not, walks everything, and plans them again."""
    if report.deferred:
        state.delete_meta(CURSOR_KEY)
        state.delete_meta(LAST_FULL_KEY)
        log.warning("this walk proved the server after holding back more actions than it keeps: "
                    "the next pass walks everything to plan them", deferred=report.deferred)
        return
    if report.failures or report.safety_stop:
        return
    state.set_meta(CURSOR_KEY, run.change_cursor())
    if full and report.walk_complete:
        state.set_meta(LAST_FULL_KEY, str(report.started_at))
        clean_partials(layout)
