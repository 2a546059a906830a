"""What ``ppsync restore`` reads from the mirror, and its originals step.

The mirror holds originals (the state's active files, plus any file a sidecar lists), per-photo
sidecars ``<primary original>.ppsync.json`` and album manifests ``<album folder>/.album.json``
(formats: the issue 5 contract). Also the server lookups restore needs (photo by SHA-1, albums
by title, album members). ``find_missing`` tells which originals the new server lacks; ``send``
and ``copy`` put them there, photo by photo.

An original the server already has (``PhotoServer.find_photos``, many SHA-1s per request) is
never sent, so a restore needs no local bookkeeping to be resumable: an interrupted run leaves
some files on the server, and the next run skips exactly those. One only in a trash the server
purges (Immich's) is brought back from it instead (``bring_back``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ppsync.errors import UnsafePathError
from ppsync.inbox.scan import InboxFile
from ppsync.logs import get_logger
from ppsync.mirror.paths import META_DIR_NAME, safe_relative_path
from ppsync.models import Failure, is_edited_key
from ppsync.servers.base import PhotoServer
from ppsync.state import State

log = get_logger("ppsync.restore")
SIDECAR_SUFFIX = ".ppsync.json"
MANIFEST_NAME = ".album.json"
# A dry run's stand-in photo key for an original it would upload or bring back from a trash
# (never sent to a server).
PENDING = "pending:"
LOOKUP_CHUNK = 500  # originals looked up by SHA-1 per find_photos


@dataclass(frozen=True, slots=True)
class Original:
    """One mirrored original to restore: its path in the mirror, SHA-1 and size."""

    rel: str
    sha1: str
    size: int


@dataclass(slots=True)
class UploadOutcome:
    """What the originals step did; ``photos``: SHA-1 → photo key of each original on the server."""

    present: int = 0
    untrashed: int = 0  # brought back from the server's trash
    uploaded: int = 0
    bytes_sent: int = 0
    sidecars_sent: int = 0  # XMP sidecars sent with their photo's upload (never on their own)
    photos: dict[str, str] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Sidecar:
    rel: str
    data: dict[str, Any]

    def originals(self) -> list[dict[str, Any]]:
        """The photo's Root "/" media files (primary first), as the sidecar lists them."""
        files = [f for f in self.data.get("files") or [] if isinstance(f, dict)
                 and f.get("root", "/") == "/" and isinstance(f.get("sha1"), str)]
        return sorted(files, key=lambda f: (not f.get("primary"), bool(f.get("sidecar"))))


@dataclass(frozen=True, slots=True)
class Manifest:
    rel: str
    data: dict[str, Any]

    @property
    def title(self) -> str:
        title = self.data.get("title")
        return title.strip() if isinstance(title, str) and title.strip() else \
            Path(self.rel).parent.name


def _metadata_files(target: Path) -> Iterator[tuple[str, Path]]:
    """(relative path, path) of every sidecar and manifest in the mirror, outside .ppsync."""
    for folder, dirs, files in os.walk(target):
        if folder == str(target):
            dirs[:] = [d for d in dirs if d != META_DIR_NAME]
        dirs.sort()
        for name in sorted(files):
            if name.endswith(SIDECAR_SUFFIX) or name == MANIFEST_NAME:
                path = Path(folder) / name
                yield path.relative_to(target).as_posix(), path


def read_mirror(target: Path, failures: list[Failure]) -> tuple[list[Sidecar], list[Manifest]]:
    """The sidecars and album manifests in the mirror; unreadable ones go to ``failures``."""
    sidecars: list[Sidecar] = []
    manifests: list[Manifest] = []
    for rel, path in _metadata_files(target):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            failures.append(Failure(rel, f"cannot read: {exc}"))
            continue
        kind = "ppsync-album/" if path.name == MANIFEST_NAME else "ppsync-photo/"
        if not isinstance(data, dict) or not str(data.get("format", "")).startswith(kind):
            failures.append(Failure(rel, f"not a {kind}1 file; skipped"))
        elif path.name == MANIFEST_NAME:
            manifests.append(Manifest(rel, data))
        else:
            sidecars.append(Sidecar(rel, data))
    return sidecars, manifests


