"""The metadata, album and archive steps of ``ppsync restore``, photo by photo.

A unit's attributes apply to the whole photo as the target shows it: on Immich to every asset
of the stack (never to a live photo's hidden video), on PhotoPrism to its one photo. Each target
photo takes its attributes from one sidecar: its own where the source had one per file (an
Immich stack into Immich), else the unit's primary's (a PhotoPrism photo into an Immich stack,
an Immich stack into one PhotoPrism photo). Albums get every visible file of a member photo.
Archiving comes last: it hides a photo's album entries, so albums are filled first.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ppsync.errors import Interrupted
from ppsync.logs import get_logger
from ppsync.models import Failure
from ppsync.restore.attributes import metadata_changes, not_carried
from ppsync.restore.grouping import Target
from ppsync.restore.mirror import PENDING, Manifest, Sidecar, photo_uid_of
from ppsync.restore.report import NotCarried, RestoreReport
from ppsync.restore.units import Unit
from ppsync.servers.base import by_title, title_key

log = get_logger("ppsync.restore")
ADD_CHUNK = 500  # photos per "add to album" request


@dataclass(frozen=True, slots=True)
class Owned:
    """A sidecar and the target photos that take their attributes from it."""

    sidecar: Sidecar
    keys: tuple[str, ...]


def owners(target: Target, unit: Unit) -> list[Owned]:
    """Each of the unit's sidecars with the visible target keys of its own files that no
    earlier sidecar took; the primary's sidecar also takes the files no sidecar lists."""
    claimed: set[str] = set()
    out: list[Owned] = []
    for index, sidecar in enumerate(unit.sidecars):
        if index and not any(m.source == index for m in unit.members):
            continue  # its files became a photo of their own (``naming``), described there
        keys: list[str] = []
        for member in unit.visible():
            if member.source == index or (index == 0 and member.source < 0):
                key = target.key(member.original.sha1)
                if key is not None and key not in claimed:
                    claimed.add(key)
                    keys.append(key)
        out.append(Owned(sidecar, tuple(keys)))
    return out


def not_own(manifest: Manifest) -> str | None:
    """Why an album is not restored when its manifest says another user shared it with the
    user (``role`` "viewer" or "editor", ``owner`` that user); None for the user's own,
    and for a manifest of an older mirror, which says nothing of owners."""
    role = manifest.data.get("role")
    if not isinstance(role, str) or role in ("", "owner"):
        return None
    owner = manifest.data.get("owner")
    name = ""
    if isinstance(owner, dict):
        name = next((v for v in (owner.get("name"), owner.get("key"))
                     if isinstance(v, str) and v), "")
    name = name or "another user"
    return (f"shared with you by {name} (you are {role}): it is {name}'s album; ppsync does "
            "not create it as yours")


