"""Pure: Immich's JSON turned into plain, typed, checked values for the Immich adapter.

Nothing here does I/O. Every function refuses data it cannot vouch for with a
``ServerDataError`` that says where (which asset, which field) and what was wrong, so a
server that changed shape stops a run instead of feeding guesses to the engine. The shapes
follow ``shared/immich-api.md`` for v1.135, v2.5 and v3:

* ``checksum`` is base64 of the SHA-1 (28 characters); the engine keeps lowercase hex.
* ``updatedAt`` is the change stamp (any change bumps it); ``localDateTime`` is the wall clock
  where the photo was taken, written as if it were UTC, so it comes back as a NAIVE datetime.
* ``duration`` is "H:MM:SS.fffff" (v1, v2) or milliseconds (v3).
* ``nextPage`` is a string or null; (v3) ``nextCursor`` may accompany it.
* A live photo is two assets: the still names its hidden video in ``livePhotoVideoId``; the
  video does not name its still. ``link_live_photos`` gives the video its still's photo key.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ppsync.servers.immich.readers import (
    checksum_to_hex,
    fail,
    flag,
    obj_of,
    opt_int,
    opt_str,
    parse_duration,
    parse_local,
    parse_time,
    req_str,
)

MEDIA_TYPES = {"IMAGE": "image", "VIDEO": "video", "AUDIO": "audio", "OTHER": "other"}
VISIBILITIES = frozenset({"timeline", "archive", "hidden", "locked"})
_PERMISSION = re.compile(r"^Missing required permission: ([A-Za-z]+\.[A-Za-z.]+)$")


@dataclass(frozen=True)
class ImmichExif:
    """``exifInfo``: camera, lens, place and the fields Immich keeps there (description,
    rating). ``None`` where the server knows nothing."""

    make: str | None = None
    model: str | None = None
    lens_model: str | None = None
    width: int | None = None
    height: int | None = None
    file_size: int | None = None
    orientation: str | None = None
    taken_at: datetime | None = None  # dateTimeOriginal, an instant (aware, UTC)
    time_zone: str | None = None  # as Immich writes it: "UTC+2", "Europe/Berlin"
    latitude: float | None = None
    longitude: float | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    description: str = ""
    rating: int | None = None
    f_number: float | None = None
    focal_length: float | None = None
    iso: int | None = None
    exposure_time: str | None = None


@dataclass(frozen=True)
class ImmichAsset:
    """One asset as the engine needs it. ``photo_key`` groups the two halves of a live photo
    (the still's id for both, after ``link_live_photos``)."""

    asset_id: str
    photo_key: str
    original_name: str
    sha1: str  # lowercase hex
    size: int | None  # exifInfo.fileSizeInByte; None without withExif: verify by hash
    change_stamp: datetime  # updatedAt (aware, UTC)
    media_type: str  # image | video | audio | other
    taken_local: datetime  # localDateTime as a naive wall-clock time
    taken_utc: datetime  # fileCreatedAt (aware)
    modified_at: datetime  # fileModifiedAt (aware); the download's Last-Modified
    live_photo_video_id: str | None
    visibility: str  # timeline | archive | hidden | locked
    trashed: bool
    favourite: bool
    description: str
    rating: int | None
    duration_ms: int | None
    is_edited: bool
    people: tuple[str, ...]
    exif: ImmichExif | None  # None when the answer carried no exifInfo
    owner_id: str = ""  # a partner's id when a search lists a partner's shared asset
    # Tag values ("Travel/Italy"): GET /assets/{id} lists them, v3.1.0 search items too;
    # () where the answer has no ``tags`` (older search items)
    tags: tuple[str, ...] = ()
    stack_id: str = ""  # ``stack.id`` (only GET /assets/{id} says); "" when in none
    stack_primary: str = ""  # ``stack.primaryAssetId``


@dataclass(frozen=True)
class SearchPage:
    assets: tuple[ImmichAsset, ...]
    next_page: int | None
    next_cursor: str | None  # v3 only


@dataclass(frozen=True)
class ServerVersion:
    major: int
    minor: int
    patch: int

    @property
    def needs_device_fields(self) -> bool:
        """v1 and v2 refuse an upload without deviceAssetId/deviceId; v3 dropped them."""
        return self.major < 3

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True)
class ImmichAlbum:
    album_id: str
    name: str
    description: str
    asset_count: int  # leaves out hidden and trashed members: not a member count
    updated_at: datetime
    owner_id: str = ""  # "" when the answer names no owner
    owner_name: str = ""
    role: str = "owner"  # the user's part: "owner", or "viewer"/"editor" of a shared album


