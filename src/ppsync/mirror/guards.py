"""Before a pass: the guards that refuse a target that is missing, unmounted or not the disk
the state knows, and the record of a pass refused there (or by a failed login), so that
``status`` and ``health`` show every pass's outcome."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from ppsync.config import MirrorConfig
from ppsync.errors import ConfigError, PpsyncError, SafetyStop
from ppsync.logs import get_logger
from ppsync.mirror.executor import Layout
from ppsync.models import RunReport
from ppsync.redact import redact
from ppsync.state import State

log = get_logger("ppsync.guards")


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


def guard_target_still_there(mirror: MirrorConfig) -> None:
    """Raise ``SafetyStop`` when the target went away during a pass (a USB disk unplugged, a
    share unmounted), so the pass ends as the stop the next pass would be, not as failures."""
    try:
        guard_target(mirror)
    except SafetyStop as exc:
        raise SafetyStop(f"the target went away during the pass: {exc}") from None
    except ConfigError:
        pass  # there, but no longer writable: the failures it caused say so


def guard_state_matches_target(state: State, layout: Layout, mirror: MirrorConfig) -> None:
    """A state kept outside the target that knows files, facing an empty target, means the
    target is not the disk it was (unmounted, swapped): stop rather than download it all again."""
    if mirror.state is None or Path(mirror.state).is_relative_to(layout.target):
        return
    tracked = state.count_active()
    has_content = any(entry.name != ".ppsync" for entry in os.scandir(layout.target))
    if tracked and not has_content:
        raise SafetyStop(f"the state says {tracked} files are mirrored, but {layout.target} is "
                         "empty: is the disk mounted?")


def refused_report(command: str, exc: PpsyncError, *, dry_run: bool = False) -> RunReport:
    """The report of a pass that was refused before it began (target missing or not mounted,
    a state that does not match the target, a failed login)."""
    now = time.time()
    message = redact(str(exc))
    return RunReport(command=command, started_at=now, finished_at=now, error=message,
                     exit_code=exc.exit_code, error_type=type(exc).__name__, dry_run=dry_run,
                     safety_stop=message if isinstance(exc, SafetyStop) else "")


def record_refused_pass(mirror: MirrorConfig, report: RunReport) -> None:
    """Record a refused pass in the state, so that ``status`` and ``health`` show it, wherever
    the state can be written without touching a missing or unmounted target: a state kept
    outside the target (the Docker image's /state) whose folder exists, or a state inside a
    target that passes ``guard_target``. A state that cannot be written is skipped."""
    path = mirror.state_path
    outside = mirror.state is not None and not Path(mirror.state).is_relative_to(mirror.target)
    if outside and not path.parent.is_dir():
        return
    if not outside:
        try:
            guard_target(mirror)  # the target is there (and mounted): .ppsync/ may be made
        except PpsyncError:
            return
    try:
        state = State.open(path)
    except ConfigError as exc:
        log.warning("cannot record the refused pass", error=str(exc))
        return
    try:
        record_run(state, report)
    finally:
        state.close()


def record_run(state: State, report: RunReport) -> None:
    """Record a run that never started its own row (a refused pass)."""
    try:
        report.run_id = state.start_run(report.command)
        state.finish_run(report)
    except sqlite3.Error as exc:
        log.error("cannot record the run in the state", error=str(exc))
