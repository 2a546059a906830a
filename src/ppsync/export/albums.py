"""Album folders: ``<target>/<[albums] folder>/<album>/`` holding one entry per member photo
(relative symlink, hardlink or copy of its mirrored primary original) and ``.album.json``.
Formats: ``/tmp/issue5_contract.md`` (README "Your mirror as a backup").

Incremental: the album list is read every pass (one request per page of albums); members are
read only for albums that are new, whose change stamp or folder name changed, whose manifest is
missing, or whose entries no longer match the mirror (an original moved, changed or arrived).
A PhotoPrism album's stamp does not move when a member is archived or restored (only the entry
is hidden), so after a full walk of the archive the stamp recorded with an album also names the
recorded members that walk listed as archived: one archived or restored reads the album again.
Only what ppsync made (recorded in the state) is ever removed; originals are never touched: an
entry is at most a copy or another link of a mirrored original.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ppsync.config import AlbumsConfig
from ppsync.errors import ItemError, ServerDataError
from ppsync.export.sidecars import json_bytes, write_if_changed
from ppsync.fsutil import move_into
from ppsync.logs import get_logger
from ppsync.mirror.executor import Layout
from ppsync.models import Failure, RecordStatus, RunReport
from ppsync.redact import redact
from ppsync.servers.base import Album, PhotoFile, PhotoServer
from ppsync.state import State

log = get_logger("ppsync.albums")

MANIFEST = ".album.json"
# Between the album's own change stamp and the digest of its archived members in the stamp the
# state records (never part of a server's stamp).
ARCHIVED_SEP = "\x1farchived:"
MAX_FOLDER_BYTES = 200
# Errors that mean "this filesystem does not do links here" (SMB/CIFS, exFAT, FAT, across mounts).
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK,
             errno.ENOSYS, errno.EACCES}
Entry = tuple[str, str, str, str]  # entry name ('' for none), file key, source path, SHA-1


def _truncate(text: str, limit: int) -> str:
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def safe_title(title: str, fallback: str) -> str:
    """An album title as one folder name: no "/", NUL or control characters, no leading "."
    (so never "." or ".."), at most 200 bytes; ``fallback`` when nothing is left."""
    cleaned = "".join("_" if c == "/" or ord(c) < 32 or c == "\x7f" else c for c in title)
    cleaned = _truncate(cleaned.strip().lstrip("."), MAX_FOLDER_BYTES).strip()
    return cleaned or fallback


def folder_names(albums: list[Album]) -> dict[str, str]:
    """Album key → folder name; names shared by several albums (compared case-insensitively,
    for SMB and exFAT) get " (<album key>)" appended for every one of them."""
    base = {a.key: safe_title(a.title, a.key) for a in albums}
    seen: dict[str, int] = {}
    for name in base.values():
        seen[name.casefold()] = seen.get(name.casefold(), 0) + 1
    names = {}
    for uid, name in base.items():
        if seen[name.casefold()] > 1:
            suffix = f" ({uid})"
            name = _truncate(name, MAX_FOLDER_BYTES - len(suffix.encode())).rstrip() + suffix
        names[uid] = name
    return names


def entry_names(primaries: dict[str, str]) -> dict[str, str]:
    """photo UID → entry name from the mirrored path; colliding base names (case-insensitive)
    all become "<stem>~<photo uid>.<ext>". Never starts with "." (the manifest's namespace)."""
    base = {uid: path.rsplit("/", 1)[-1] for uid, path in primaries.items()}
    base = {uid: ("_" + name if name.startswith(".") else name) for uid, name in base.items()}
    counts: dict[str, int] = {}
    for name in base.values():
        counts[name.casefold()] = counts.get(name.casefold(), 0) + 1
    out = {}
    for uid, name in base.items():
        if counts[name.casefold()] > 1:
            stem, dot, ext = name.rpartition(".")
            name = f"{stem}~{uid}.{ext}" if dot and stem else f"{name}~{uid}"
        out[uid] = name
    return out


class AlbumExport:
    """One pass's album folders. ``link``/``symlink`` are the os functions (injectable so a
    test can stand in for a filesystem that refuses links). ``manifests_aside``: where the
    manifest of an album that left goes instead of being deleted (a re-bind: the old server's
    manifests may be the only record of its albums), under its relative path."""

    def __init__(self, config: AlbumsConfig, state: State, server: PhotoServer,
                 layout: Layout, report: RunReport, *,
                 manifests_aside: Path | None = None, archive_walked: bool = False,
                 link: Callable[[str, str], None] = os.link,
                 symlink: Callable[[str, str], None] = os.symlink) -> None:
        self._config = config
        self._state = state
        self._server = server
        self._target = layout.target
        self._root = layout.target / config.folder
        self._report = report
        self._manifests_aside = manifests_aside
        # This pass's walk listed the whole archive (a complete full walk with it): which album
        # members are archived is known (``State.archived_members``).
        self._archive_walked = archive_walked
        self._link = link
        self._symlink = symlink
        self._copies_instead = False

    def run(self) -> None:
        conflict = self._state.active_path_under(self._config.folder)
        if conflict is not None:
            self._fail(self._config.folder, f"album export refused: the server has an original "
                       f"inside the album folder ({conflict}); choose another [albums] folder")
            return
        if self._root.is_symlink() or (self._root.exists() and not self._root.is_dir()):
            self._fail(self._config.folder, "album export refused: not a plain folder")
            return
        albums = self._server.albums(self._config.types)
        names = folder_names(albums)
        known = self._state.album_rows()
        for uid in set(known) - set(names):
            self._remove_album(uid, known[uid][0])
        self._root.mkdir(exist_ok=True)
        stale = self._state.stale_albums()
        me = self._server.info()
        for album in albums:
            if album.own and not album.owner_key:  # the answer names no owner: the user's
                album = replace(album, owner_key=me.user_key, owner_name=me.user_name)
            uid, name = album.key, names[album.key]
            before = known.get(uid)
            if before is not None and before[0] != name:
                name = self._rename(uid, before[0], name)
            if (before is not None and before[1] == self._stamp(album, before[1])
                    and before[2] == self._config.mode and uid not in stale
                    and before[0] == name and (self._root / name / MANIFEST).is_file()):
                continue
            try:
                self._rebuild(album, name, before[1] if before else "")
            except (ItemError, ServerDataError, OSError) as exc:
                self._fail(f"{self._config.folder}/{name}", str(exc))
        if self._copies_instead:
            log.warning("this filesystem refuses links; album entries were made as copies",
                        mode=self._config.mode, folder=str(self._root))

    def _stamp(self, album: Album, recorded: str) -> str:
        """The stamp to record with the album: its change stamp, plus (after a full walk of the
        archive) a digest of its recorded members that walk listed as archived; otherwise the
        digest ``recorded`` holds (a change pass lists only what changed)."""
        if self._archive_walked:
            archived = self._state.archived_members(album.key)
            digest = hashlib.sha1(",".join(archived).encode()).hexdigest()[:16] \
                if archived else ""
        else:
            digest = recorded.partition(ARCHIVED_SEP)[2]
        return album.updated_at + (ARCHIVED_SEP + digest if digest else "")

    def _rebuild(self, album: Album, name: str, recorded: str) -> None:
        uid = album.key
        folder = self._root / name
        folder.mkdir(exist_ok=True)
        members = self._server.album_members(uid)
        old = self._state.album_entries(uid)
        archived = self._archived_members(old, members)
        members.update(archived)
        primaries = {p: next((f for f in fs if f.primary), fs[0] if fs else None)
                     for p, fs in members.items()}
        file_uids = [f.key for f in primaries.values() if f is not None]
        records = {u: r for u, r in self._state.records_for(file_uids).items()
                   if r.status is RecordStatus.ACTIVE}
        mirrored = {p: records[f.key].path for p, f in primaries.items()
                    if f is not None and f.key in records}
        names = entry_names(mirrored)
        new: dict[str, Entry] = {}
        for photo, primary in primaries.items():
            file_uid = primary.key if primary else ""
            record = records.get(file_uid)
            if record is None:
                log.debug("album member not mirrored; listed without an entry", album=uid,
                          photo_uid=photo)
                sha1 = primary.sha1 if primary else ""
                new[photo] = ("", file_uid, "", sha1)
            else:
                new[photo] = (names[photo], file_uid, record.path, record.sha1)
        for photo, (entry, _, source, sha1) in old.items():
            if entry and new.get(photo) != (entry, old[photo][1], source, sha1):
                _remove_entry(folder / entry)
        for photo, values in list(new.items()):
            if not values[0] or (old.get(photo) == values and _present(folder / values[0])):
                continue
            ours = any(e[0] == values[0] for e in old.values())
            if _present(folder / values[0]) and not ours:
                self._fail(f"{self._config.folder}/{name}/{values[0]}",
                           "not made by ppsync; left alone and no entry made")
                new[photo] = ("", values[1], "", values[3])
                continue
            self._make_entry(folder / values[0], self._target / values[2])
        self._state.set_album_entries(uid, new)
        if album.kind == "album":  # sidecars list manual albums: refresh the changed
            for photo in set(new).symmetric_difference(old):
                self._state.requeue_photo(photo)
        manifest = json_bytes(_manifest(album, members, new, set(archived)))
        write_if_changed(folder / MANIFEST, manifest)
        # what the rolling scrub compares the file with (mirror.scrub)
        self._state.note_written((folder / MANIFEST).relative_to(self._target).as_posix(),
                                 manifest, "manifest", uid)
        self._state.save_album(uid, name, self._stamp(album, recorded), self._config.mode)
        log.info("album folder updated", album=uid, folder=name, members=len(new))

    def _archived_members(self, old: dict[str, Entry], members: dict[str, list[PhotoFile]]
                          ) -> dict[str, list[PhotoFile]]:
        """Members ppsync recorded before that the album no longer lists because they were
        archived: their non-sidecar originals, by photo key.

        Archiving a photo hides its album entries on the server (as removing it from the album
        does), and restoring it does not bring them back, so no search can list them again.
        The manifest keeps them, marked archived, while the photo stays in the archive: a
        backup should not forget that an archived photo belonged to the album. A photo that
        was removed from the album, restored or deleted leaves the manifest."""
        kept: dict[str, list[PhotoFile]] = {}
        for photo in old.keys() - members.keys():
            details = self._server.photo(photo)
            if details is None or not details.archived:
                continue
            kept[photo] = [f for f in details.files if f.original and not f.sidecar]
        return kept

    def _make_entry(self, entry: Path, source: Path) -> None:
        """Put a link (or copy) of ``source`` at ``entry`` atomically, replacing the entry
        ppsync made there before."""
        temp = entry.with_name(f".{entry.name}.ppsync-tmp")
        temp.unlink(missing_ok=True)
        mode = "copy" if self._copies_instead else self._config.mode
        try:
            if mode == "symlink":
                self._symlink(os.path.relpath(source, entry.parent), str(temp))
            elif mode == "hardlink":
                self._link(str(source), str(temp))
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise
            self._copies_instead, mode = True, "copy"
        try:
            if mode == "copy":
                shutil.copy2(source, temp)
            os.replace(temp, entry)
        except BaseException:
            temp.unlink(missing_ok=True)  # a half copy on a full disk gives its space back
            raise

    def _rename(self, uid: str, old: str, new: str) -> str:
        """Move an album's folder to its new name (entries kept); the old name if blocked."""
        source, destination = self._root / old, self._root / new
        if destination.exists() or destination.is_symlink() or not source.is_dir():
            self._remove_album(uid, old)  # rebuilt at the new name from scratch
            return new
        os.rename(source, destination)
        known = self._state.album_rows()[uid]
        self._state.save_album(uid, new, known[1], known[2])
        log.info("album folder renamed", album=uid, old=old, new=new)
        return new

    def _remove_album(self, uid: str, name: str) -> None:
        """Remove the entries and manifest ppsync made, then the folder if nothing else is
        left in it (a user's own files there stay)."""
        folder = self._root / name
        for entry, *_ in self._state.album_entries(uid).values():
            if entry:
                _remove_entry(folder / entry)
        manifest = folder / MANIFEST
        if self._manifests_aside is not None and manifest.is_file() \
                and not manifest.is_symlink():
            aside = move_into(manifest, self._manifests_aside,
                              f"{self._config.folder}/{name}/{MANIFEST}")
            log.info("album manifest kept aside", album=uid, path=str(aside))
        _remove_entry(manifest)
        try:
            folder.rmdir()
        except FileNotFoundError:
            pass
        except OSError:
            log.warning("album folder kept: it holds files ppsync did not make",
                        folder=str(folder))
        self._state.drop_album(uid)
        log.info("album folder removed", album=uid, folder=name)

    def _fail(self, path: str, reason: str) -> None:
        self._report.failures.append(Failure(redact(path), redact(reason)))
        log.error("failed", path=redact(path), reason=redact(reason))


def _present(path: Path) -> bool:
    return path.is_symlink() or path.exists()


def _remove_entry(path: Path) -> None:
    """Unlink an entry ppsync made (a link or a copy; never a folder)."""
    if path.is_symlink() or path.is_file():
        path.unlink()


def _manifest(album: Album, members: dict[str, list[PhotoFile]],
              entries: dict[str, Entry], archived: set[str]) -> dict[str, Any]:
    return {
        "format": "ppsync-album/1",
        "uid": album.key, "title": album.title,
        "description": album.description, "caption": album.caption,
        "type": album.kind, "order": album.order,
        "favorite": album.favorite, "private": album.private,
        "created_at": album.created_at, "updated_at": album.updated_at,
        # whose album: "role" "owner" for the user's own; "viewer"/"editor" for an album
        # another user (``owner``) shared with the user, which a restore leaves out
        "owner": {"key": album.owner_key, "name": album.owner_name}, "role": album.role,
        "members": [{
            "photo_uid": photo, "entry": entries[photo][0], "sha1": entries[photo][3],
            "files": sorted({f.sha1 for f in members[photo]} - {""}),
            **({"archived": True} if photo in archived else {}),
        } for photo in sorted(entries)],
    }
