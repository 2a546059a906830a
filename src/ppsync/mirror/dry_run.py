"""What ``plan`` and ``sync --dry-run`` do with each planned action instead of carrying it out:
count it as the executor would, so the summary has the same counts as a sync, and show it."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import replace

from ppsync.mirror.executor import Layout
from ppsync.models import Action, ActionKind, Failure, RunReport

ActionSink = Callable[[Action], None]


def planner_sink(layout: Layout, report: RunReport, show: ActionSink | None, *,
                 keep_replaced: bool) -> ActionSink:
    """For ``plan`` / ``--dry-run``: count each action as the executor would (so the summary
    has the same counts as a sync) and pass on only those that would change something. A file
    the listing says is unchanged is checked like the executor does (one lstat): a local copy
    that is gone or has another size would be downloaded again."""
    target = str(layout.target)

    def sink(action: Action) -> None:
        if action.kind is ActionKind.CHECK and action.remote is not None:
            try:
                info = os.lstat(os.path.join(target, action.path))
            except OSError:
                info = None
            if info is not None and stat.S_ISREG(info.st_mode) and (
                    action.remote.size < 0 or info.st_size == action.remote.size):
                report.unchanged += 1
                return
            action = replace(action, kind=ActionKind.DOWNLOAD, record=None,
                             reason="local copy missing or changed")
        count(report, action)
        if action.kind is ActionKind.DOWNLOAD and action.record is not None and keep_replaced:
            report.kept_aside += 1  # the old version of a changed file
        if show is not None:
            show(action)

    return sink


def count(report: RunReport, action: Action) -> None:
    if action.kind is ActionKind.DOWNLOAD:
        report.downloaded += 1
        report.bytes_downloaded += max(0, action.remote.size if action.remote else 0)
    elif action.kind is ActionKind.MOVE:
        report.moved += 1
    elif action.kind is ActionKind.TRASH:
        report.trashed += 1
    elif action.kind is ActionKind.DELETE:
        report.deleted += 1
    elif action.kind is ActionKind.FORGET:
        report.forgotten += 1
    elif action.kind is ActionKind.REFUSE:
        report.failures.append(Failure(action.path, action.reason))