def mirror_originals(state: State, target: Path, sidecars: list[Sidecar],
                     failures: list[Failure]) -> list[Original]:
    """The state's held files (active, and kept from an earlier server), plus Root "/" files
    sidecars list that the state does not know (found at their server name in the mirror),
    one per SHA-1, in path order."""
    found: dict[str, Original] = {}
    for record in state.held_records():  # kept files from an earlier server too
        if is_edited_key(record.file_uid):
            continue  # an edited rendition is no original: ``edited_renditions``
        found.setdefault(record.sha1, Original(record.path, record.sha1, record.size))
    for sidecar in sidecars:
        for entry in sidecar.originals():
            sha1 = entry["sha1"]
            if sha1 in found or entry.get("edited") or not sha1:
                continue
            try:
                rel = safe_relative_path(str(entry.get("name", "")))
            except UnsafePathError as exc:
                failures.append(Failure(sidecar.rel, f"lists {entry.get('name')!r}: {exc}"))
                continue
            size = entry.get("size")
            if (target / rel).is_file() and isinstance(size, int):
                found[sha1] = Original(rel, sha1, size)
            else:
                failures.append(Failure(rel, "listed in a sidecar but not in the mirror"))
    return sorted(found.values(), key=lambda o: o.rel)


def edited_renditions(state: State) -> list[str]:
    """The mirror paths of the edited renditions it holds (Immich edits), which a restore
    does not send: no server takes a photo's edit as the edit of that photo (see README,
    "Restore and migration"), and sent as a file it would become a second photo."""
    return sorted(r.path for r in state.active_records() if is_edited_key(r.file_uid))


def photo_uid_of(server: PhotoServer, sha1: str) -> str | None:
    """The key of the photo holding this content on the server, or None."""
    return server.find_photos([sha1]).get(sha1)


def find_missing(server: PhotoServer, target: Path, originals: list[Original],
                 out: UploadOutcome, check_stop: Callable[[], None], *, dry_run: bool,
                 say: Callable[[str], None]) -> list[tuple[Original, InboxFile]]:
    """The originals the server does not have (by SHA-1, looked up ``LOOKUP_CHUNK`` at a
    time) and the mirror holds at their recorded size; those present go to ``out.photos``,
    unreadable ones to ``out.failures``. Originals only in the server's trash are brought
    back (``bring_back``), not sent: the server would answer that it has them."""
    missing: list[tuple[Original, InboxFile]] = []
    for start in range(0, len(originals), LOOKUP_CHUNK):
        check_stop()
        chunk = originals[start:start + LOOKUP_CHUNK]
        found = server.find_photos([o.sha1 for o in chunk])
        absent = [o for o in chunk if o.sha1 not in found]
        trashed = server.find_in_trash([o.sha1 for o in absent]) \
            if absent and server.capabilities.trash else {}
        for original in chunk:
            if original.sha1 in found:
                out.photos[original.sha1] = found[original.sha1]
                out.present += 1
        bring_back(server, [(o, trashed[o.sha1]) for o in absent if o.sha1 in trashed], out,
                   dry_run=dry_run, say=say)
        missing += readable(target, [o for o in absent if o.sha1 not in trashed], out)
    return missing


def readable(target: Path, originals: list[Original],
              out: UploadOutcome) -> list[tuple[Original, InboxFile]]:
    """``originals`` the mirror holds at their recorded size, ready to send."""
    ready: list[tuple[Original, InboxFile]] = []
    for original in originals:
        path = target / original.rel
        try:
            st = path.stat()
        except OSError as exc:
            out.failures.append(Failure(original.rel, f"not in the mirror: {exc.strerror}"))
            continue
        if st.st_size != original.size:
            out.failures.append(Failure(original.rel, f"size {st.st_size} in the mirror, "
                                        f"{original.size} recorded: damaged? (ppsync verify)"))
            continue
        ready.append((original, InboxFile(path, original.rel, st.st_size, st.st_mtime_ns,
                                          st.st_ctime)))
    return ready


def bring_back(server: PhotoServer, trashed: list[tuple[Original, str]], out: UploadOutcome,
               *, dry_run: bool, say: Callable[[str], None]) -> None:
    """Restore means "put my library back": a photo in the server's trash would be purged,
    so it comes back from the trash (with ``dry_run`` only said). A session that may not do
    that gets each photo reported with the reason (exit 1)."""
    if not trashed:
        return
    if dry_run:
        for original, key in trashed:
            say(f"would bring {original.rel} back from the server's trash")
            out.photos[original.sha1] = PENDING + key  # not in the library (yet): no metadata
            out.untrashed += 1
        return
    why = server.restore_from_trash([key for _, key in trashed])
    if why:
        for original, _ in trashed:
            out.failures.append(Failure(original.rel, "only in the server's trash, which "
                                        f"purges it after a while; not brought back: {why}"))
        return
    back = server.find_photos([original.sha1 for original, _ in trashed])
    for original, _ in trashed:
        if original.sha1 not in back:
            out.failures.append(Failure(original.rel, "brought back from the server's trash, "
                                        "but not in its library after that"))
            continue
        out.photos[original.sha1] = back[original.sha1]
        out.untrashed += 1
        log.info("brought back from the trash", path=original.rel, sha1=original.sha1)