@dataclass(frozen=True)
class BulkCheck:
    ref: str
    accepted: bool
    existing_id: str | None  # for a duplicate: the asset that holds these bytes
    existing_trashed: bool


@dataclass(frozen=True)
class UploadResult:
    asset_id: str
    created: bool  # False: a duplicate (200), the existing asset's id


# -- assets ------------------------------------------------------------------------------------


# exifInfo keys → ImmichExif fields, by the JSON type each must have when not null. A table,
# not a call per field: a 20,000-asset walk checks 400,000 of them.
_EXIF_TEXT = (("make", "make"), ("model", "model"), ("lensModel", "lens_model"),
              ("timeZone", "time_zone"), ("city", "city"), ("state", "state"),
              ("country", "country"), ("description", "description"))
_EXIF_NUMBER = (("latitude", "latitude"), ("longitude", "longitude"), ("fNumber", "f_number"),
                ("focalLength", "focal_length"), ("iso", "iso"))
_EXIF_WHOLE = (("exifImageWidth", "width"), ("exifImageHeight", "height"),
               ("fileSizeInByte", "file_size"), ("rating", "rating"))


def parse_exif(value: Any, where: str) -> ImmichExif:
    w = f"{where} exifInfo"
    obj = obj_of(value, w)
    get = obj.get
    fields: dict[str, Any] = {}
    for key, name in _EXIF_TEXT:
        text = get(key)
        if text is not None and not isinstance(text, str):
            raise fail(w, f"{key} is not a string")
        fields[name] = text
    for key, name in _EXIF_NUMBER:
        number = get(key)
        if number is not None:
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise fail(w, f"{key} is not a number")
            number = float(number)
        fields[name] = number
    for key, name in _EXIF_WHOLE:
        whole = get(key)
        if whole is not None and (isinstance(whole, bool) or not isinstance(whole, int)):
            raise fail(w, f"{key} is not a whole number")
        fields[name] = whole
    size, rating, iso = fields["file_size"], fields["rating"], fields["iso"]
    if size is not None and size < 0:
        raise fail(w, "fileSizeInByte is negative")
    if rating is not None and not -1 <= rating <= 5:
        raise fail(w, f"rating {rating} is outside -1..5")
    taken = get("dateTimeOriginal")
    orientation = get("orientation")
    exposure = get("exposureTime")
    fields["description"] = fields["description"] or ""
    fields["iso"] = None if iso is None else int(iso)
    return ImmichExif(
        **fields, orientation=None if orientation is None else str(orientation),
        taken_at=None if taken is None else parse_time(taken, w, "dateTimeOriginal"),
        exposure_time=None if exposure is None else str(exposure),
    )


def parse_asset(value: Any, where: str = "asset") -> ImmichAsset:
    """One ``AssetResponseDto``; ``where`` names the listing it came from."""
    obj = obj_of(value, where)
    asset_id = req_str(obj, "id", where)
    w = f"{where} {asset_id}"
    kind = obj.get("type")
    if kind not in MEDIA_TYPES:
        raise fail(w, f"type {kind!r} is not one of {', '.join(MEDIA_TYPES)}")
    visibility = obj.get("visibility")
    if visibility is None:  # servers before the visibility field: isArchived only
        visibility = "archive" if flag(obj, "isArchived", w, False) else "timeline"
    if visibility not in VISIBILITIES:
        raise fail(w, f"visibility {visibility!r} is unknown")
    exif = parse_exif(obj["exifInfo"], w) if obj.get("exifInfo") is not None else None
    people = obj.get("people") or []
    if not isinstance(people, list):
        raise fail(w, "people is not a list")
    names = tuple(str(obj_of(p, f"{w} people").get("name") or "") for p in people)
    live = opt_str(obj, "livePhotoVideoId", w)
    stack_id, stack_primary = parse_stack(obj.get("stack"), w)
    return ImmichAsset(
        asset_id=asset_id, photo_key=asset_id,
        original_name=req_str(obj, "originalFileName", w),
        sha1=checksum_to_hex(obj.get("checksum"), w, "checksum"),
        size=exif.file_size if exif else None,
        change_stamp=parse_time(obj.get("updatedAt"), w, "updatedAt"),
        media_type=MEDIA_TYPES[kind],
        taken_local=parse_local(obj.get("localDateTime"), w, "localDateTime"),
        taken_utc=parse_time(obj.get("fileCreatedAt"), w, "fileCreatedAt"),
        modified_at=parse_time(obj.get("fileModifiedAt"), w, "fileModifiedAt"),
        live_photo_video_id=live or None, visibility=visibility,
        trashed=flag(obj, "isTrashed", w), favourite=flag(obj, "isFavorite", w),
        description=exif.description if exif else "", rating=exif.rating if exif else None,
        duration_ms=parse_duration(obj.get("duration"), w),
        is_edited=flag(obj, "isEdited", w, False), people=tuple(n for n in names if n),
        exif=exif, owner_id=opt_str(obj, "ownerId", w) or "",
        tags=parse_tags(obj.get("tags"), w), stack_id=stack_id, stack_primary=stack_primary,
    )


