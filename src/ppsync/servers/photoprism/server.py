"""``PhotoPrismServer``: PhotoPrism behind the engine's ``servers.base.PhotoServer`` interface.

A thin adapter over ``client.PhotoPrismClient`` (the HTTP conversation: login, tokens, paging,
downloads, uploads): it turns the client's JSON into neutral values (``listing``, ``photos``) and
hides what only PhotoPrism has (download tokens, upload folder tokens, the caption's field name,
favourite counts that a star does not show in ``UpdatedAt``).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime

import httpx

from ppsync.config import MirrorConfig, ServerConfig, Settings
from ppsync.errors import ConfigError, ItemError
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
from ppsync.servers.photoprism.client import PhotoPrismClient
from ppsync.servers.photoprism.listing import ORIGINALS_ROOT, Walker
from ppsync.servers.photoprism.photos import (
    caption_field,
    edit_fields,
    files_of,
    label_key,
    to_album,
    to_photo,
)
from ppsync.servers.photoprism.scopes import RESOURCES, configured_features, unserved
from ppsync.servers.photoprism.values import SessionInfo

PAGE = 1000
# ``ppsync check`` after "counts: unknown", for a session without the library's totals.
UNKNOWN_COUNTS = (
    "(the server shows its totals only to a scope with 'config' or '*'): files missing from a "
    "full walk are looked up again by hash before any is removed, and a star waits for the "
    "next full walk")
CAPABILITIES = Capabilities(
    download_tokens=True, albums_idempotent_by_title=True, album_titles_ignore_case=True,
    change_feed=True,
    flags_outside_change_feed=True, separate_title_and_caption=True,
    upload_modes=frozenset({"upload", "import-folder"}), index_in_place=True, archive=True,
    groups_by_name=True, text_sources=True, tags="labels", taken_time=True)


def _info(session: SessionInfo) -> ServerInfo:
    return ServerInfo(kind="photoprism", product="PhotoPrism", version=session.server_version,
                      user_key=session.user_uid, user_name=session.user_name,
                      provider=session.provider, role=session.role, scope=session.scope,
                      client_name=session.client_name)


class _UploadFolder:
    """An upload batch: files POSTed into one fresh upload token, imported by one PUT."""

    def __init__(self, client: PhotoPrismClient) -> None:
        self._client = client
        self._token = "ppsync" + secrets.token_hex(8)

    def send(self, name: str, open_body: BodyOpener, modified: datetime, *,
             sidecar: tuple[str, BodyOpener] | None = None) -> int | None:
        # ``sidecar`` is never given (no ``sidecar_upload``): an XMP is a file of the photo here.
        # PhotoPrism takes no date with an upload: its import reads the file (and its mtime).
        return self._client.upload_file(self._token, name, open_body)

    def commit(self, albums: Sequence[str]) -> int | None:
        # One PUT imports the folder into the albums and says nothing per file: None.
        self._client.import_upload(self._token, list(albums))
        return None


class PhotoPrismServer:
    """A ``PhotoServer`` for one PhotoPrism. ``stop`` ends any wait for the server at once."""

    kind = "photoprism"
    capabilities = CAPABILITIES

    def __init__(self, server: ServerConfig, transport: httpx.BaseTransport | None = None,
                 *, stop: threading.Event | None = None) -> None:
        self.client = PhotoPrismClient(server, transport, stop=stop)
        self._caption = "Caption"  # the field name the server's answers use

    # --- identity and login --------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.client.logged_in

    def open(self) -> ServerInfo:
        return _info(self.client.login())

    def info(self) -> ServerInfo:
        assert self.client.session is not None, "open() first"
        return _info(self.client.session)

    def close(self) -> None:
        self.client.close()

    def abort(self) -> None:
        self.client.abort()

    def library_counts(self) -> dict[str, int]:
        return self.client.fetch_counts()

    def access(self, settings: Settings | None, *, restore: bool = False) -> Access:
        session = self.client.session
        assert session is not None, "open() first"
        scope = session.scope
        if scope is None:  # a token that may not read its session: try what it may read
            scope = " ".join(r for r in RESOURCES if self.client.can_read(r)) or "none"
            scope_line = (f"scope: not readable by this token (GET /session refused); it may "
                          f"read {scope} (writes not tried)")
        else:
            scope_line = "scope: " + (scope or "unrestricted (a login has the account's own "
                                      "rights)")
        problems = unserved(settings, scope, has_user=bool(session.user_uid), restore=restore)
        served = tuple(f.name for f in configured_features(settings, restore=restore)
                       if f.name not in problems)
        return Access(scope_line, served, problems, unknown_counts=UNKNOWN_COUNTS)

    # --- the mirror direction ------------------------------------------------------------------

    def listing(self, mirror: MirrorConfig, fresh: Fresh, since: str = "") -> Walker:
        return Walker(self.client, mirror, fresh, updated_since=since)

    def albums_readable(self) -> bool:
        return True  # a photo's details name its albums

    def flags_stamp(self) -> str:
        """The counts of favourite, private and archived photos (one ``GET /config``); "" when
        the server shows this session no totals (a scope without ``config``). Archiving and
        restoring leave UpdatedAt alone, as a star does."""
        counts = self.client.fetch_counts()
        if "favorites" not in counts:
            return ""
        return f"{counts['favorites']},{counts.get('private', 0)},{counts.get('archived', 0)}"

    def download(self, file: RemoteFile, sink: DownloadSink) -> str | None:
        return self.client.download(file.sha1, sink)

    def albums(self, kinds: Sequence[str]) -> list[Album]:
        albums: list[Album] = []
        offset = 0
        while True:
            page = self.client.albums_page(kinds, offset, PAGE)
            albums.extend(to_album(a) for a in page.rows if isinstance(a.get("UID"), str)
                          and a["UID"])
            if page.x_count < PAGE:
                return albums
            offset += page.x_count

    def album_members(self, album: str) -> dict[str, list[PhotoFile]]:
        members: dict[str, list[PhotoFile]] = {}
        offset = 0
        while True:
            page = self.client.album_members_page(album, offset, PAGE)
            for row in page.rows:
                uid = row.get("UID")
                if isinstance(uid, str):
                    members.setdefault(uid, []).extend(
                        f for f in files_of(row) if f.root == ORIGINALS_ROOT and not f.sidecar)
            if page.x_count < page.x_limit or page.x_count == 0:
                return members
            offset += page.x_count

    def photo(self, key: str) -> Photo | None:
        details = self.client.photo_details(key)
        if details is None:
            return None
        self._caption = caption_field(details)
        return to_photo(details)

    # --- the upload direction and restore ---------------------------------------------------------

    def find_photos(self, sha1s: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for sha1 in sha1s:
            file = self.client.find_file(sha1)
            uid = file.get("PhotoUID") if file else None
            if isinstance(uid, str) and uid:
                found[sha1] = uid
        return found

    def find_in_trash(self, sha1s: Iterable[str]) -> dict[str, str]:
        return {}  # no trash that purges: an archived photo stays until someone deletes it

    def restore_from_trash(self, photos: Sequence[str]) -> str:
        raise ConfigError("PhotoPrism has no trash to restore from (archived photos count as "
                          "in the library)")

    def upload(self) -> _UploadFolder:
        return _UploadFolder(self.client)

    def import_folder(self, path: str, albums: Sequence[str]) -> None:
        self.client.import_folder(path, list(albums))

    def index_folder(self, path: str) -> None:
        self.client.index_folder(path)

    def album_key(self, title: str) -> str:
        return self.client.album_uid(title)

    def add_to_album(self, album: str, photos: Sequence[str]) -> None:
        self.client.add_to_album(album, list(photos))

    def album_photo_keys(self, album: str) -> set[str]:
        """Unmerged rows of ``s=<album uid>``, paged by X-Count."""
        found: set[str] = set()
        offset = 0
        while True:
            page = self.client.search_page({"s": album}, offset, PAGE)
            found.update(str(row.get("UID")) for row in page.rows)
            if page.x_count == 0 or page.x_count < page.x_limit:
                return found
            offset += page.x_count

    def update_photo(self, current: Photo, edit: PhotoEdit) -> None:
        """One ``PUT /photos/<uid>`` with the fields ``edit`` changes (``photos.edit_fields``),
        then one ``POST /photos/<uid>/label`` for each label its tags name that ``current``
        lacks (tags naming the same label, "Travel" and "travel", send one; one PhotoPrism
        would refuse, none).

        Tags are labels a person added, not keywords: an index merges words of its own into
        keywords, even manual ones (its colour, place, classifier labels), and keeps them as
        lower-case single words; labels keep the name and are not touched by a rescan. The
        PUT goes first because its body is made before anything is sent: an edit it cannot
        make (``ItemError``: a taken time that is not ISO 8601 with a UTC offset) changes
        nothing on the photo. The labels, each a request that stands on its own and finds the
        same label when repeated, follow; if one fails, the next restore still sees it lacking
        (``held_tags``) and sends only what is missing. Raises ``RemoteFileMissing`` when the
        photo is gone before its labels are added."""
        try:
            fields = edit_fields(current, edit, self._caption)
        except ValueError as error:  # a taken time that is not ISO 8601 with an offset
            raise ItemError(f"photo {current.key}: {error}") from None
        if fields:
            self.client.update_photo(current.key, fields)
        held = self.held_tags(current.tags)
        labels: dict[str, str] = {}
        for tag in edit.tags or ():
            key = label_key(tag)
            if key and key not in held:
                labels.setdefault(key, tag)
        for tag in labels.values():
            self.client.add_photo_label(current.key, tag)

    def archive(self, photos: Sequence[str]) -> None:
        self.client.archive_photos(list(photos))

    def stack(self, photos: Sequence[str]) -> None:
        raise ConfigError("stacking photos is not something PhotoPrism does through its API "
                          "(it groups related files by base name)")

    def link_live_photo(self, still: str, video: str) -> None:
        raise ConfigError("linking a live photo is not something PhotoPrism does through its "
                          "API (it groups the still and the video by base name)")

    def held_tags(self, tags: Iterable[str]) -> frozenset[str]:
        """Tags as the labels PhotoPrism files them under (``photos.label_key``: the cleaned,
        capitalised name, compared in lower case): "travel/italy" and "Travel / Italy" are
        one label, "Travel Italy" another; a tag PhotoPrism would refuse is none."""
        return frozenset(key for key in map(label_key, tags) if key)
