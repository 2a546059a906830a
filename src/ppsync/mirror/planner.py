"""Pure: (remote listing, state, policy) → actions and a safety verdict. No I/O, no clock.

Two steps, both usable on a stream:

* ``plan_file`` decides what one listed original needs, given the state's record for its file key
  and which file (if any) already claimed the same path earlier in this walk.
* ``judge_removals`` decides, once the walk is over, whether files missing from it may be
  removed at all (complete walk, not empty, within ``max_delete`` and the shrink limit), and
  ``removal_action`` says how each one goes under the configured policy.

``plan_listing`` composes the two over in-memory inputs for the property tests; the sync engine
(``walk.SyncRun``) composes the same two steps page by page, with the claims and the walked set
kept in the state instead of in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ppsync.errors import UnsafePathError
from ppsync.mirror.paths import safe_relative_path
from ppsync.models import Action, ActionKind, LocalRecord, RecordStatus, RemoteFile


@dataclass(frozen=True, slots=True)
class Policy:
    delete: str = "keep"  # keep | trash | mirror
    max_delete: int = 100
    max_delete_percent: float = 50.0


@dataclass(frozen=True, slots=True)
class RemovalVerdict:
    allowed: bool
    reason: str = ""  # why removals are not allowed (a safety stop when files would go)


def plan_file(remote: RemoteFile, record: LocalRecord | None, claimed_by: str | None,
              held_version: str | None = None) -> Action:
    """The action for one listed original.

    ``record`` is the state's record for ``remote.file_uid`` (any status) or None;
    ``claimed_by`` is the file key that already claimed the same local path in this walk, if any.
    ``held_version``: for an edited rendition (``remote.rendition``, no server hash), the
    change stamp of the version the mirror holds (``mirror.renditions``); another stamp in the
    listing downloads it again, the held bytes kept aside as for a changed original.
    """
    try:
        path = safe_relative_path(remote.name)
    except UnsafePathError as exc:
        return Action(ActionKind.REFUSE, remote.name, remote=remote, record=record,
                      reason=str(exc))
    if claimed_by is not None and claimed_by != remote.file_uid:
        return Action(ActionKind.REFUSE, path, remote=remote, record=record,
                      reason=f"path already used by another server file ({claimed_by})")
    if record is None or record.status is not RecordStatus.ACTIVE:
        return Action(ActionKind.DOWNLOAD, path, remote=remote)
    if remote.rendition:
        if held_version != remote.photo_updated_at:
            return Action(ActionKind.DOWNLOAD, path, remote=remote, record=record,
                          reason="the edit may have changed")
    elif record.sha1 != remote.sha1:
        return Action(ActionKind.DOWNLOAD, path, remote=remote, record=record)
    if record.path != path:
        return Action(ActionKind.MOVE, path, remote=remote, record=record)
    return Action(ActionKind.CHECK, path, remote=remote, record=record)


def judge_removals(
    *, walk_complete: bool, walk_reason: str, listed: int, tracked: int, unseen: int,
    policy: Policy,
) -> RemovalVerdict:
    """May the ``unseen`` tracked files (of ``tracked``) be removed after this walk?

    ``listed`` is how many originals the walk saw. Nothing is removed on a listing that may be
    incomplete, on an empty listing against a non-empty mirror, beyond ``max_delete`` files
    (trash and mirror policies) or beyond ``max_delete_percent`` of the mirror.
    """
    if unseen == 0:
        return RemovalVerdict(True)
    if not walk_complete:
        return RemovalVerdict(False, f"the listing may be incomplete ({walk_reason}); "
                                     f"{unseen} files missing from it were left alone")
    if listed == 0 and tracked > 0:
        return RemovalVerdict(False, f"the server listed no files but the mirror tracks "
                                     f"{tracked}; nothing was removed")
    if policy.delete in ("trash", "mirror") and unseen > policy.max_delete:
        return RemovalVerdict(False, f"{unseen} files would be removed, more than "
                                     f"mirror.max_delete = {policy.max_delete}")
    if tracked and unseen * 100 > policy.max_delete_percent * tracked:
        share = unseen * 100 / tracked
        return RemovalVerdict(False, f"{unseen} of {tracked} files ({share:.0f}%) are missing "
                                     f"from the listing, more than mirror.max_delete_percent = "
                                     f"{policy.max_delete_percent:g}")
    return RemovalVerdict(True)


def judge_confirmation(unseen: int, still_listed: int) -> RemovalVerdict:
    """After a walk whose totals were unknown, the ``unseen`` files were asked for again by
    hash: one the server ``still_listed`` means rows shifted under the walk; nothing may go."""
    if not still_listed:
        return RemovalVerdict(True)
    return RemovalVerdict(False, f"the walk missed {still_listed} files the server still holds "
                                 f"(rows shifted while it paged); none of the {unseen} files "
                                 f"missing from it were removed")


def removal_action(record: LocalRecord, policy: Policy) -> Action:
    """How a tracked file missing from a complete walk goes: trash, delete, or stay (forget)."""
    kind = {"trash": ActionKind.TRASH, "mirror": ActionKind.DELETE}.get(
        policy.delete, ActionKind.FORGET)
    return Action(kind, record.path, record=record, reason="no longer on the server")


@dataclass(frozen=True, slots=True)
class Plan:
    actions: list[Action]
    removals: list[Action]
    verdict: RemovalVerdict


def plan_listing(
    remote: Iterable[RemoteFile],
    records: Mapping[str, LocalRecord],
    *,
    walk_complete: bool,
    policy: Policy,
    walk_reason: str = "",
) -> Plan:
    """Plan a whole listing held in memory (tests, small tools). Same rules as the engine:
    dedupe by file key, first claimant of a path wins, removals judged after the walk."""
    actions: list[Action] = []
    claims: dict[str, str] = {}
    seen: set[str] = set()
    for item in remote:
        if item.file_uid in seen:
            continue
        seen.add(item.file_uid)
        action = plan_file(item, records.get(item.file_uid), claims.get(item.name))
        if action.kind is not ActionKind.REFUSE:
            claims[action.path] = item.file_uid
        actions.append(action)
    active = [r for r in records.values() if r.status is RecordStatus.ACTIVE]
    unseen = [r for r in active if r.file_uid not in seen]
    verdict = judge_removals(
        walk_complete=walk_complete, walk_reason=walk_reason, listed=len(seen),
        tracked=len(active), unseen=len(unseen), policy=policy,
    )
    removals = [removal_action(r, policy) for r in unseen] if verdict.allowed else []
    return Plan(actions, removals, verdict)
