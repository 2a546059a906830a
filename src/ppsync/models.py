"""Frozen data passed between the walker, the planner, the executor and the state.

Nothing here does I/O. Actions are plain values, so a plan can be printed (``ppsync plan``),
tested without fakes, and carried out by a separate loop.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

# An edited rendition (Immich's edit of a photo, made by the server beside the untouched
# original): its file key is the original's key with this suffix. The server keeps no hash of
# it, so it is listed with SHA-1 "" and its ``photo_updated_at`` as the version; the mirror
# records the SHA-1 of the bytes it received (see ``mirror.renditions``).
EDITED_SUFFIX = "#edited"


def edited_key(file_key: str) -> str:
    """The file key of the edited rendition of the original ``file_key``."""
    return file_key + EDITED_SUFFIX


def is_edited_key(file_key: str) -> bool:
    """Is this the file key of an edited rendition (not of an original)?"""
    return file_key.endswith(EDITED_SUFFIX)


def original_key(file_key: str) -> str:
    """The original's file key of an edited rendition's key (any other key as it is)."""
    return file_key[: -len(EDITED_SUFFIX)] if is_edited_key(file_key) else file_key


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
    # the row had neither), "A" appended while it is archived on a server whose archive does
    # not move the change stamp (PhotoPrism): starring or archiving does not move UpdatedAt.
    photo_flags: str = ""
    # For the ``[mirror] layout`` template: the file's own name as uploaded (no folder; "" =
    # the last part of ``name``) and the local wall-clock time it was taken (ISO, no zone; ""
    # when the listing does not say).
    original_name: str = ""
    taken_local: str = ""

    @property
    def rendition(self) -> bool:
        """An edited rendition: no server hash (``sha1`` ""), verified by size only when
        downloaded, its version is ``photo_updated_at`` (``EDITED_SUFFIX``)."""
        return not self.sha1 and is_edited_key(self.file_uid)

    @property
    def archived_mark(self) -> bool:
        """Is the photo archived, by a mark its change stamp does not show (``photo_flags``)?"""
        return self.photo_flags.endswith("A")


class RecordStatus(enum.StrEnum):
    ACTIVE = "active"  # mirrored at ``path`` and still on the server as far as we know
    GONE = "gone"  # left on the server; kept on disk by ``delete = "keep"``, no longer tracked
    # On disk from a server the mirror followed before a ``--rebind``, and not listed by the one
    # it follows now: the new server's defaults may leave out what the old one listed (its
    # archive, private or hidden photos, a filter), so no walk removes it; a listed file of the
    # same content takes it back (``mirror.rebind``).
    KEPT = "kept"


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
    PRUNE = "prune"  # a set-aside item ``[retention]`` removes (shown by ``plan``; not planned)


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
        if self.kind is ActionKind.DOWNLOAD and self.record is not None and self.reason:
            return f"update   {self.path} ({self.reason}; a different old version kept aside)"
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
    # files by SHA-1, and the recorded files it did not list (kept: ``RecordStatus.KEPT``).
    rebind: bool = False
    rekeyed: int = 0
    not_on_server: int = 0
    # Files the mirror keeps from a server it followed before (``RecordStatus.KEPT``) after this
    # pass; a pass that is not a re-bind counts in ``rekeyed`` those a listed file took back.
    kept_from_before: int = 0
    # A walk of an older state's unproven server: actions it could not hold (``unproven``
    # HOLD_LIMIT) until the walk proved the server. The next pass walks everything for them.
    deferred: int = 0
    # ``[retention]``: set-aside items (.ppsync/trash, replaced) pruned by this pass, and what
    # is set aside after it (``aside_measured``: counted; a pass stopped early did not count).
    pruned: int = 0
    pruned_bytes: int = 0
    aside_measured: bool = False
    aside_files: int = 0
    aside_bytes: int = 0
    aside_oldest: float = 0.0  # when the oldest was set aside; 0 when nothing is
    # ``[mirror] min_free``: downloads not started because they would eat into the reserve.
    waiting_for_room: int = 0
    waiting_bytes: int = 0
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
