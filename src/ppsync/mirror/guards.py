"""Before a pass: the guards that refuse a target that is missing, unmounted or not the disk
the state knows, and the record of a pass refused there (or by a failed login), so that
``status`` and ``health`` show every pass's outcome."""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from ppsync.access import denied, is_denied
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
            "it, so that an unmounted disk is not mistaken for an empty mirror: mount the disk "
            "or share (in a container: mount your mirror folder at it), or create the folder; "
            "a daemon tries again at every pass"
        )
    if mirror.require_mount and not os.path.ismount(target):
        raise SafetyStop(f"mirror.target {target} is not a mount point and "
                         "mirror.require_mount = true: is the disk mounted?")
    layout = Layout(target)
    try:
        layout.create()
    except OSError as exc:
        reason = denied(target, exc) if is_denied(exc) else f"{target}: {exc.strerror}"
        raise ConfigError(f"mirror.target: cannot write to {reason}") from None
    return layout


@dataclass(frozen=True)
class TargetMark:
    """The target folder and its ``.ppsync`` folder as a pass found them, each as (device,
    inode): a disk unplugged from a mount point that stays (an fstab ``/mnt/usb`` on the root
    disk) leaves a folder at the same path, but not the same one."""

    target: tuple[int, int]
    meta: tuple[int, int]

    @classmethod
    def of(cls, layout: Layout) -> TargetMark:
        """Raises ``OSError`` when either folder is missing."""
        target, meta = layout.target.stat(), layout.meta.stat()
        return cls((target.st_dev, target.st_ino), (meta.st_dev, meta.st_ino))


def mark_target(layout: Layout) -> TargetMark:
    """The mark of a target that ``guard_target`` just passed (``SafetyStop`` if it went)."""
    try:
        return TargetMark.of(layout)
    except OSError as exc:
        raise SafetyStop(f"mirror.target {layout.target} went away: {exc.strerror}") from None


def guard_target_still_there(mirror: MirrorConfig, layout: Layout, mark: TargetMark,
                             state: State | None = None) -> None:
    """Raise ``SafetyStop`` when the target went away during a pass (a USB disk unplugged, a
    share unmounted), so the pass ends as the stop the next pass would be, not as failures, and
    nothing is removed on the strength of a gone disk. Creates nothing (``guard_target`` would
    make ``.ppsync/`` again on the bare mount point): the target and its ``.ppsync`` must be the
    very folders the pass began with; with ``state``, a state kept outside the target must
    still match it (``guard_state_matches_target``)."""
    gone = f"the target went away during the pass: {layout.target}"
    try:
        now = TargetMark.of(layout)
    except OSError:
        raise SafetyStop(f"{gone} or its .ppsync folder is missing: is the disk mounted?") from None
    if now != mark:
        raise SafetyStop(f"{gone} is no longer the folder the pass began on (another disk, or "
                         "the bare mount point of an unplugged one): is the disk mounted?")
    if mirror.require_mount and not os.path.ismount(layout.target):
        raise SafetyStop(f"{gone} is no longer a mount point and mirror.require_mount = true: "
                         "is the disk mounted?")
    if state is not None:
        try:
            guard_state_matches_target(state, layout, mirror)
        except SafetyStop as exc:
            raise SafetyStop(f"the target went away during the pass: {exc}") from None
        except OSError:  # gone between the checks
            raise SafetyStop(f"{gone} cannot be read: is the disk mounted?") from None


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
