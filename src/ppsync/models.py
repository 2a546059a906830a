"""Frozen data passed between the walker, the planner, the executor and the state.

Nothing here does I/O. Actions are plain values, so a plan can be printed (``ppsync plan``),
tested without fakes, and carried out by a separate loop.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """One original as the server lists it (merged search result, ``Root == "/"``)."""

    file_uid: str
    photo_uid: str
    name: str  # the server's FileName: data, not yet a trusted path
    sha1: str
    size: int
    photo_updated_at: str = ""
    mime: str = ""
    # The photo's Favorite and Private flags as the row showed them ("F-", "-P", ...; "" when
    # the row had neither): starring a photo does not move its UpdatedAt.
    photo_flags: str = ""
    # For the ``[mirror] layout`` template: the file's own name as uploaded (no folder; "" =
    # the last part of ``name``) and the local wall-clock time it was taken (ISO, no zone; ""
    # when the listing does not say).
    original_name: str = ""
    taken_local: str = ""


class RecordStatus(enum.StrEnum):
    ACTIVE = "active"  # mirrored at ``path`` and still on the server as far as we know
    GONE = "gone"  # left on the server; kept on disk by ``delete = "keep"``, no longer tracked


@dataclass(frozen=True, slots=True)
class LocalRecord:
    """What the state knows about a mirrored file."""

    file_uid: str
    photo_uid: str
    path: str  # relative POSIX path inside the target
    sha1: str
    size: int
    status: RecordStatus = RecordStatus.ACTIVE
    last_seen_run: int = 0


class ActionKind(enum.StrEnum):
    DOWNLOAD = "download"  # new file, or content changed (``replaces`` holds the old record)
    MOVE = "move"  # same content, new name on the server: rename locally, download nothing
    CHECK = "check"  # unchanged in the listing: make sure the local copy is still there
    REFUSE = "refuse"  # unsafe name or conflicting path: reported, nothing written
    TRASH = "trash"  # gone from a complete walk, delete = "trash"
    DELETE = "delete"  # gone from a complete walk, delete = "mirror"
    FORGET = "forget"  # gone from a complete walk, delete = "keep": stop tracking, leave the file


@dataclass(frozen=True, slots=True)
class Action:
    """One thing to do to one path. ``path`` is the relative destination (or victim) path."""

    kind: ActionKind
    path: str
    remote: RemoteFile | None = None
    record: LocalRecord | None = None  # the state's view before the action
    reason: str = ""

    def describe(self) -> str:
        if self.kind is ActionKind.MOVE and self.record is not None:
            return f"move     {self.record.path} -> {self.path}"
        if self.kind is ActionKind.DOWNLOAD and self.record is not None:
            return f"update   {self.path} (content changed; old version kept aside)"
        if self.kind is ActionKind.REFUSE:
            return f"refuse   {self.path!r}: {self.reason}"
        if self.reason:
            return f"{self.kind.value:<8} {self.path} ({self.reason})"
        return f"{self.kind.value:<8} {self.path}"


@dataclass(slots=True)
class Failure:
    path: str
    reason: str


@dataclass(slots=True)
class RunReport:
    """Counters for one run; written to the state and printed at the end."""

    command: str
    run_id: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0
    listed: int = 0
    downloaded: int = 0
    adopted: int = 0
    moved: int = 0
    kept_aside: int = 0
    trashed: int = 0
    deleted: int = 0
    forgotten: int = 0
    unchanged: int = 0
    bytes_downloaded: int = 0
    failures: list[Failure] = field(default_factory=list)
    walk_complete: bool = False
    safety_stop: str = ""
    error: str = ""
    exit_code: int = 0
    dry_run: bool = False
    # A change pass: it listed the photos updated since this time (the last clean pass's start
    # less a 5-minute margin), so it lists again what that pass saw change near its start.
    changes_since: str = ""
    error_type: str = ""  # the class of the error that ended the run (AuthError, ...), if any
    # ``sync --rebind``: the configured server accepted as the mirror's; records matched to its
    # files by SHA-1, and the recorded files it did not list (kept until the next full walk).
    rebind: bool = False
    rekeyed: int = 0
    not_on_server: int = 0
    # A walk of an older state's unproven server: actions it could not hold (``unproven``
    # HOLD_LIMIT) until the walk proved the server. The next pass walks everything for them.
    deferred: int = 0
    # The rolling scrub after the pass (``mirror.scrub``): files and bytes it re-read, damage
    # it found (missing, truncated, or not matching the SHA-1), files it repaired from the
    # server, and damaged files kept as they are because the server no longer has their bytes
    # (those are failures too: exit 1 on every pass until the user acts).
    scrubbed: int = 0
    scrubbed_bytes: int = 0
    damaged: int = 0
    repaired: int = 0
    damaged_kept: int = 0
    sidecars_rewritten: int = 0  # sidecars of re-read originals that no longer matched
    scrub_progress: float = 0.0  # the share of the mirror re-read in the current cycle
    scrub_cycle_done_at: float = 0.0  # when the last complete cycle ended (0: none yet)

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def duration(self) -> float:
        return max(0.0, self.finished_at - self.started_at)