def parse_tags(value: Any, where: str) -> tuple[str, ...]:
    """The ``value`` of each tag object (``TagResponseDto``); () when there is no list."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise fail(where, "tags is not a list")
    return tuple(req_str(obj_of(tag, f"{where} tags"), "value", f"{where} tags")
                 for tag in value)


def parse_stack(value: Any, where: str) -> tuple[str, str]:
    """(stack id, primary asset id) of ``stack: {id, primaryAssetId, assetCount} | null``;
    ("", "") for none."""
    if value is None:
        return "", ""
    w = f"{where} stack"
    stack = obj_of(value, w)
    return req_str(stack, "id", w), req_str(stack, "primaryAssetId", w)


def parse_tag_ids(value: Any, values: Iterable[str]) -> dict[str, str]:
    """``PUT /tags``: tag value → its id, for every value asked (the server drops empty
    parts of a path, "a//b/" is "a/b", so the answer is matched by that normal form)."""
    where = "PUT /tags"
    if not isinstance(value, list):
        raise fail(where, "the answer is not a list")
    by_value = {}
    for tag in value:
        obj = obj_of(tag, where)
        by_value[req_str(obj, "value", where)] = req_str(obj, "id", where)
    out = {}
    for asked in values:
        normal = "/".join(part for part in asked.split("/") if part)
        if normal not in by_value:
            raise fail(where, f"the answer lacks the tag {asked!r}")
        out[asked] = by_value[normal]
    return out


def parse_stack_created(value: Any) -> str:
    """``POST /stacks``: the new stack's id."""
    return req_str(obj_of(value, "POST /stacks"), "id", "POST /stacks")


def link_live_photos(assets: Iterable[ImmichAsset]) -> list[ImmichAsset]:
    """Give each live photo's video the photo key of its still (the video does not know
    it). A video claimed by two stills is a ``ServerDataError``."""
    items = list(assets)
    still_of: dict[str, str] = {}
    for a in items:
        if a.live_photo_video_id is None:
            continue
        other = still_of.setdefault(a.live_photo_video_id, a.asset_id)
        if other != a.asset_id:
            raise fail(f"asset {a.live_photo_video_id}",
                        f"is the live video of two stills ({other}, {a.asset_id})")
    return [dataclasses.replace(a, photo_key=still_of[a.asset_id])
            if a.asset_id in still_of else a for a in items]


# -- listings and answers ----------------------------------------------------------------------


def parse_search_page(value: Any, where: str = "search/metadata") -> SearchPage:
    obj = obj_of(value, where)
    assets = obj_of(obj.get("assets"), f"{where} assets")
    items = assets.get("items")
    if not isinstance(items, list):
        raise fail(where, "assets.items is not a list")
    raw_next = assets.get("nextPage")
    next_page: int | None = None
    if raw_next is not None:
        text = str(raw_next) if isinstance(raw_next, int) and not isinstance(
            raw_next, bool) else raw_next
        if not isinstance(text, str) or not text.isdigit() or int(text) < 2:
            raise fail(where, f"nextPage {raw_next!r} is not a page number")
        next_page = int(text)
    cursor = opt_str(assets, "nextCursor", where)
    parsed = tuple(parse_asset(item, where) for item in items)
    return SearchPage(parsed, next_page, cursor or None)


def parse_version(value: Any) -> ServerVersion:
    obj = obj_of(value, "server/version")
    numbers = []
    for key in ("major", "minor", "patch"):
        number = obj.get(key)
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise fail("server/version", f"{key} is missing or not a number")
        numbers.append(number)
    return ServerVersion(*numbers)