class Restore:
    """The metadata, album and archive steps, sharing the target and the report."""

    def __init__(self, target: Target, report: RestoreReport, units: list[Unit],
                 stop: threading.Event) -> None:
        self.target = target
        self.report = report
        self.stop = stop
        self.units = units
        self.archived: set[str] = set()  # photos archived on the server (album entries hidden)
        self.pending_archive: list[str] = []  # photos the sidecars say to archive, done last

    @property
    def units(self) -> list[Unit]:
        return self._units

    @units.setter
    def units(self, units: list[Unit]) -> None:
        """The photos as they go to the target (``naming`` may split one)."""
        self._units = units
        self.unit_of = {m.original.sha1: u for u in units for m in u.members}

    def check_stop(self) -> None:
        if self.stop.is_set():
            raise Interrupted("stop requested; the restore ends here (run it again to finish)")

    def say(self, line: str) -> None:
        if self.report.dry_run:
            print(line, flush=True)

    def apply_metadata(self) -> None:
        for unit in self.units:
            for owned in owners(self.target, unit):
                self.check_stop()
                self._lost(owned.sidecar)
                if not owned.keys and owned.sidecar is unit.sidecars[0]:
                    self._not_there(owned.sidecar)
                for key in owned.keys:
                    self._apply(owned.sidecar, key)

    def _lost(self, sidecar: Sidecar) -> None:
        for loss in not_carried(sidecar.data, self.target.server.capabilities):
            self.report.not_carried.append(NotCarried(sidecar.rel, loss.what, loss.why))

    def _not_there(self, sidecar: Sidecar) -> None:
        if self.report.dry_run:
            return
        self.report.failures.append(Failure(sidecar.rel, "its photo is not on the server "
                                            "(originals not restored)"))

    def _apply(self, sidecar: Sidecar, key: str) -> None:
        capabilities = self.target.server.capabilities
        if key.startswith(PENDING):
            self.say(f"would set the metadata of {sidecar.rel} once its original is back")
            self.report.metadata_applied += 1
            # Sent fresh, it arrives unarchived: the real run archives it when its sidecar says
            # so, and a dry run must count it as that run would.
            if sidecar.data.get("archived") is True and key not in self.pending_archive:
                self.pending_archive.append(key)
            return
        current = self.target.photo(key)
        if current is None:
            self.report.failures.append(Failure(sidecar.rel, f"photo {key} vanished"))
            return
        changes = metadata_changes(sidecar.data, current, capabilities,
                                   self.target.server.held_tags)
        if not capabilities.separate_title_and_caption:
            changes = replace(changes, title=None)
        if changes.fields():
            self.say(f"would set {', '.join(changes.fields())} of {sidecar.rel}")
            if not self.report.dry_run:
                self.target.server.update_photo(current, changes)
                self.target.forget(key)
            self.report.metadata_applied += 1
        else:
            self.report.metadata_unchanged += 1
        if current.archived:
            self.archived.add(key)
        elif sidecar.data.get("archived") is True and key not in self.pending_archive:
            self.pending_archive.append(key)

    def archive(self) -> None:
        """Last: archiving hides a photo's album entries, so albums are filled first."""
        keys = self.pending_archive
        if keys and not self.target.server.capabilities.archive:
            self.report.failures.append(Failure(f"{len(keys)} photos", "the sidecars say "
                                                "archived, but this server cannot archive"))
        elif keys:
            self.say(f"would archive {len(keys)} photos")
            if not self.report.dry_run:
                self.target.server.archive(keys)
            self.report.archived += len(keys)

    def restore_albums(self, manifests: list[Manifest]) -> None:
        capabilities = self.target.server.capabilities
        # Only the user's own albums on the target may be filled: one another user shared
        # with the user is theirs, whatever its title.
        existing = by_title([a for a in self.target.server.albums(["album"]) if a.own],
                            capabilities) if manifests else {}
        for manifest in manifests:
            self.check_stop()
            shared_by = not_own(manifest)
            if shared_by is not None:
                self.say(f"would leave out album {manifest.title!r}: {shared_by}")
                self.report.not_carried.append(NotCarried(manifest.rel, "album", shared_by))
                log.info("album not restored: not the user's own", title=manifest.title,
                         why=shared_by)
                continue
            self.restore_album(manifest, existing)

    def member_keys(self, sha1s: Iterable[str], photo_uid: object = None) -> list[str]:
        """The target keys an album member's files show as: every visible file of its photo.
        A member of an album on Immich is one asset: when its photo is a stack made of one
        sidecar per asset, only that asset's files (``photo_uid``), so an Immich album keeps
        exactly its assets; a PhotoPrism photo brings all of its files."""
        sha1s = list(sha1s)
        for sha1 in sha1s:
            unit = self.unit_of.get(sha1)
            if unit is None:
                continue
            own = [i for i, s in enumerate(unit.sidecars) if s.data.get("photo_uid") == photo_uid]
            if len(unit.sidecars) > 1 and own:
                unit = replace(unit, members=tuple(m for m in unit.members
                                                   if m.source == own[0]))
            keys = self.target.visible_keys(unit)
            if keys:
                return keys
        for sha1 in sha1s:  # not a file of the mirror: the server may still hold it
            key = self.target.key(sha1) or photo_uid_of(self.target.server, sha1)
            if key is not None:
                self.target.keys[sha1] = key
                return [key]
        return []

    def restore_album(self, manifest: Manifest, existing: dict[str, str]) -> None:
        title = manifest.title
        wanted: list[str] = []
        for member in manifest.data.get("members") or []:
            if not isinstance(member, dict):
                continue
            sha1s = [s for s in [member.get("sha1"), *(member.get("files") or [])]
                     if isinstance(s, str) and s]
            keys = self.member_keys(sha1s, member.get("photo_uid"))
            if not keys and not self.report.dry_run:
                self.report.failures.append(Failure(
                    f"{manifest.rel}: {member.get('entry') or member.get('photo_uid')}",
                    "album member whose photo is not on the server"))
            wanted += [k for k in keys if k not in self.archived and k not in wanted]
        self.report.albums += 1
        album_key = existing.get(title_key(title, self.target.server.capabilities))
        if album_key is None:
            self.say(f"would create album {title!r} with {len(wanted)} members")
            self.report.albums_created += 1
            if self.report.dry_run:
                self.report.albums_changed += bool(wanted)  # as the real run, which fills it
                self.report.members_added += len(wanted)
                return
            album_key = self.target.server.album_key(title)  # finds or creates it by title
            existing[title_key(title, self.target.server.capabilities)] = album_key
        present = self.target.server.album_photo_keys(album_key)
        missing = [key for key in wanted if key not in present]
        if missing:
            self.say(f"would add {len(missing)} members to album {title!r}")
            if not self.report.dry_run:
                for start in range(0, len(missing), ADD_CHUNK):
                    self.target.server.add_to_album(album_key, missing[start:start + ADD_CHUNK])
            self.report.albums_changed += 1
            self.report.members_added += len(missing)
            log.info("album restored", title=title, added=len(missing))
