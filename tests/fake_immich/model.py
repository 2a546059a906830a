"""Data of the fake Immich: generations, assets, albums, keys, sessions, fault switches.

Everything here is plain data plus small pure helpers; the behaviour lives in ``library.py``
(the user's library and its rules) and ``api.py`` (the HTTP routes).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

__all__ = [
    "ALL_PERMISSIONS_V1",
    "ALL_PERMISSIONS_V2",
    "GENERATIONS",
    "V1",
    "V2",
    "V3",
    "ApiKey",
    "AssetTable",
    "FakeAlbum",
    "FakeAsset",
    "FakeStack",
    "FakeTag",
    "Faults",
    "Generation",
    "Person",
    "RequestRecord",
    "b64_sha1",
    "iso",
    "note_edit",
]

# Edit stamps: every attribute set on any asset takes the next one, so a cache built at a stamp
# knows whether anything changed since (``next`` on a count is atomic under the GIL).
_EDIT_STAMPS = itertools.count(1)


@dataclass(frozen=True)
class Generation:
    """Where the server generations differ (see ``shared/immich-api.md``)."""

    name: str
    major: int
    minor: int
    patch: int
    checks_all_permissions: bool  # v1.135 checks key permissions only on album/key endpoints
    album_add_permission: str  # the permission of PUT /albums/{id}/assets
    device_fields_required: bool  # deviceAssetId/deviceId: required on upload, echoed in assets
    total_all: bool  # v3: a search's ``total`` counts every row, not the page
    duration_ms: bool  # v3: duration in milliseconds (number) instead of "0:00:04.00000"
    created_width_edited: bool  # v2.5.6 and v3: createdAt, width, height, isEdited on assets
    download_disposition: bool  # v2.5.6: Content-Disposition + Cache-Control on originals
    album_has_assets: bool  # GET /albums/{id} embeds ``assets`` (v1.135, v2.5.6; not v3)
    album_delete_status: int  # 200 empty (v1.135) or 204 (v2.5.6)
    has_prerelease: bool  # v3: /server/version adds ``prerelease``
    search_tags: bool = False  # v3.1.0: search items carry ``tags`` (immich-api.md §10)
    # ``PUT /assets`` rating: v1.135/v2.5 take 0..5; v3 also -1 (rejected) and null
    rating_min: int = 0
    rating_null: bool = False
    # v3.1.0 as seen live (immich-api.md §10): errors are ``{"message"}`` only (validation:
    # "Validation failed" with ``errors``), ``X-Correlation-ID`` instead of ``x-immich-cid``,
    # a missing original is 404, a search without ``visibility`` lists timeline, archive and
    # hidden assets
    seen_live_v31: bool = False
    # ``GET /api-keys/me`` (added in v1.139, commit e00556a34): any key may read its own
    # permissions; before, "me" reached ``GET /api-keys/{id}`` (apiKey.read, then 400 "id must
    # be a UUID")
    key_me: bool = True


V1 = Generation("v1.135", 1, 135, 3, False, "album.addAsset", True, False, False, False, False,
                True, 200, False, key_me=False)
V2 = Generation("v2.5", 2, 5, 6, True, "albumAsset.create", True, False, False, True, True,
                True, 204, False)
V3 = Generation("v3", 3, 2, 0, True, "albumAsset.create", False, True, True, True, True,
                False, 204, True, search_tags=True, rating_min=-1, rating_null=True,
                seen_live_v31=True)
GENERATIONS = {g.name: g for g in (V1, V2, V3)}

_COMMON_PERMISSIONS = (
    "all", "activity.create", "activity.read", "apiKey.create", "apiKey.read", "apiKey.update",
    "apiKey.delete", "asset.read", "asset.update", "asset.delete", "asset.statistics",
    "asset.share", "asset.view", "asset.download", "asset.upload", "album.create", "album.read",
    "album.update", "album.delete", "album.statistics", "album.share", "album.download",
    "archive.read", "person.read", "server.about", "session.read", "stack.create", "stack.read",
    "stack.update", "stack.delete", "tag.asset", "tag.create", "tag.delete", "tag.read",
    "tag.update", "timeline.read", "user.read",
)
ALL_PERMISSIONS_V1 = frozenset((*_COMMON_PERMISSIONS, "album.addAsset", "album.removeAsset"))
# v2 renamed the album-member permissions; the v1 names are refused when a key is created.
ALL_PERMISSIONS_V2 = frozenset((*_COMMON_PERMISSIONS, "albumAsset.create", "albumAsset.read",
                                "albumAsset.delete"))


@dataclass
class Person:
    id: str
    name: str


@dataclass(eq=False)
class FakeAsset:
    """One asset. Change it only through ``Library`` methods (they bump ``updated_at``)."""

    id: str
    type: str  # IMAGE | VIDEO | AUDIO | OTHER
    original_file_name: str
    original_path: str
    content: bytes
    file_created_at: datetime
    file_modified_at: datetime
    local_date_time: datetime  # wall clock where taken, stored as if it were UTC
    created_at: datetime
    updated_at: datetime
    visibility: str = "timeline"  # timeline | archive | hidden | locked
    is_favorite: bool = False
    trashed_at: datetime | None = None
    live_photo_video_id: str | None = None
    device_asset_id: str = "fake-device-asset"
    device_id: str = "fake-device"
    duration_ms: int | None = None
    is_edited: bool = False
    # (v2.5 and later) the edit's steps (``asset_edit`` rows: crop, rotate, mirror) and the
    # full-size rendition the edit job made of them; the original stays untouched.
    edits: list[dict[str, Any]] = field(default_factory=list)
    edited_content: bytes | None = None
    width: int | None = 4032
    height: int | None = 3024
    exif: dict[str, Any] = field(default_factory=dict)
    people: list[Person] = field(default_factory=list)
    owner_id: str = ""  # "" = the library's user; else a partner who shares their timeline
    stack_id: str | None = None  # the stack holding it (``Library.stacks``)
    tag_ids: tuple[str, ...] = ()  # its tags (``Library.tags``), in the order they were added
    sidecar: tuple[str, bytes] | None = None  # (file name, bytes) of the XMP sent with it
    # (v3) exif columns an edit locked (``jobs.write_exif_edits``): the metadata job keeps them
    locked: dict[str, Any] = field(default_factory=dict)

    # The stamp of the latest edit of any asset; ``edited`` is this asset's own.
    last_edit: ClassVar[int] = 0

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        self.__dict__["_edited"] = note_edit()

    @property
    def edited(self) -> int:
        """The stamp of this asset's latest attribute change (``exif`` edits go with a touch)."""
        return int(self.__dict__["_edited"])

    @property
    def checksum(self) -> str:
        # Hashed once per content object (a replaced original is a new one), not per answer.
        cached = self.__dict__.get("_checksum")
        if cached is None or cached[0] is not self.content:
            cached = (self.content, b64_sha1(self.content))
            self.__dict__["_checksum"] = cached
        return str(cached[1])

    @property
    def is_trashed(self) -> bool:
        return self.trashed_at is not None


