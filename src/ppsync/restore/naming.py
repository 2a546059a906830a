"""Pure: the names a unit's files get on a server that groups related files by name.

PhotoPrism's import and index take the files of one folder that share a base name (the name
without its known extensions) for ONE photo (photoprism-api.md §i). So every file of a unit is
named ``<the primary's base name><its own extensions>``, and units never share a base name in
one folder: in an upload, units with the same base name go into different upload folders
(``send``); in the originals folder (``copy``), a later unit whose base name is taken in its
folder gets a name of its own (``<base>-ppsync-<8 hex of its primary's SHA-1>``).

Two files of one unit cannot have one name (two JPEGs of an Immich stack): the later one is a
photo of its own, reported as not carried. A server that does not group by name (Immich) gets
every file under its own name.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from ppsync.restore.units import Member, Role, Unit, base_stem


@dataclass(frozen=True, slots=True)
class Placement:
    """A unit and the name each member is sent or copied under (``folder``: the relative
    folder of a copy, "" for the top)."""

    unit: Unit
    names: tuple[tuple[Member, str], ...]
    folder: str = ""

    @property
    def stem(self) -> str:
        return base_stem(self.names[0][1]) if self.names else ""


@dataclass(slots=True)
class NamePlan:
    placements: list[Placement] = field(default_factory=list)
    # (the file split off, "grouping", why): files that became photos of their own
    split: list[tuple[str, str, str]] = field(default_factory=list)


def renamed(member: Member, stem: str) -> str:
    """``stem`` with the member's own extensions (``IMG_1.jpg.xmp`` → ``<stem>.jpg.xmp``)."""
    name = PurePosixPath(member.original.rel).name
    return stem + name[len(base_stem(name)):]


def _alone(unit: Unit, member: Member) -> Unit:
    """``member`` as a photo of its own, described by its own sidecar where it had one."""
    role = Role.SIDECAR if member.role is Role.SIDECAR else Role.PRIMARY
    own = (unit.sidecars[member.source],) if 0 <= member.source < len(unit.sidecars) else ()
    return Unit(f"{unit.key}/{member.original.sha1}",
                (Member(member.original, role, 0 if own else -1),), own)


def _folder(rel: str) -> str:
    parent = str(PurePosixPath(rel).parent)
    return "" if parent == "." else parent


def plan_names(units: list[Unit], *, groups_by_name: bool, copy: bool) -> NamePlan:
    """Each unit's names; with ``copy``, also its folder (the primary's in the mirror) with a
    base name no earlier unit holds there. Deterministic for one mirror: a rerun names every
    unit alike, so a unit half copied by an interrupted run is completed under its names."""
    plan = NamePlan()
    if not groups_by_name:
        plan.placements = [Placement(u, tuple((m, PurePosixPath(m.original.rel).name)
                                              for m in u.members)) for u in units]
        return plan
    taken: set[tuple[str, str]] = set()
    queue = list(units)
    while queue:
        unit = queue.pop(0)
        folder = _folder(unit.primary.original.rel) if copy else ""
        stem = base_stem(unit.primary.original.rel)
        if copy and (folder, stem.casefold()) in taken:
            stem = f"{stem}-ppsync-{unit.primary.original.sha1[:8]}"
        kept: list[tuple[Member, str]] = []
        used: set[str] = set()
        for member in unit.members:
            name = renamed(member, stem)
            if name.casefold() in used:
                queue.insert(0, _alone(unit, member))
                plan.split.append((member.original.rel, "grouping",
                                   f"a file of the photo {unit.rel} with another of its type "
                                   f"(.{member.extension}): PhotoPrism holds one file of a "
                                   "name per photo, so it arrives as a photo of its own"))
                continue
            used.add(name.casefold())
            kept.append((member, name))
        taken.add((folder, stem.casefold()))
        if len(kept) < len(unit.members):  # the unit as it will arrive, without what split
            unit = replace(unit, members=tuple(m for m, _ in kept))
        plan.placements.append(Placement(unit, tuple(kept), folder))
    return plan
