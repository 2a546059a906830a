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

import base64
import binascii
import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ppsync.errors import ServerDataError

MEDIA_TYPES = {"IMAGE": "image", "VIDEO": "video", "AUDIO": "audio", "OTHER": "other"}
VISIBILITIES = frozenset({"timeline", "archive", "hidden", "locked"})
_DURATION = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
_PERMISSION = re.compile(r"^Missing required permission: ([A-Za-z]+\.[A-Za-z.]+)$")
_B64 = re.compile(r"^[A-Za-z0-9+/]{27}=$")


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


# -- small checked readers ---------------------------------------------------------------------


def _fail(where: str, what: str) -> ServerDataError:
    return ServerDataError(f"Immich {where}: {what}")


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, f"expected a JSON object, got {type(value).__name__}")
    return value


def _str(obj: Mapping[str, Any], key: str, where: str, *, empty: bool = False) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or (not empty and not value):
        raise _fail(where, f"{key} is missing or not a string")
    return value


def _opt_str(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(where, f"{key} is not a string")
    return value


def _bool(obj: Mapping[str, Any], key: str, where: str, default: bool | None = None) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise _fail(where, f"{key} is missing or not true/false")
    return value


def _opt_num(obj: Mapping[str, Any], key: str, where: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, f"{key} is not a number")
    return float(value)


def _opt_int(obj: Mapping[str, Any], key: str, where: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, f"{key} is not a whole number")
    return value


def parse_time(value: Any, where: str, key: str = "") -> datetime:
    """An ISO 8601 instant (``Z`` or ``+00:00``) as an aware UTC datetime. ``key``, when
    given, is the field's name: the error says "<where> <key>" (built only on failure)."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)  # Python 3.11+ reads a "Z" itself
        except ValueError:
            pass
        else:
            if parsed.tzinfo is UTC:
                return parsed
            if parsed.tzinfo is not None:
                return parsed.astimezone(UTC)
            raise _fail(_at(where, key), f"{value!r} has no time zone")
        raise _fail(_at(where, key), f"{value!r} is not an ISO 8601 date")
    raise _fail(_at(where, key), "is not a date string")


def _at(where: str, key: str) -> str:
    return f"{where} {key}" if key else where


def parse_local(value: Any, where: str, key: str = "") -> datetime:
    """``localDateTime``: the wall clock written as if it were UTC, returned naive."""
    return parse_time(value, where, key).replace(tzinfo=None)


def checksum_to_hex(value: Any, where: str = "checksum", key: str = "") -> str:
    """base64 SHA-1 → 40 lowercase hex digits; anything else is a ``ServerDataError``
    (at "<where> <key>" when ``key`` is given)."""
    if not isinstance(value, str) or not _B64.match(value):
        raise _fail(_at(where, key), f"{value!r} is not a base64 SHA-1 (28 characters)")
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise _fail(_at(where, key), f"{value!r} is not valid base64") from None
    if len(raw) != 20:  # pragma: no cover - 27 chars + "=" always decode to 20 bytes
        raise _fail(_at(where, key), f"{value!r} is not 20 bytes")
    return raw.hex()


def hex_to_checksum(sha1: str) -> str:
    """40 hex digits → Immich's base64 form (for search by checksum)."""
    if not re.fullmatch(r"[0-9a-fA-F]{40}", sha1):
        raise ValueError(f"not a hex SHA-1: {sha1!r}")
    return base64.b64encode(bytes.fromhex(sha1)).decode("ascii")


def parse_duration(value: Any, where: str) -> int | None:
    """Milliseconds from "0:00:04.00000" (v1, v2) or a number (v3); None for none/zero."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise _fail(where, "duration is not a duration")
    if isinstance(value, int | float):
        if value < 0:
            raise _fail(where, "duration is negative")
        return int(value) or None
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            hours, minutes, seconds = match.groups()
            ms = round((int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 1000)
            return ms or None
    raise _fail(where, f"duration {value!r} is not H:MM:SS.fffff or milliseconds")


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
    obj = _obj(value, w)
    get = obj.get
    fields: dict[str, Any] = {}
    for key, name in _EXIF_TEXT:
        text = get(key)
        if text is not None and not isinstance(text, str):
            raise _fail(w, f"{key} is not a string")
        fields[name] = text
    for key, name in _EXIF_NUMBER:
        number = get(key)
        if number is not None:
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise _fail(w, f"{key} is not a number")
            number = float(number)
        fields[name] = number
    for key, name in _EXIF_WHOLE:
        whole = get(key)
        if whole is not None and (isinstance(whole, bool) or not isinstance(whole, int)):
            raise _fail(w, f"{key} is not a whole number")
        fields[name] = whole
    size, rating, iso = fields["file_size"], fields["rating"], fields["iso"]
    if size is not None and size < 0:
        raise _fail(w, "fileSizeInByte is negative")
    if rating is not None and not -1 <= rating <= 5:
        raise _fail(w, f"rating {rating} is outside -1..5")
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
    obj = _obj(value, where)
    asset_id = _str(obj, "id", where)
    w = f"{where} {asset_id}"
    kind = obj.get("type")
    if kind not in MEDIA_TYPES:
        raise _fail(w, f"type {kind!r} is not one of {', '.join(MEDIA_TYPES)}")
    visibility = obj.get("visibility")
    if visibility is None:  # servers before the visibility field: isArchived only
        visibility = "archive" if _bool(obj, "isArchived", w, False) else "timeline"
    if visibility not in VISIBILITIES:
        raise _fail(w, f"visibility {visibility!r} is unknown")
    exif = parse_exif(obj["exifInfo"], w) if obj.get("exifInfo") is not None else None
    people = obj.get("people") or []
    if not isinstance(people, list):
        raise _fail(w, "people is not a list")
    names = tuple(str(_obj(p, f"{w} people").get("name") or "") for p in people)
    live = _opt_str(obj, "livePhotoVideoId", w)
    return ImmichAsset(
        asset_id=asset_id, photo_key=asset_id,
        original_name=_str(obj, "originalFileName", w),
        sha1=checksum_to_hex(obj.get("checksum"), w, "checksum"),
        size=exif.file_size if exif else None,
        change_stamp=parse_time(obj.get("updatedAt"), w, "updatedAt"),
        media_type=MEDIA_TYPES[kind],
        taken_local=parse_local(obj.get("localDateTime"), w, "localDateTime"),
        taken_utc=parse_time(obj.get("fileCreatedAt"), w, "fileCreatedAt"),
        modified_at=parse_time(obj.get("fileModifiedAt"), w, "fileModifiedAt"),
        live_photo_video_id=live or None, visibility=visibility,
        trashed=_bool(obj, "isTrashed", w), favourite=_bool(obj, "isFavorite", w),
        description=exif.description if exif else "", rating=exif.rating if exif else None,
        duration_ms=parse_duration(obj.get("duration"), w),
        is_edited=_bool(obj, "isEdited", w, False), people=tuple(n for n in names if n),
        exif=exif, owner_id=_opt_str(obj, "ownerId", w) or "",
    )


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
            raise _fail(f"asset {a.live_photo_video_id}",
                        f"is the live video of two stills ({other}, {a.asset_id})")
    return [dataclasses.replace(a, photo_key=still_of[a.asset_id])
            if a.asset_id in still_of else a for a in items]


# -- listings and answers ----------------------------------------------------------------------


def parse_search_page(value: Any, where: str = "search/metadata") -> SearchPage:
    obj = _obj(value, where)
    assets = _obj(obj.get("assets"), f"{where} assets")
    items = assets.get("items")
    if not isinstance(items, list):
        raise _fail(where, "assets.items is not a list")
    raw_next = assets.get("nextPage")
    next_page: int | None = None
    if raw_next is not None:
        text = str(raw_next) if isinstance(raw_next, int) and not isinstance(
            raw_next, bool) else raw_next
        if not isinstance(text, str) or not text.isdigit() or int(text) < 2:
            raise _fail(where, f"nextPage {raw_next!r} is not a page number")
        next_page = int(text)
    cursor = _opt_str(assets, "nextCursor", where)
    parsed = tuple(parse_asset(item, where) for item in items)
    return SearchPage(parsed, next_page, cursor or None)


def parse_version(value: Any) -> ServerVersion:
    obj = _obj(value, "server/version")
    numbers = []
    for key in ("major", "minor", "patch"):
        number = obj.get(key)
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise _fail("server/version", f"{key} is missing or not a number")
        numbers.append(number)
    return ServerVersion(*numbers)


def parse_statistics(value: Any) -> tuple[int, int, int]:
    """(images, videos, total) of ``/assets/statistics``."""
    obj = _obj(value, "assets/statistics")
    out = []
    for key in ("images", "videos", "total"):
        number = _opt_int(obj, key, "assets/statistics")
        if number is None or number < 0:
            raise _fail("assets/statistics", f"{key} is missing or negative")
        out.append(number)
    return out[0], out[1], out[2]


def parse_album(value: Any, where: str = "album") -> ImmichAlbum:
    obj = _obj(value, where)
    album_id = _str(obj, "id", where)
    w = f"{where} {album_id}"
    count = _opt_int(obj, "assetCount", w)
    return ImmichAlbum(album_id, _str(obj, "albumName", w, empty=True),
                       _opt_str(obj, "description", w) or "", count or 0,
                       parse_time(obj.get("updatedAt"), f"{w} updatedAt"))


def parse_bulk_check(value: Any, refs: Sequence[str]) -> list[BulkCheck]:
    """The answer of ``bulk-upload-check``, which must name every ref asked, in order."""
    where = "assets/bulk-upload-check"
    results = _obj(value, where).get("results")
    if not isinstance(results, list):
        raise _fail(where, "results is not a list")
    out = []
    for item in results:
        obj = _obj(item, where)
        action = obj.get("action")
        if action not in ("accept", "reject"):
            raise _fail(where, f"action {action!r} is neither accept nor reject")
        existing = _opt_str(obj, "assetId", where)
        out.append(BulkCheck(_str(obj, "id", where), action == "accept", existing,
                             bool(obj.get("isTrashed"))))
    if [r.ref for r in out] != list(refs):
        raise _fail(where, "the results do not answer the files asked about, in order")
    return out


def parse_upload(status: int, value: Any) -> UploadResult:
    """``POST /assets``: 201 created, 200 duplicate (the existing asset's id)."""
    where = "POST /assets"
    obj = _obj(value, where)
    kind = obj.get("status")
    expected = {201: "created", 200: "duplicate"}.get(status)
    if expected is None or kind != expected:
        raise _fail(where, f"HTTP {status} with status {kind!r}")
    return UploadResult(_str(obj, "id", where), kind == "created")


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
