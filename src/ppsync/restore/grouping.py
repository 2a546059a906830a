"""The step of ``ppsync restore`` that makes each photo's files one photo on the target again.

On a server with explicit grouping (Immich: ``Capabilities.live_links`` and ``stacks``) each
live video is linked to its still, then the photo's visible files are stacked with the primary
on top, each only when the target does not show it so already (a second restore sends
nothing). On a server that groups by name (PhotoPrism) the files were named for it; here the
result is checked: a photo whose files landed as several photos is reported as not carried.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ppsync.logs import get_logger
from ppsync.restore.mirror import PENDING
from ppsync.restore.units import Role, Unit
from ppsync.servers.base import Photo, PhotoServer

log = get_logger("ppsync.restore")


@dataclass(slots=True)
class Target:
    """The target server with what restore learnt of it: SHA-1 → the key holding that
    content, and the photos read (dropped when restore changes one)."""

    server: PhotoServer
    keys: dict[str, str] = field(default_factory=dict)
    _photos: dict[str, Photo | None] = field(default_factory=dict)

    def key(self, sha1: str) -> str | None:
        return self.keys.get(sha1)

    def photo(self, key: str) -> Photo | None:
        if key.startswith(PENDING):
            return None
        if key not in self._photos:
            self._photos[key] = self.server.photo(key)
        return self._photos[key]

    def forget(self, key: str) -> None:
        self._photos.pop(key, None)

    def visible_keys(self, unit: Unit) -> list[str]:
        """The target's keys for the unit's primary and alternates, primary first, once each."""
        keys: list[str] = []
        for member in unit.visible():
            key = self.keys.get(member.original.sha1)
            if key is not None and key not in keys:
                keys.append(key)
        return keys


@dataclass(slots=True)
class Grouped:
    live_linked: int = 0
    stacked: int = 0
    # (the unit's report path, what, why) for photos the target shows as several
    split: list[tuple[str, str, str]] = field(default_factory=list)


def _link_live(target: Target, unit: Unit, out: Grouped, *, dry_run: bool,
               say: Callable[[str], None]) -> None:
    for member in unit.of_role(Role.LIVE_VIDEO):
        still, video = target.key(member.still), target.key(member.original.sha1)
        if still is None or video is None or still == video:
            continue  # not on the target (reported by the originals step), or one photo
        current = target.photo(still)
        if current is not None and any(f.key == video for f in current.files):
            continue
        say(f"would link {member.original.rel} as the live video of its still")
        out.live_linked += 1
        if not dry_run:
            target.server.link_live_photo(still, video)
            target.forget(still)
            log.info("live photo linked", video=member.original.rel)


def _stack(target: Target, unit: Unit, out: Grouped, *, dry_run: bool,
           say: Callable[[str], None]) -> None:
    keys = target.visible_keys(unit)
    if len(keys) < 2:
        return
    if not any(k.startswith(PENDING) for k in keys):
        photos = [target.photo(k) for k in keys]
        stack = photos[0].stack_key if photos[0] is not None else ""
        if stack and all(p is not None and p.stack_key == stack and
                         p.stack_primary_key == keys[0] for p in photos):
            return
    say(f"would stack the {len(keys)} files of {unit.rel}")
    out.stacked += 1
    if not dry_run:
        target.server.stack(keys)
        for key in keys:
            target.forget(key)
        log.info("stack made", photo=unit.rel, files=len(keys))


def _check_by_name(target: Target, unit: Unit, out: Grouped) -> None:
    keys = [k for k in target.visible_keys(unit) if not k.startswith(PENDING)]
    if len(keys) > 1:
        out.split.append((unit.rel, "grouping", f"its {len(unit.visible())} files are "
                          f"{len(keys)} photos on this server (they were there already, "
                          "or it did not take them for one photo)"))


def group_units(target: Target, units: list[Unit], *, dry_run: bool,
                check_stop: Callable[[], None], say: Callable[[str], None]) -> Grouped:
    """Show every unit as one photo on the target, as far as it can. Raises the server's
    errors."""
    out = Grouped()
    capabilities = target.server.capabilities
    for unit in units:
        if len(unit.members) < 2:
            continue
        check_stop()
        if capabilities.live_links:
            _link_live(target, unit, out, dry_run=dry_run, say=say)
        if capabilities.stacks:
            _stack(target, unit, out, dry_run=dry_run, say=say)
        elif capabilities.groups_by_name:
            _check_by_name(target, unit, out)
    return out
