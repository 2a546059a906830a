"""Pure: the mirror's originals grouped into photos, the unit of restore and migration.

Both servers model a photo as several files. A sidecar (``<primary>.ppsync.json``) lists the
files of one source photo: PhotoPrism's primary JPEG with its RAW, HEIC, MOV and XMP files;
Immich's still with its live-photo video. Immich also stacks several assets into one photo: each
asset's sidecar names its stack (``"stack": {"id", "primary_uid"}``), and the stack's sidecars
make one unit with the primary's on top. An original no sidecar lists is a photo of its own.

Each file of a unit has a role on the target:

* ``PRIMARY``: the photo's face (the file on top of a stack, the still of a live photo);
* ``ALTERNATE``: another original of the photo (a RAW, an edited copy, a stack member), shown
  with the primary (an Immich stack; one PhotoPrism photo);
* ``LIVE_VIDEO``: the video half of a live photo, linked to the still it belongs to (``still``);
  hidden on Immich, left out of albums and edits;
* ``SIDECAR``: an XMP or AAE file that travels with its photo, never an asset of its own.

Nothing here does I/O: ``build_units`` takes the originals and sidecars read from the mirror.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from ppsync.restore.mirror import Original, Sidecar

VIDEO_EXTENSIONS = frozenset({"mov", "mp4", "m4v", "avi", "mkv", "3gp", "mts", "m2ts",
                              "webm", "mpg", "mpeg", "wmv"})
SIDECAR_EXTENSIONS = frozenset({"xmp", "aae"})
RAW_EXTENSIONS = frozenset({"dng", "cr2", "cr3", "crw", "nef", "nrw", "arw", "srf", "sr2", "orf",
                            "rw2", "raf", "srw", "pef", "raw", "rwl", "iiq", "3fr", "erf"})
# PhotoPrism strips every known extension when it compares base names (``IMG_1.jpg.xmp``).
KNOWN_EXTENSIONS = VIDEO_EXTENSIONS | SIDECAR_EXTENSIONS | RAW_EXTENSIONS | frozenset({
    "jpg", "jpeg", "jpe", "png", "gif", "bmp", "tif", "tiff", "heic", "heif", "hif", "avif",
    "webp", "jxl", "svg", "json", "yml", "yaml"})


class Role(enum.StrEnum):
    PRIMARY = "primary"
    ALTERNATE = "alternate"
    LIVE_VIDEO = "live video"
    SIDECAR = "sidecar"


@dataclass(frozen=True, slots=True)
class Member:
    """One original of a unit. ``source``: the index of the sidecar (in ``Unit.sidecars``)
    that lists it, -1 for none; ``still``: for a live video, the SHA-1 of its still."""

    original: Original
    role: Role
    source: int = -1
    still: str = ""

    @property
    def extension(self) -> str:
        return extension_of(self.original.rel)


@dataclass(frozen=True, slots=True)
class Unit:
    """One photo to restore: its members (the primary first) and the sidecars describing it
    (the primary's first). ``key`` names it in reports: the source's stack or photo key."""

    key: str
    members: tuple[Member, ...]
    sidecars: tuple[Sidecar, ...] = ()

    @property
    def primary(self) -> Member:
        return self.members[0]

    def visible(self) -> list[Member]:
        """The members a target shows as the photo (the primary and its alternates)."""
        return [m for m in self.members if m.role in (Role.PRIMARY, Role.ALTERNATE)]

    def of_role(self, role: Role) -> list[Member]:
        return [m for m in self.members if m.role is role]

    @property
    def rel(self) -> str:
        """Where the unit shows in reports: its first sidecar, else its primary original."""
        return self.sidecars[0].rel if self.sidecars else self.primary.original.rel


def extension_of(name: str) -> str:
    suffix = PurePosixPath(name).suffix
    return suffix[1:].lower() if suffix else ""


def base_stem(name: str) -> str:
    """The file name without its folder and every known extension, as PhotoPrism compares
    related files (``IMG_1.jpg.xmp`` → ``IMG_1``)."""
    base = PurePosixPath(name).name
    while "." in base.lstrip(".") and extension_of(base) in KNOWN_EXTENSIONS:
        base = base[: base.rfind(".")]
    return base


def _is_sidecar(entry: dict[str, Any], rel: str) -> bool:
    return bool(entry.get("sidecar")) or extension_of(rel) in SIDECAR_EXTENSIONS


def _is_video(entry: dict[str, Any], rel: str) -> bool:
    kind = str(entry.get("type") or "").lower()
    mime = str(entry.get("mime") or "").lower()
    return kind == "video" or mime.startswith("video/") or extension_of(rel) in VIDEO_EXTENSIONS


def _still_order(entry: dict[str, Any], rel: str) -> tuple[int, int]:
    """The server's primary first; else a JPEG before other images before a RAW (PhotoPrism's
    choice of the primary); the listing's order breaks ties (``sorted`` is stable)."""
    ext = extension_of(rel)
    rank = 0 if ext in ("jpg", "jpeg", "jpe") else (2 if ext in RAW_EXTENSIONS else 1)
    return (0 if entry.get("primary") else 1, rank)


