"""``ImmichServer``: Immich behind the engine's ``servers.base.PhotoServer`` interface.

A thin adapter over ``client.ImmichClient`` (auth, calls, downloads) and ``listing`` (the
walks). Keys: a file key is the asset id; a photo key is the still's asset id, for the still
and its live-photo video alike. Metadata comes from ``GET /assets/{id}`` (``photo``); album
members from the search with ``albumIds`` (the album answers hide hidden and trashed members).

Uploads go through ``upload`` (bulk-upload-check, POST /assets, albums by name); an asset in
the trash is not "on the server" (``find_photos`` leaves it out; ``find_in_trash`` and
``restore_from_trash`` bring it back). Restore sets the description, the favourite, the taken
time, the location, the rating and the archive with ``PUT /assets/{id}``, adds tags (``PUT
/tags`` to upsert them by value, ``PUT /tags/assets`` to tag), stacks assets (``POST
/stacks``) and links a live photo's video to its still (``PUT /assets/{id}
{livePhotoVideoId}``); an XMP sidecar goes with its asset's upload (``sidecarData``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import ClassVar, NoReturn

import httpx

from ppsync.config import MirrorConfig, ServerConfig, Settings
from ppsync.errors import AuthError, ConfigError, ServerDataError
from ppsync.models import RemoteFile, is_edited_key, original_key
from ppsync.servers.base import (
    MANUAL,
    Access,
    Album,
    Capabilities,
    DownloadSink,
    Fresh,
    Photo,
    PhotoEdit,
    PhotoFile,
    Place,
    ServerInfo,
)
from ppsync.servers.http import json_body
from ppsync.servers.immich.client import ImmichClient
from ppsync.servers.immich.listing import ImmichListing, rendition_file
from ppsync.servers.immich.memberships import AlbumMemberships, album_member_assets
from ppsync.servers.immich.upload import (
    ImmichUpload,
    add_to_album,
    album_by_name,
    find_by_sha1,
    find_in_trash,
    restore_from_trash,
)
from ppsync.servers.immich.wire import (
    ImmichAsset,
    link_live_photos,
    parse_album,
    parse_asset,
    parse_search_page,
    parse_stack_created,
    parse_statistics,
    parse_tag_ids,
)

CAPABILITIES = Capabilities(
    download_tokens=False, albums_idempotent_by_title=False, change_feed=True,
    flags_outside_change_feed=False, separate_title_and_caption=False,
    upload_modes=frozenset({"upload"}), index_in_place=False, archive=True,
    server_paths=False, private=False, library_per_account=True, trash=True,
    taken_time=True, stacks=True, live_links=True, sidecar_upload=True, rating=True,
    location=True, tags="tags", text_sources=False)
# ``ppsync check`` after "counts: unknown" (a key without asset.statistics).
_UNKNOWN_COUNTS = (
    "(GET /api/assets/statistics needs the asset.statistics permission, which this API key "
    "lacks): a full walk is not checked against the library's count, and each file missing "
    "from it is looked up again (GET /api/assets/{id}) before any is removed, as always")
_ALBUM_NAMES = "sidecars (album names)"  # without album.read: sidecars name no album
_IN_THE_SYNC = frozenset({"sidecars", _ALBUM_NAMES, "albums"})  # served only with "sync"
_NO_ID = "00000000-0000-4000-8000-000000000000"  # an album no server has
_NOT_YET = "is not something an Immich server does (PhotoPrism's import and index folders)"


def _utc(asset: ImmichAsset) -> str:
    return asset.taken_utc.isoformat().replace("+00:00", "Z")


def _file(asset: ImmichAsset, primary: bool) -> PhotoFile:
    return PhotoFile(asset.asset_id, asset.original_name, asset.sha1,
                     asset.size if asset.size is not None else -1, primary=primary,
                     file_type=asset.media_type)


def _rendition(asset: ImmichAsset) -> tuple[PhotoFile, ...]:
    """The edited rendition as a file of the photo: made by the server (not an original),
    with no hash the server keeps (the sidecar export fills in what the mirror holds)."""
    remote = rendition_file(asset)
    if remote is None:
        return ()
    return (PhotoFile(remote.file_uid, remote.name, "", original=False, file_type="image",
                      mime=remote.mime, edited=True),)


def to_photo(still: ImmichAsset, video: ImmichAsset | None,
             albums: Iterable[str] | None) -> Photo:
    """One asset (and its live video) as the neutral photo document; ``albums`` None when
    the albums holding it cannot be read."""
    exif = still.exif
    return Photo(
        key=still.asset_id, media_type="live" if video else still.media_type,
        caption=still.description, favorite=still.favourite,
        archived=still.visibility == "archive",
        taken_at=_utc(still), taken_at_local=still.taken_local.isoformat(),
        time_zone=(exif.time_zone or "") if exif else "",
        lat=(exif.latitude or 0.0) if exif else 0.0, lng=(exif.longitude or 0.0) if exif else 0.0,
        place=Place(city=exif.city or "", state=exif.state or "", country=exif.country or "")
        if exif else Place(),
        camera=((exif.make or "", exif.model or "") if exif else ("", "")),
        lens=("", (exif.lens_model or "") if exif else ""),
        albums=tuple(sorted(set(albums or ()))), albums_known=albums is not None,
        files=(_file(still, True),) + ((_file(video, False),) if video else ())
        + _rendition(still),
        changed=still.change_stamp.isoformat().replace("+00:00", "Z"),
        flags=("F" if still.favourite else "-") + "-",
        caption_source=MANUAL if still.description else "",  # the server keeps it as it is
        people=still.people, rating=still.rating or 0, tags=tuple(sorted(set(still.tags))),
        stack_key=still.stack_id, stack_primary_key=still.stack_primary,
    )


class ImmichServer:
    """A ``PhotoServer`` for one Immich. ``stop`` ends any wait for the server at once."""

    kind = "immich"
    capabilities = CAPABILITIES

    def __init__(self, server: ServerConfig, transport: httpx.BaseTransport | None = None,
                 *, stop: threading.Event | None = None) -> None:
        self.client = ImmichClient(server, transport, stop=stop)
        self._memberships = AlbumMemberships(self.client)  # a photo's albums, for sidecars
        self._held: frozenset[str] | None = None  # the key's permissions, once per open

    # --- identity and login --------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.client.logged_in

    def open(self) -> ServerInfo:
        self._held = None
        self.client.login()
        return self.info()

    def info(self) -> ServerInfo:
        assert self.client.version is not None, "open() first"
        user = self.client.user
        return ServerInfo(
            kind="immich", product="Immich", version=str(self.client.version),
            user_key=str(user.get("id") or ""), user_name=str(user.get("email") or ""),
            provider="api key" if self.client.uses_key else "local",
            role="admin" if user.get("isAdmin") is True else ("user" if user else ""))

    def close(self) -> None:
        self.client.close()

    def abort(self) -> None:
        self.client.abort()

    def library_counts(self) -> dict[str, int]:
        try:
            images, videos, total = parse_statistics(
                self.client.json("GET", "/assets/statistics", "asset statistics"))
        except AuthError:
            return {}
        return {"photos": images, "videos": videos, "all": total}

    def access(self, settings: Settings | None, *, restore: bool = False) -> Access:
        """For a key, the permissions each configured feature (or a restore into this
        server) needs that the key lacks: read from ``GET /api-keys/me`` where the server has
        it (v1.139 and later), else tried with harmless requests. Once per open."""
        needs = self._needs(settings, restore=restore)
        features = tuple(needs)
        if not self.client.uses_key:
            return Access("scope: a password login has the account's own rights", features)
        wanted = {p for ps in needs.values() for p in ps}
        held = self._key_permissions()
        lacks = (wanted - held if "all" not in held else set()) if held is not None \
            else self._lacking(wanted)
        problems: dict[str, str] = {}
        for feature, perms in needs.items():
            missing = [p for p in perms if p in lacks]
            if missing:
                problems[feature] = "the API key lacks " + ", ".join(missing)
        if "sync" in problems:  # sidecars and album folders are written by the sync pass
            for feature in (f for f in features if f in _IN_THE_SYNC and f not in problems):
                problems[feature] = ("written by the sync, which this key cannot do ("
                                     + problems["sync"] + ")")
        served = tuple(f for f in features if f not in problems)
        line = "scope: API key" + (f", lacking {', '.join(sorted(lacks))}" if lacks else
                                   " with every permission ppsync needs here")
        return Access(line, served, problems, unknown_counts=_UNKNOWN_COUNTS,
                      degrades=frozenset({_ALBUM_NAMES}))

    def _key_permissions(self) -> set[str] | None:
        """The key's own permissions (``GET /api-keys/me``, any key may ask), or None where
        the server has no such endpoint (before v1.139: 400 or 404) or will not say."""
        if self._held is None:
            response = self.client.call("GET", "/api-keys/me", "the API key's permissions",
                                        accept=(400, 403, 404))
            body = json_body(response, "api-keys/me") if response.is_success else None
            perms = body.get("permissions") if isinstance(body, dict) else None
            self._held = (frozenset(p for p in perms if isinstance(p, str))
                          if isinstance(perms, list) else frozenset({"?"}))
        return None if self._held == frozenset({"?"}) else set(self._held)

    def _needs(self, settings: Settings | None, *, restore: bool = False) -> dict[str, list[str]]:
        version = self.client.version
        add = "album.addAsset" if version is not None and version.major < 2 else \
            "albumAsset.create"
        if restore or settings is None:
            return {"restore": ["asset.read", "asset.upload", "asset.update", "stack.create",
                                "tag.create", "tag.asset", "album.read", "album.create", add]}
        needs = {"sync": ["asset.read", "asset.download", "user.read"]}
        if settings.metadata.enabled:
            needs["sidecars"] = ["asset.read"]
            # Without album.read, sidecars are written all the same, naming no album.
            needs[_ALBUM_NAMES] = ["album.read"]
        if settings.albums.mode != "none":
            needs["albums"] = ["album.read", "asset.read"]
        if settings.upload.enabled:
            needs["upload"] = ["asset.upload"]
            if settings.upload.albums:
                needs["upload"] += ["album.read", "album.create", add]
        return needs

    _PROBES: ClassVar[dict[str, tuple[str, str, object]]] = {
        # permission: a request that changes nothing (an empty list, an unknown album, a body
        # the validation refuses after the permission guard passed)
        "stack.create": ("POST", "/stacks", {"assetIds": []}),
        "tag.create": ("PUT", "/tags", {"tags": []}),
        "tag.asset": ("PUT", "/tags/assets", {"tagIds": [], "assetIds": []}),
        "album.create": ("POST", "/albums", {}),
        "asset.update": ("PUT", "/assets", {"ids": []}),
        "album.addAsset": ("PUT", f"/albums/{_NO_ID}/assets", {"ids": []}),
        "albumAsset.create": ("PUT", f"/albums/{_NO_ID}/assets", {"ids": []}),
    }

    def _lacking(self, wanted: set[str]) -> set[str]:
        """The permissions a harmless request per permission shows the key lacks (a server
        without ``GET /api-keys/me``)."""
        lacks: set[str] = set()
        if "user.read" in wanted and not self.client.user_id:  # refused at login
            lacks.add("user.read")
        asset_id = ""
        try:
            page = parse_search_page(self.client.json(
                "POST", "/search/metadata", "trying asset.read", json={"size": 1}))
            asset_id = page.assets[0].asset_id if page.assets else ""
        except AuthError:
            lacks.add("asset.read")
        if "asset.download" in wanted and asset_id and \
                self.client.may_download(asset_id) is False:
            lacks.add("asset.download")
        if "album.read" in wanted:
            try:
                self.client.call("GET", "/albums", "trying album.read")
            except AuthError:
                lacks.add("album.read")
        if "asset.upload" in wanted:
            try:
                find_by_sha1(self.client, ["0" * 40])  # a look-up only; nothing is sent
            except AuthError:
                lacks.add("asset.upload")
        for permission in sorted(wanted & set(self._PROBES)):
            method, path, body = self._PROBES[permission]
            response = self.client.call(method, path, f"trying {permission}", json=body,
                                        accept=(400, 403, 404))
            if response.status_code == 403:
                lacks.add(permission)
        return lacks

    # --- the mirror direction ------------------------------------------------------------------

    def listing(self, mirror: MirrorConfig, fresh: Fresh, since: str = "") -> ImmichListing:
        self._memberships.forget()  # a pass begins: its sidecars read the albums afresh
        return ImmichListing(self.client, mirror, fresh, since)

    def flags_stamp(self) -> str:
        return ""  # a favourite bumps updatedAt: the change feed sees it

    def download(self, file: RemoteFile, sink: DownloadSink) -> str | None:
        if is_edited_key(file.file_uid):  # the edited rendition of an edited image
            return self.client.download(original_key(file.file_uid), sink, edited=True)
        return self.client.download(file.file_uid, sink)

    def albums(self, kinds: Sequence[str]) -> list[Album]:
        if "album" not in kinds:
            return []  # Immich has only albums people made
        body = self.client.json("GET", "/albums", "listing albums")
        if not isinstance(body, list):
            raise ServerDataError("Immich albums: the answer is not a list")
        out = []
        for raw in body:
            album = parse_album(raw, me=self.client.user_id)
            out.append(Album(album.album_id, album.name, description=album.description,
                             updated_at=album.updated_at.isoformat(),
                             owner_key=album.owner_id, owner_name=album.owner_name,
                             role=album.role))
        return out

    def album_members(self, album: str) -> dict[str, list[PhotoFile]]:
        return {a.asset_id: [_file(a, True)] for a in album_member_assets(self.client, album)}

    def _asset(self, asset_id: str) -> ImmichAsset | None:
        response = self.client.call("GET", f"/assets/{asset_id}", f"asset {asset_id}",
                                    accept=(400, 404))
        if response.status_code in (400, 404):
            return None
        return parse_asset(json_body(response, f"asset {asset_id}"), "asset")

    def albums_readable(self) -> bool:
        return self._memberships.readable()

    def photo(self, key: str) -> Photo | None:
        still = self._asset(key)
        if still is None or still.trashed:
            return None
        video = self._asset(still.live_photo_video_id) if still.live_photo_video_id else None
        if video is not None:
            still, video = link_live_photos([still, video])
        return to_photo(still, video, self._memberships.albums_of(key))

    # --- the upload direction and restore ---------------------------------------------------------

    def _refuse(self, what: str) -> NoReturn:
        raise ConfigError(f"{what} {_NOT_YET}")

    def find_photos(self, sha1s: Iterable[str]) -> dict[str, str]:
        return find_by_sha1(self.client, sha1s)

    def find_in_trash(self, sha1s: Iterable[str]) -> dict[str, str]:
        return find_in_trash(self.client, sha1s)

    def restore_from_trash(self, photos: Sequence[str]) -> str:
        return restore_from_trash(self.client, photos)

    def upload(self) -> ImmichUpload:
        return ImmichUpload(self.client)

    def import_folder(self, path: str, albums: Sequence[str]) -> None:
        self._refuse("importing a folder")

    def index_folder(self, path: str) -> None:
        self._refuse("indexing a folder")

    def album_key(self, title: str) -> str:
        """The user's own album called exactly ``title`` (or with this id), else a new one: an
        album another user shared with the user is theirs, never filled as the user's."""
        if not self.client.user_id:
            return album_by_name(self.client, title)  # whose albums are whose is unknown
        for album in self.albums(["album"]):
            if album.own and title in (album.key, album.title):
                return album.key
        created = self.client.json("POST", "/albums", f"creating album {title}",
                                   json={"albumName": title})
        return parse_album(created).album_id

    def add_to_album(self, album: str, photos: Sequence[str]) -> None:
        add_to_album(self.client, album, photos)

    def album_photo_keys(self, album: str) -> set[str]:
        return set(self.album_members(album))

    def update_photo(self, current: Photo, edit: PhotoEdit) -> None:
        """The caption is Immich's description; there is no title (the engine drops it) and
        no private flag (``Capabilities.private``); the taken time is ``dateTimeOriginal``,
        the location ``latitude`` + ``longitude`` (the server wants both), the stars
        ``rating``. Tags the photo lacks are added (upserted by value, then the asset tagged);
        none is ever removed. A key without ``asset.update``, ``tag.create`` or ``tag.asset``
        is an ``AuthError`` naming it."""
        body: dict[str, object] = {}
        if edit.caption is not None:
            body["description"] = edit.caption
        if edit.favorite is not None:
            body["isFavorite"] = edit.favorite
        if edit.taken_at is not None:  # with its offset: the server keeps the time zone
            body["dateTimeOriginal"] = edit.taken_at
        if edit.location is not None:
            body["latitude"], body["longitude"] = edit.location
        if edit.rating is not None and self._takes_rating(edit.rating):
            body["rating"] = edit.rating
        if body:
            self.client.call("PUT", f"/assets/{current.key}", f"editing asset {current.key}",
                             json=body)
        missing = [t for t in dict.fromkeys(edit.tags or ()) if t and t not in current.tags]
        if missing:
            self._add_tags(current.key, missing)

    def _takes_rating(self, rating: int) -> bool:
        """v3 keeps -1 ("rejected"); v1.135 and v2.5 refuse it (0..5): left unset there."""
        version = self.client.version
        return rating >= 0 or (version is not None and version.major >= 3)

    def _add_tags(self, asset: str, values: list[str]) -> None:
        what = f"tagging asset {asset}"
        ids = parse_tag_ids(self.client.json("PUT", "/tags", what, json={"tags": values}),
                            values)
        self.client.call("PUT", "/tags/assets", what,
                         json={"tagIds": list(dict.fromkeys(ids.values())), "assetIds": [asset]})

    def archive(self, photos: Sequence[str]) -> None:
        for key in photos:
            self.client.call("PUT", f"/assets/{key}", f"archiving asset {key}",
                             json={"visibility": "archive"})

    def stack(self, photos: Sequence[str]) -> None:
        """``POST /stacks``: the first key on top; the server merges stacks whose primary is
        among the keys into the new one. A key without ``stack.create`` is an ``AuthError``."""
        keys = list(dict.fromkeys(photos))
        if len(keys) < 2:
            raise ValueError(f"a stack needs at least two photos, got {keys}")
        parse_stack_created(self.client.json("POST", "/stacks", f"stacking {keys[0]}",
                                             json={"assetIds": keys}))

    def link_live_photo(self, still: str, video: str) -> None:
        """``PUT /assets/{still} {"livePhotoVideoId"}``: the server hides the video."""
        self.client.call("PUT", f"/assets/{still}", f"linking live video {video} to {still}",
                         json={"livePhotoVideoId": video})

    def held_tags(self, tags: Iterable[str]) -> frozenset[str]:
        return frozenset(tags)  # tag values, kept as given ("Travel/Italy")
