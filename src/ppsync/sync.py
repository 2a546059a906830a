"""One sync pass: guard the target, lock it, walk the server, plan and carry out, report.

``run_sync`` is the engine that ``ppsync sync``, ``ppsync plan`` and the daemon share. It never
raises for problems of the run itself: every failure ends up in the returned ``RunReport``
(``exit_code``, ``error``, ``safety_stop``, ``failures``), in the state's run history and in the
logs. Configuration problems found before the run starts (missing target, lock) raise.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from ppsync.client import PhotoPrismClient
from ppsync.config import MirrorConfig, Settings
from ppsync.errors import ConfigError, PpsyncError, SafetyStop
from ppsync.executor import Executor, Layout
from ppsync.lock import TargetLock
from ppsync.logs import bind_run, get_logger, unbind_run
from ppsync.models import Action, ActionKind, RemoteFile, RunReport
from ppsync.planner import Policy, judge_removals, judge_walk, plan_file, removal_action
from ppsync.redact import redact
from ppsync.state import State
from ppsync.walker import Walker

log = get_logger("ppsync.sync")
ActionSink = Callable[[Action], None]


def guard_target(mirror: MirrorConfig) -> Layout:
    """Refuse a target that is missing or not mounted; never create it or its parents.

    Raises ``SafetyStop`` (exit 4) or ``ConfigError`` (exit 2).
    """
    target = mirror.target
    if not target.is_dir():
        raise SafetyStop(
            f"mirror.target {target} does not exist or is not a folder. ppsync never creates "
            "it, so that an unmounted disk is not mistaken for an empty mirror: create it first"
        )
    if mirror.require_mount and not os.path.ismount(target):
        raise SafetyStop(f"mirror.target {target} is not a mount point and "
                         "mirror.require_mount = true: is the disk mounted?")
    layout = Layout(target)
    try:
        layout.create()
    except OSError as exc:
        raise ConfigError(f"mirror.target: cannot write to {target}: {exc.strerror}") from None
    return layout


def _guard_state_matches_target(state: State, layout: Layout, mirror: MirrorConfig) -> None:
    """A state kept outside the target that knows files, facing an empty target, means the
    target is not the disk it was (unmounted, swapped): stop rather than download it all again."""
    if mirror.state is None or Path(mirror.state).is_relative_to(layout.target):
        return
    tracked = state.count_active()
    has_content = any(entry.name != ".ppsync" for entry in os.scandir(layout.target))
    if tracked and not has_content:
        raise SafetyStop(f"the state says {tracked} files are mirrored, but {layout.target} is "
                         "empty: is the disk mounted?")


def _dedupe(state: State) -> Callable[[list[RemoteFile]], list[RemoteFile]]:
    def fresh(files: list[RemoteFile]) -> list[RemoteFile]:
        unique = list({f.file_uid: f for f in files}.values())
        unseen = state.unwalked([f.file_uid for f in unique])
        return [f for f in unique if f.file_uid in unseen]

    return fresh


class SyncRun:
    """The steps of one pass, sharing the run's state, client and report."""

    def __init__(self, settings: Settings, state: State, client: PhotoPrismClient,
                 report: RunReport, layout: Layout) -> None:
        self.settings = settings
        self.mirror = settings.mirror
        self.state = state
        self.client = client
        self.report = report
        self.layout = layout
        self.policy = Policy(self.mirror.delete, self.mirror.max_delete,
                             self.mirror.max_delete_percent)

    def walk(self, apply: ActionSink, after_page: Callable[[], None]) -> tuple[bool, str]:
        """Walk every page, planning each file against the state; returns (complete, reason)."""
        counts_before = self.client.login_counts()
        self.state.begin_walk()
        walker = Walker(self.client, self.mirror, _dedupe(self.state))
        for files in walker.pages():
            self._plan_page(files, apply)
            after_page()
        counts_after = self.client.fetch_counts()
        self.report.listed = walker.stats.originals
        return judge_walk(walker.stats, counts_before, counts_after, self.mirror)

    def _plan_page(self, files: list[RemoteFile], apply: ActionSink) -> None:
        records = self.state.records_for(f.file_uid for f in files)
        claims = self.state.claims_on(f.name for f in files)
        walked: list[tuple[str, str | None]] = []
        actions = []
        for remote in files:
            action = plan_file(remote, records.get(remote.file_uid), claims.get(remote.name))
            claimed = action.path if action.kind is not ActionKind.REFUSE else None
            if claimed is not None:
                claims[claimed] = remote.file_uid
            walked.append((remote.file_uid, claimed))
            actions.append(action)
        self.state.record_walked(walked)
        for action in actions:
            apply(action)

    def remove_missing(self, complete: bool, reason: str, tracked_before: int,
                       apply: ActionSink) -> None:
        unseen = self.state.count_unwalked_active()
        verdict = judge_removals(
            walk_complete=complete, walk_reason=reason, listed=self.report.listed,
            tracked=tracked_before, unseen=unseen, policy=self.policy,
        )
        if not verdict.allowed:
            self.report.safety_stop = verdict.reason
            log.error("safety stop", reason=verdict.reason)
            return
        for record in self.state.unwalked_active():
            apply(removal_action(record, self.policy))

    def clean_partials(self) -> None:
        """After a complete, failure-free pass nothing in partial/ will be resumed."""
        for leftover in self.layout.partial.glob("*.part"):
            leftover.unlink(missing_ok=True)


