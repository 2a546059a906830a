"""A tiny second kind of server, in memory: proof that the engine needs nothing PhotoPrism-specific.

It implements ``ppsync.servers.base.PhotoServer`` and differs from PhotoPrism where Immich does:
sizes are not listed (-1), album titles are not unique (creating one always makes a new album),
there are no download tokens, favourites move the change stamp, and keys look nothing alike.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ppsync.config import MirrorConfig, Settings
from ppsync.errors import RemoteFileMissing
from ppsync.models import RemoteFile
from ppsync.servers.base import (
    Access,
    Album,
    BodyOpener,
    Capabilities,
    DownloadSink,
    Fresh,
    Photo,
    PhotoEdit,
    PhotoFile,
    ServerInfo,
)


@dataclass
class MemoryFile:
    key: str
    name: str
    data: bytes

    @property
    def sha1(self) -> str:
        return hashlib.sha1(self.data).hexdigest()


@dataclass
class MemoryPhoto:
    key: str
    files: list[MemoryFile]
    changed: int = 0
    title: str = ""
    caption: str = ""
    favorite: bool = False
    archived: bool = False
    changed_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class MemoryAlbum:
    key: str
    title: str
    members: list[str] = field(default_factory=list)
    changed: int = 0


class MemoryListing:
    def __init__(self, server: MemoryServer, fresh: Fresh, since: datetime | None) -> None:
        self._server, self._fresh, self._since = server, fresh, since
        self.yielded = 0
        self._started = datetime.now(UTC)

    @property
    def listed(self) -> int:
        return self.yielded

    def pages(self) -> Iterator[list[RemoteFile]]:
        photos = [p for p in self._server.photos.values() if not p.archived
                  and (self._since is None or p.changed_at >= self._since)]
        for start in range(0, len(photos), 2):  # tiny pages
            files = [RemoteFile(f.key, p.key, f.name, f.sha1, -1, str(p.changed))
                     for p in photos[start:start + 2] for f in p.files]
            fresh = self._fresh(files)
            self.yielded += len(fresh)
            yield fresh

    def verdict(self) -> tuple[bool, str]:
        return (False, "a change listing") if self._since is not None else (True, "")

    def must_confirm_removals(self) -> bool:
        return False  # its walks cannot miss a file

    def still_listed(self, files: Mapping[str, str]) -> set[str]:
        return {f.key for p in self._server.photos.values() if not p.archived
                for f in p.files if f.key in files}

    def started(self) -> datetime | None:
        return self._started


class _Batch:
    def __init__(self, server: MemoryServer) -> None:
        self._server = server
        self._files: list[tuple[str, bytes]] = []

    def send(self, name: str, open_body: BodyOpener, modified: datetime) -> int | None:
        with open_body() as body:
            self._files.append((name, body.read()))
        return 1

    def commit(self, albums: Sequence[str]) -> None:
        for name, data in self._files:
            photo = self._server.add_photo((f"uploads/{name}", data))
            for album in albums:
                self._server.add_to_album(self._server.album_key(album), [photo.key])


class MemoryServer:
    kind = "memory"
    capabilities = Capabilities(download_tokens=False, albums_idempotent_by_title=False,
                                flags_outside_change_feed=False, index_in_place=False)

    def __init__(self) -> None:
        self.photos: dict[str, MemoryPhoto] = {}
        self.album_list: dict[str, MemoryAlbum] = {}
        self._ids = itertools.count(1)
        self.clock = 1
        self.opened = self.closed = 0
        self.downloads = 0

    # --- the library, as a test changes it ---------------------------------------------------

    def _key(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):04d}"

    def tick(self, photo: MemoryPhoto | None = None) -> int:
        self.clock += 1
        if photo is not None:
            photo.changed, photo.changed_at = self.clock, datetime.now(UTC)
        return self.clock

    def add_photo(self, *files: tuple[str, bytes], title: str = "") -> MemoryPhoto:
        photo = MemoryPhoto(self._key("photo"), [MemoryFile(self._key("file"), n, d)
                                                for n, d in files], self.tick(), title=title)
        self.photos[photo.key] = photo
        return photo

    def add_album(self, title: str, *photos: MemoryPhoto) -> MemoryAlbum:
        album = MemoryAlbum(self._key("album"), title, [p.key for p in photos], self.tick())
        self.album_list[album.key] = album
        return album

    # --- the interface ------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.opened > self.closed

    def open(self) -> ServerInfo:
        self.opened += 1
        return self.info()

    def info(self) -> ServerInfo:
        return ServerInfo(kind="memory", product="Memory", version="1", user_name="tester")

    def close(self) -> None:
        self.closed += 1

    def abort(self) -> None:
        pass

    def library_counts(self) -> dict[str, int]:
        return {"all": len(self.photos)}

    def access(self, settings: Settings | None, *, restore: bool = False) -> Access:
        return Access("scope: everything", ("sync",))

    def listing(self, mirror: MirrorConfig, fresh: Fresh, since: str = "") -> MemoryListing:
        return MemoryListing(self, fresh, datetime.fromisoformat(since) if since else None)

    def flags_stamp(self) -> str:
        return ""

    def albums_readable(self) -> bool:
        return True

    def download(self, file: RemoteFile, sink: DownloadSink) -> str | None:
        photo = self.photos.get(file.photo_uid)
        found = [f for f in photo.files if f.key == file.file_uid] if photo else []
        if not found:
            raise RemoteFileMissing("no such file")
        self.downloads += 1
        sink.write(found[0].data[sink.offset():])
        return None

    def albums(self, kinds: Sequence[str]) -> list[Album]:
        return [Album(a.key, a.title, updated_at=str(a.changed)) for a in self.album_list.values()]

    def _files(self, photo: MemoryPhoto) -> list[PhotoFile]:
        return [PhotoFile(f.key, f.name, f.sha1, len(f.data), primary=i == 0)
                for i, f in enumerate(photo.files)]

    def album_members(self, album: str) -> dict[str, list[PhotoFile]]:
        return {key: self._files(self.photos[key]) for key in self.album_list[album].members
                if key in self.photos and not self.photos[key].archived}

    def photo(self, key: str) -> Photo | None:
        photo = self.photos.get(key)
        if photo is None:
            return None
        return Photo(key, media_type="image", title=photo.title, caption=photo.caption,
                     favorite=photo.favorite, archived=photo.archived,
                     albums=tuple(a.key for a in self.album_list.values() if key in a.members),
                     files=tuple(self._files(photo)), changed=str(photo.changed),
                     title_source="manual", caption_source="manual")

    def find_photos(self, sha1s: Iterable[str]) -> dict[str, str]:
        wanted = set(sha1s)
        return {f.sha1: p.key for p in self.photos.values() for f in p.files if f.sha1 in wanted}

    def find_in_trash(self, sha1s: Iterable[str]) -> dict[str, str]:
        return {}  # no trash here (``Capabilities.trash`` is off)

    def restore_from_trash(self, photos: Sequence[str]) -> str:
        raise AssertionError("not a capability of this server")

    def upload(self) -> _Batch:
        return _Batch(self)

    def import_folder(self, path: str, albums: Sequence[str]) -> None:
        raise AssertionError("not a capability of this server")

    def index_folder(self, path: str) -> None:
        raise AssertionError("not a capability of this server")

    def album_key(self, title: str) -> str:
        """Titles are not unique here (``add_album`` makes a new one each time), so find the
        first album of this title before creating one, as the contract asks."""
        if title in self.album_list:
            return title
        found = [a.key for a in self.album_list.values() if a.title == title]
        return found[0] if found else self.add_album(title).key

    def add_to_album(self, album: str, photos: Sequence[str]) -> None:
        members = self.album_list[album].members
        members.extend(p for p in photos if p not in members)
        self.album_list[album].changed = self.tick()

    def album_photo_keys(self, album: str) -> set[str]:
        return set(self.album_list[album].members)

    def update_photo(self, current: Photo, edit: PhotoEdit) -> None:
        photo = self.photos[current.key]
        photo.title = edit.title if edit.title is not None else photo.title
        photo.caption = edit.caption if edit.caption is not None else photo.caption
        photo.favorite = edit.favorite if edit.favorite is not None else photo.favorite
        self.tick(photo)

    def archive(self, photos: Sequence[str]) -> None:
        for key in photos:
            self.photos[key].archived = True
            self.tick(self.photos[key])