def photo_members(sidecar: Sidecar, index: int,
                  originals: dict[str, Original]) -> list[Member]:
    """The members of one source photo: the originals its sidecar lists (those the mirror
    holds), each with its role. The first still is the primary; the first video of a photo
    with a still is that still's live video; a photo without a still shows its first video."""
    entries = [(e, originals[e["sha1"]]) for e in sidecar.originals() if e["sha1"] in originals]
    sidecars = [o for e, o in entries if _is_sidecar(e, o.rel)]
    media = [(e, o) for e, o in entries if not _is_sidecar(e, o.rel)]
    stills = sorted(((e, o) for e, o in media if not _is_video(e, o.rel)),
                    key=lambda eo: _still_order(eo[0], eo[1].rel))
    videos = [o for e, o in media if _is_video(e, o.rel)]
    members: list[Member] = []
    if stills:
        primary = stills[0][1]
        members.append(Member(primary, Role.PRIMARY, index))
        members += [Member(o, Role.ALTERNATE, index) for _, o in stills[1:]]
        if videos:
            members.append(Member(videos[0], Role.LIVE_VIDEO, index, still=primary.sha1))
            members += [Member(o, Role.ALTERNATE, index) for o in videos[1:]]
    elif videos:
        members.append(Member(videos[0], Role.PRIMARY, index))
        members += [Member(o, Role.ALTERNATE, index) for o in videos[1:]]
    members += [Member(o, Role.SIDECAR, index) for o in sidecars]
    return members


def stack_of(sidecar: Sidecar) -> tuple[str, str] | None:
    """(stack key, the primary's photo key) a sidecar names, or None."""
    stack = sidecar.data.get("stack")
    if not isinstance(stack, dict):
        return None
    key, primary = stack.get("id"), stack.get("primary_uid")
    if isinstance(key, str) and key and isinstance(primary, str):
        return key, primary
    return None


def _stacks(sidecars: Sequence[Sidecar]) -> list[list[Sidecar]]:
    """The sidecars in groups: a stack's together (its primary's first), the rest alone, in
    the order of their first sidecar."""
    groups: dict[str, list[Sidecar]] = {}
    for sidecar in sidecars:
        stack = stack_of(sidecar)
        key = "stack:" + stack[0] if stack else "photo:" + sidecar.rel
        groups.setdefault(key, []).append(sidecar)
    out = []
    for members in groups.values():
        stack = stack_of(members[0])
        if stack is not None:
            members.sort(key=lambda s: s.data.get("photo_uid") != stack[1])
        out.append(members)
    return out


def _unit_of(group: list[Sidecar], originals: dict[str, Original],
             claimed: set[str]) -> Unit | None:
    members: list[Member] = []
    for index, sidecar in enumerate(group):
        for member in photo_members(sidecar, index, originals):
            if member.original.sha1 in claimed:
                continue  # the same content in two photos: restored once, with the first
            claimed.add(member.original.sha1)
            if members and member.role is Role.PRIMARY:
                member = Member(member.original, Role.ALTERNATE, member.source, member.still)
            members.append(member)
    media = [m for m in members if m.role is not Role.SIDECAR]
    if not members:
        return None
    if not media:  # only sidecar files: nothing to show them with
        return Unit("file:" + members[0].original.sha1, tuple(members), tuple(group))
    members = [m for m in members if m.role is not Role.SIDECAR] + \
        [m for m in members if m.role is Role.SIDECAR]
    stack = stack_of(group[0])
    key = stack[0] if stack and len(group) > 1 else str(group[0].data.get("photo_uid") or
                                                         group[0].rel)
    return Unit(key, tuple(members), tuple(group))


def build_units(originals: Iterable[Original], sidecars: Sequence[Sidecar]) -> list[Unit]:
    """Every original once, in the photo it belongs to; units in the mirror's path order of
    their primary. An original no sidecar lists is a unit of its own."""
    by_sha1 = {o.sha1: o for o in originals}
    claimed: set[str] = set()
    units = [unit for group in _stacks(sidecars)
             if (unit := _unit_of(group, by_sha1, claimed)) is not None]
    for original in by_sha1.values():
        if original.sha1 not in claimed:
            role = Role.SIDECAR if extension_of(original.rel) in SIDECAR_EXTENSIONS \
                else Role.PRIMARY
            units.append(Unit("file:" + original.sha1, (Member(original, role),)))
    return sorted(units, key=lambda u: u.primary.original.rel)