@dataclass(eq=False)
class FakeAlbum:
    id: str
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    asset_ids: list[str] = field(default_factory=list)
    shared_with: list[str] = field(default_factory=list)  # user ids of members
    # An album another user made and shared with this user: that user (id, email, name) and
    # this user's role in it ("viewer" or "editor"); None for the user's own album.
    owner: dict[str, str] | None = None
    role: str = "owner"


@dataclass(eq=False)
class FakeStack:
    """A stack: its members are the assets whose ``stack_id`` is its id."""

    id: str
    primary_asset_id: str
    created_at: datetime
    updated_at: datetime


@dataclass(eq=False)
class FakeTag:
    """A tag; ``value`` is its full path ("Travel/Italy"), its name the last part."""

    id: str
    value: str
    parent_id: str | None
    created_at: datetime
    updated_at: datetime
    color: str | None = None


@dataclass
class ApiKey:
    id: str
    name: str
    secret: str
    permissions: frozenset[str]

    def grants(self, permission: str) -> bool:
        return "all" in self.permissions or permission in self.permissions


@dataclass
class Session:
    id: str
    token: str
    device: str
    created_at: datetime


@dataclass(frozen=True)
class RequestRecord:
    """One request as the fake saw it (headers lower-cased; first value of each query key)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body_size: int
    time: float
    json: Any = None


@dataclass
class Faults:
    """Fault switches, all off by default; counters count down as they fire. The same kinds as
    the PhotoPrism fake: 5xx/429 bursts, connections cut, corrupt or truncated bodies, slow
    links; ``FakeImmich.go_down(seconds)`` refuses connections for a while."""

    fail_next_requests: int = 0
    fail_status: int = 500
    fail_path_contains: str = ""
    retry_after: int | None = None  # sent with a 429/503 burst when set
    reset_connections: int = 0  # close with RST before answering
    reset_path_contains: str = ""
    truncate_downloads: int = 0  # send half of an original's body, then cut the connection
    corrupt_downloads: int = 0  # flip the first byte of an original's body
    edits_unrendered: bool = False  # the edit job has not rendered edits yet: 404 on edited=true
    corrupt_asset_id: str = ""  # always corrupt this asset's body
    truncate_json: int = 0  # cut the next JSON answer (search included) mid-body
    malformed_search: int = 0  # answer the next searches 200 with invalid JSON
    download_delay: float = 0.0  # seconds before an original's headers
    download_rate: int = 0  # bytes per second for bodies of originals (0: unlimited)
    answer_delay: float = 0.0  # seconds before every answer (a slow link or a busy server)
    listing_delay: float = 0.0  # seconds before a search answers (a hung listing)
    expire_tokens_after: int = 0  # a bearer token dies after this many requests (0: never)
    # the next searches for page 2 or later with more rows answer nextPage = the page asked
    # (a server bug; a nextPage below 2 is refused by its form already)
    stuck_next_page: int = 0
    empty_search: bool = False  # searches answer no assets at all (a broken or wiped index)
    search_limit_rows: int | None = None  # a search stops early: rows past this never listed
    search_delay: float = 0.0  # seconds before a search answers (a hung listing)
    # Called with each search's body once its page is built, before it is sent: a test
    # changes the library between two pages of a walk.
    after_search: Callable[[dict[str, Any]], None] | None = None
    # A restart set off by the Nth request whose path contains ``go_down_path_contains``: that
    # request is cut, then for ``go_down_seconds`` connections are refused (or, with
    # ``go_down_proxy_status``, a reverse proxy answers that status).
    go_down_at_request: int = 0
    go_down_path_contains: str = ""
    go_down_seconds: float = 1.0
    go_down_proxy_status: int = 0


def note_edit() -> int:
    """A new edit stamp, also ``FakeAsset.last_edit``: caches built before it are stale."""
    stamp = next(_EDIT_STAMPS)
    FakeAsset.last_edit = stamp
    return stamp


class AssetTable(dict[str, FakeAsset]):
    """The library's assets by id; adding or removing one notes an edit, like changing one."""

    def __setitem__(self, key: str, value: FakeAsset) -> None:
        super().__setitem__(key, value)
        note_edit()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        note_edit()

    def pop(self, key: str, *default: Any) -> Any:
        note_edit()
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, FakeAsset]:
        note_edit()
        return super().popitem()

    def clear(self) -> None:
        super().clear()
        note_edit()

    def setdefault(self, key: str, default: Any = None) -> Any:
        note_edit()
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        note_edit()


def b64_sha1(data: bytes) -> str:
    """Immich's ``checksum``: base64 of the SHA-1 of the bytes (28 characters)."""
    return base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")


def iso(dt: datetime | None, plus_zero: bool = False) -> str | None:
    """ISO UTC with milliseconds and ``Z`` (``+00:00`` in some album answers)."""
    if dt is None:
        return None
    text = dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return text.replace("Z", "+00:00") if plus_zero else text


def duration_text(ms: int | None) -> str:
    """``"0:00:04.00000"``: the v1/v2 form of a duration (photos: all zero)."""
    total = timedelta(milliseconds=ms or 0)
    seconds = total.total_seconds()
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes):02d}:{secs:08.5f}"