def _exit_code(report: RunReport) -> int:
    if report.exit_code:
        return report.exit_code
    if report.safety_stop:
        return SafetyStop.exit_code
    return 1 if report.failures else 0


def run_sync(
    settings: Settings, *, command: str = "sync", dry_run: bool = False,
    on_action: ActionSink | None = None, on_progress: Callable[[], None] | None = None,
) -> RunReport:
    """Run one pass. ``dry_run`` plans without changing the mirror and hands every action to
    ``on_action``. Raises ``SafetyStop``/``ConfigError``/``LockHeld`` before the run starts;
    everything after is in the report."""
    layout = guard_target(settings.mirror)
    with TargetLock(layout.meta / "lock"):
        state = State.open(settings.mirror.state_path)
        try:
            _guard_state_matches_target(state, layout, settings.mirror)
            return _run_locked(settings, state, layout, command, dry_run, on_action, on_progress)
        finally:
            state.close()


def _run_locked(
    settings: Settings, state: State, layout: Layout, command: str, dry_run: bool,
    on_action: ActionSink | None, on_progress: Callable[[], None] | None,
) -> RunReport:
    report = RunReport(command=command, started_at=time.time(), dry_run=dry_run)
    report.run_id = state.start_run(command)
    bind_run(report.run_id, command)
    client = PhotoPrismClient(settings.server)
    executor = Executor(layout=layout, state=state, client=client, report=report,
                        workers=settings.mirror.workers,
                        keep_replaced=settings.mirror.delete != "mirror", on_progress=on_progress)
    run = SyncRun(settings, state, client, report, layout)
    apply: ActionSink = (on_action or (lambda _: None)) if dry_run else executor.apply
    log.info("run started", target=str(layout.target), dry_run=dry_run)
    try:
        tracked_before = state.count_active()
        session = client.login()
        log.info("logged in", server_version=session.server_version, user=session.user_name)
        complete, reason = run.walk(apply, (lambda: None) if dry_run else executor.sync_dirs)
        executor.drain()
        run.remove_missing(complete, reason, tracked_before,
                           apply if dry_run else executor.remove)
        report.walk_complete = complete
        if complete and not report.failures and not report.safety_stop and not dry_run:
            run.clean_partials()
    except PpsyncError as exc:
        report.error = redact(str(exc))
        report.exit_code = exc.exit_code
        log.error("run failed", error=report.error, exit_code=exc.exit_code)
    finally:
        if executor.pending:
            # The walk failed with downloads in flight: put what finished in place anyway.
            with contextlib.suppress(PpsyncError):  # already the run's error, or per file
                executor.drain()
        executor.close()
        client.close()
        report.finished_at = time.time()
        report.exit_code = _exit_code(report)
        state.finish_run(report)
        log.info("run finished", exit_code=report.exit_code, listed=report.listed,
                 downloaded=report.downloaded, moved=report.moved, failed=report.failed,
                 duration=round(report.duration, 2))
        unbind_run()
    return report