def parse_statistics(value: Any) -> tuple[int, int, int]:
    """(images, videos, total) of ``/assets/statistics``."""
    obj = obj_of(value, "assets/statistics")
    out = []
    for key in ("images", "videos", "total"):
        number = opt_int(obj, key, "assets/statistics")
        if number is None or number < 0:
            raise fail("assets/statistics", f"{key} is missing or negative")
        out.append(number)
    return out[0], out[1], out[2]


def parse_album(value: Any, where: str = "album", me: str = "") -> ImmichAlbum:
    """One album answer. ``me``: the user's id (``GET /users/me``); with it, an album another
    user shared with the user comes out with that user as owner and the user's role in
    ``albumUsers`` ("viewer" or "editor"). The owner is ``ownerId``/``owner`` (v1.135, v2.5)
    or the ``albumUsers`` entry with role "owner" (v3.1.0 answers have no ``ownerId``).
    Without ``me`` every album counts as the user's own."""
    obj = obj_of(value, where)
    album_id = req_str(obj, "id", where)
    w = f"{where} {album_id}"
    count = opt_int(obj, "assetCount", w)
    members = _album_users(obj.get("albumUsers"))
    owner_id = opt_str(obj, "ownerId", w) or ""
    owner = obj.get("owner")
    owner_name = _user_name(owner) if isinstance(owner, dict) else ""
    if not owner_id:
        owner_id, owner_name = next(((u, n) for u, n, r in members if r == "owner"), ("", ""))
    role = "owner"
    if me and owner_id and owner_id != me:
        role = next((r for u, _, r in members if u == me and r in ("viewer", "editor")),
                    "viewer")
    return ImmichAlbum(album_id, req_str(obj, "albumName", w, empty=True),
                       opt_str(obj, "description", w) or "", count or 0,
                       parse_time(obj.get("updatedAt"), f"{w} updatedAt"),
                       owner_id, owner_name, role)


def _user_name(user: dict[str, Any]) -> str:
    for key in ("name", "email"):
        value = user.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _album_users(value: Any) -> list[tuple[str, str, str]]:
    """(user id, name, role) of each ``albumUsers`` entry that has them."""
    out = []
    for entry in value if isinstance(value, list) else []:
        user = entry.get("user") if isinstance(entry, dict) else None
        if isinstance(user, dict) and isinstance(user.get("id"), str):
            role = entry.get("role")
            out.append((user["id"], _user_name(user), role if isinstance(role, str) else ""))
    return out


def parse_bulk_check(value: Any, refs: Sequence[str]) -> list[BulkCheck]:
    """The answer of ``bulk-upload-check``, which must name every ref asked, in order."""
    where = "assets/bulk-upload-check"
    results = obj_of(value, where).get("results")
    if not isinstance(results, list):
        raise fail(where, "results is not a list")
    out = []
    for item in results:
        obj = obj_of(item, where)
        action = obj.get("action")
        if action not in ("accept", "reject"):
            raise fail(where, f"action {action!r} is neither accept nor reject")
        existing = opt_str(obj, "assetId", where)
        out.append(BulkCheck(req_str(obj, "id", where), action == "accept", existing,
                             bool(obj.get("isTrashed"))))
    if [r.ref for r in out] != list(refs):
        raise fail(where, "the results do not answer the files asked about, in order")
    return out


def parse_upload(status: int, value: Any) -> UploadResult:
    """``POST /assets``: 201 created, 200 duplicate (the existing asset's id)."""
    where = "POST /assets"
    obj = obj_of(value, where)
    kind = obj.get("status")
    expected = {201: "created", 200: "duplicate"}.get(status)
    if expected is None or kind != expected:
        raise fail(where, f"HTTP {status} with status {kind!r}")
    return UploadResult(req_str(obj, "id", where), kind == "created")


def error_message(value: Any) -> str:
    """The ``message`` of an error body (a list for validation errors), for a report."""
    if isinstance(value, Mapping):
        message = value.get("message")
        if isinstance(message, list):
            return "; ".join(str(m) for m in message)
        if isinstance(message, str):
            return message
    return ""


def missing_permission(value: Any) -> str | None:
    """The permission a 403 names ("Missing required permission: asset.download")."""
    match = _PERMISSION.match(error_message(value))
    return match.group(1) if match else None
