"""The user's library inside the fake Immich, and the rules the real server applies to it.

Thread-safe (one lock). Times come from the server's own clock (``now()``), which a test may
set apart from the client's (``clock_offset``) to prove that change cursors come from the
server's ``Date`` header, not the client's clock. ``updated_at`` moves strictly forward.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from tests.fake_immich.jobs import metadata_job, tz_name, write_exif_edits
from tests.fake_immich.model import (
    AssetTable,
    FakeAlbum,
    FakeAsset,
    FakeStack,
    FakeTag,
    Generation,
    iso,
)

# The fields of ``exifInfo`` (``mapExif`` sends each, null when unknown).
EXIF_FIELDS = ("make", "model", "lensModel", "exifImageWidth", "exifImageHeight",
               "fileSizeInByte", "orientation", "dateTimeOriginal", "modifyDate", "timeZone",
               "fNumber", "focalLength", "iso", "exposureTime", "latitude", "longitude", "city",
               "state", "country", "description", "projectionType", "rating")
_IMAGE_EXT = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png",
              "heic": "image/heic", "heif": "image/heif", "webp": "image/webp",
              "gif": "image/gif", "tif": "image/tiff", "tiff": "image/tiff",
              "dng": "image/dng", "cr2": "image/x-canon-cr2", "nef": "image/x-nikon-nef",
              "arw": "image/x-sony-arw", "avif": "image/avif", "jxl": "image/jxl"}
_VIDEO_EXT = {"mp4": "video/mp4", "mov": "video/quicktime", "m4v": "video/x-m4v",
              "mkv": "video/x-matroska", "webm": "video/webm", "3gp": "video/3gpp",
              "avi": "video/x-msvideo"}


def media_of(name: str) -> tuple[str, str] | None:
    """(asset type, mime) from the file name's extension; None for unsupported types."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext in _IMAGE_EXT:
        return "IMAGE", _IMAGE_EXT[ext]
    if ext in _VIDEO_EXT:
        return "VIDEO", _VIDEO_EXT[ext]
    return None


@dataclass
class Metadata:
    """What the EXIF in a file's bytes says; the fake's metadata job applies it after upload
    (the real server reads it from the bytes, which the fake does not parse)."""

    taken: datetime | None = None  # its offset is the time zone; naive: no offset (UTC)
    make: str | None = None
    model: str | None = None
    lens_model: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    description: str = ""
    rating: int | None = None
    people: tuple[str, ...] = ()
    duration_ms: int | None = None


class Library:
    """Assets, albums and the owner; every change bumps ``updated_at`` like the real server."""

    def __init__(self, generation: Generation, owner_id: str) -> None:
        self.gen = generation
        self.owner_id = owner_id
        self.lock = threading.RLock()
        self.clock_offset = timedelta(0)
        self.assets: dict[str, FakeAsset] = AssetTable()
        self.albums: dict[str, FakeAlbum] = {}
        self.stacks: dict[str, FakeStack] = {}  # rules in ``units.py``
        self.tags: dict[str, FakeTag] = {}
        self.pending_metadata: dict[str, Metadata] = {}  # by base64 checksum
        # Partners who share their library with this user and whom the user shows in their
        # timeline: search answers hold their assets too (search.service getUserIdsToSearch);
        # statistics, duplicates and uploads are the user's own.
        self.partners_in_timeline: set[str] = set()
        # The real server runs the metadata job "within seconds after an upload", not inside
        # it (immich-api.md §3): with this on, an upload only queues it, so a search can list
        # the asset before it ran; ``run_pending_metadata_jobs`` is that job catching up.
        self.defer_metadata_jobs = False
        self.pending_jobs: list[str] = []  # asset ids, in upload order
        self._last = datetime(1970, 1, 1, tzinfo=UTC)
        # (visibility, withDeleted, descending) → those assets in listing order, valid while
        # no asset changed (``FakeAsset.last_edit``) and the partners shown are the same: what
        # the database's index would give.
        self._views: dict[tuple[str, bool, bool], list[FakeAsset]] = {}
        self._views_stamp: tuple[int, frozenset[str]] = (-1, frozenset())
        # asset id → (its edit stamp, its AssetResponseDto without exifInfo), for api.py
        self.docs: dict[str, tuple[int, dict[str, Any]]] = {}

    # -- clock and ids -----------------------------------------------------------------------

    def now(self) -> datetime:
        """The server's clock: strictly increasing, in milliseconds like the database."""
        with self.lock:
            now = datetime.now(UTC) + self.clock_offset
            now = now.replace(microsecond=now.microsecond // 1000 * 1000)
            if now <= self._last:
                now = self._last + timedelta(milliseconds=1)
            self._last = now
            return now

    @staticmethod
    def new_id() -> str:
        return str(uuid.uuid4())

    # -- assets ------------------------------------------------------------------------------

    def by_checksum(self, sha1_b64: str) -> FakeAsset | None:
        with self.lock:
            return next((a for a in self.assets.values()
                         if a.checksum == sha1_b64 and not a.owner_id), None)

    def add_partner_asset(self, partner_id: str, name: str, content: bytes,
                          taken: datetime) -> FakeAsset:
        """An asset a partner uploaded to their own library (shared with this user)."""
        with self.lock:
            self.partners_in_timeline.add(partner_id)
        return self.add_other_user_asset(partner_id, name, content, taken)

    def create_asset(self, name: str, content: bytes, *, file_created_at: datetime,
                     file_modified_at: datetime, device_asset_id: str = "fake-device-asset",
                     device_id: str = "fake-device", is_favorite: bool = False,
                     visibility: str = "timeline") -> FakeAsset:
        media = media_of(name)
        if media is None:
            raise ValueError(f"Unsupported file type {name}")
        now = self.now()
        asset_id = self.new_id()
        ext = name.rsplit(".", 1)[-1].lower()
        asset = FakeAsset(
            id=asset_id, type=media[0], original_file_name=name,
            original_path=f"/data/library/upload/{self.owner_id}/{asset_id[:2]}/{asset_id[2:4]}/"
                          f"{asset_id}.{ext}",
            content=content, file_created_at=file_created_at, file_modified_at=file_modified_at,
            local_date_time=file_created_at, created_at=now, updated_at=now,
            visibility=visibility, is_favorite=is_favorite, device_asset_id=device_asset_id,
            device_id=device_id,
            # The upload writes the exif row with the file's size only (asset-media.service
            # ``upsertExif({assetId, fileSizeInByte})``); the metadata job fills the rest.
            exif={**dict.fromkeys(EXIF_FIELDS), "fileSizeInByte": len(content)},
        )
        with self.lock:
            self.assets[asset_id] = asset
        return asset

    def after_upload(self, asset: FakeAsset) -> None:
        """The upload's metadata job: now, or queued with ``defer_metadata_jobs``."""
        self.queue_job(asset)

    def queue_job(self, asset: FakeAsset) -> None:
        """A metadata job for ``asset`` (after an upload, or an exif edit or a tag change on
        v3): run now, or queued with ``defer_metadata_jobs``. Routes call it once their answer
        is built, so the answer never shows what the job does."""
        with self.lock:
            if self.defer_metadata_jobs:
                self.pending_jobs.append(asset.id)
                return
        self.run_metadata_job(asset)

    def run_pending_metadata_jobs(self) -> int:
        """Run the queued metadata jobs (of assets still there); returns how many ran."""
        with self.lock:
            queued, self.pending_jobs = self.pending_jobs, []
            assets = [self.assets[i] for i in queued if i in self.assets]
        for asset in assets:
            self.run_metadata_job(asset)
        return len(assets)

    def run_metadata_job(self, asset: FakeAsset) -> None:
        """What the server's metadata extraction does within seconds of an upload or an edit
        (``jobs.metadata_job``): dates from EXIF (else the file's mtime), exif fields, faces,
        edits kept; and it bumps ``updatedAt`` again."""
        with self.lock:
            metadata_job(self, asset, self.pending_metadata.get(asset.checksum, Metadata()))

    def touch(self, asset: FakeAsset) -> None:
        asset.updated_at = self.now()

    def replace_original(self, asset_id: str, content: bytes) -> None:
        """A replaced original: the same id, new bytes, a new checksum, ``updatedAt`` bumped."""
        with self.lock:
            asset = self.assets[asset_id]
            asset.content = content
            asset.file_modified_at = self.now()
            asset.exif["fileSizeInByte"] = len(content)
            self.touch(asset)

    def edit(self, asset: FakeAsset, edits: list[dict[str, Any]]) -> None:
        """``PUT /assets/{id}/edits`` (v2.5 and later): the edits replace the asset's; the
        ``asset_edit`` triggers flip ``isEdited`` (bumping ``updatedAt``) and the edit job
        renders the full-size edited file, here at once (the real job ends with an update of
        the asset's dimensions, which bumps ``updatedAt`` again: media.service
        handleAssetEditThumbnailGeneration). An empty list reverts, as ``DELETE``
        does. The original's bytes and checksum never change."""
        with self.lock:
            asset.edits = [dict(e) for e in edits]
            asset.is_edited = bool(edits)
            asset.edited_content = render_edit(asset.content, edits) if edits else None
            self.touch(asset)

    def update_asset(self, asset: FakeAsset, changes: dict[str, Any]) -> bool:
        """``PUT /assets/{id}``: favourite, visibility/isArchived, description, date, GPS,
        rating; exif fields live in ``exifInfo``. The asset's own fields bump ``updatedAt`` at
        once; on v3 the exif fields wait for the job (``jobs.write_exif_edits``): True when
        the caller must queue it (``queue_job``) once its answer is built."""
        with self.lock:
            own = [k for k in ("isFavorite", "isArchived", "visibility") if k in changes]
            if "isFavorite" in changes:
                asset.is_favorite = bool(changes["isFavorite"])
            if "isArchived" in changes:
                asset.visibility = "archive" if changes["isArchived"] else "timeline"
            if "visibility" in changes:
                asset.visibility = str(changes["visibility"])
            if self.gen.seen_live_v31:
                if own:
                    self.touch(asset)
                return write_exif_edits(self, asset, changes)
            for key in ("description", "latitude", "longitude", "rating"):
                if key in changes:
                    asset.exif[key] = changes[key]
            if "dateTimeOriginal" in changes:
                taken = datetime.fromisoformat(str(changes["dateTimeOriginal"]))
                if taken.tzinfo is None:
                    taken = taken.replace(tzinfo=UTC)
                asset.file_created_at = taken.astimezone(UTC)
                asset.local_date_time = taken.replace(tzinfo=UTC)
                asset.exif["dateTimeOriginal"] = iso(asset.file_created_at)
                asset.exif["timeZone"] = tz_name(taken.utcoffset())
            self.touch(asset)
            return False

    def trash(self, ids: list[str]) -> None:
        """``DELETE /assets``: only the given assets go to the trash (``updatedAt`` bumped);
        a still's hidden live video stays as it was, untrashed and untouched
        (``server/src/services/asset.service.ts`` ``deleteAll`` updates exactly ``ids``)."""
        with self.lock:
            for i in ids:
                asset = self.assets.get(i)
                if asset is not None and not asset.is_trashed:
                    asset.trashed_at = self.now()
                    self.touch(asset)

    def restore(self, ids: list[str] | None) -> int:
        """``POST /trash/restore/assets``: the given trashed assets come back and their
        ``updatedAt`` moves (the asset table's update trigger); nothing else is touched, so the
        hidden video of a restored still keeps its old ``updatedAt`` and a change search
        (``updatedAfter``) does not list it (``server/src/repositories/trash.repository.ts``
        ``restoreAll``: one UPDATE of ``status``/``deletedAt`` where ``id`` in ``ids``)."""
        with self.lock:
            chosen = [a for a in self.assets.values() if a.is_trashed
                      and (ids is None or a.id in ids)]
            for asset in chosen:
                asset.trashed_at = None
                self.touch(asset)
            return len(chosen)

    def purge(self, ids: list[str]) -> None:
        """Permanent deletion: gone from every listing and album; a live photo's hidden video
        goes with its still. Nothing in ``updatedAfter`` shows it."""
        with self.lock:
            doomed = set(ids)
            for i in ids:
                asset = self.assets.get(i)
                if asset is not None and asset.live_photo_video_id:
                    doomed.add(asset.live_photo_video_id)
            for i in doomed:
                self.assets.pop(i, None)
            for album in self.albums.values():
                album.asset_ids = [a for a in album.asset_ids if a not in doomed]
            self._settle_stacks()

    def _settle_stacks(self) -> None:
        """After deletions (asset.service handleAssetDeletion): a stack left with fewer than
        two members is dissolved (its member's ``stackId`` set null: updatedAt bumped); one
        that lost its primary gets the first member left as its primary. Hold ``lock``."""
        for stack in list(self.stacks.values()):
            members = [a for a in self.assets.values() if a.stack_id == stack.id]
            if len(members) < 2:
                del self.stacks[stack.id]
                for member in members:
                    member.stack_id = None
                    self.touch(member)
            elif stack.primary_asset_id not in {a.id for a in members}:
                stack.primary_asset_id = members[0].id
                stack.updated_at = self.now()

    def purge_expired(self, trash_days: int) -> None:
        """The nightly trash job: purge what has been in the trash ``trash_days`` or longer."""
        with self.lock:
            limit = self.now() - timedelta(days=trash_days)
            self.purge([a.id for a in self.assets.values()
                        if a.trashed_at is not None and a.trashed_at <= limit])

    # -- listing -----------------------------------------------------------------------------

    def matching(self, body: dict[str, Any]) -> list[FakeAsset]:
        """Assets a ``POST /search/metadata`` body selects, in the server's order (by
        ``fileCreatedAt``, newest first unless ``order`` is "asc"). Hidden defaults: only the
        ``timeline`` visibility, no trashed assets; ``locked`` never. The list may be shared
        with later searches: do not change it."""
        visibility = body.get("visibility") or "timeline"
        if not body.get("visibility") and self.gen.seen_live_v31:
            # (v3.1.0) no visibility: timeline, archive and hidden alike (immich-api.md §10)
            return self.matching({**body, "visibility": "*"})
        with_deleted = bool(body.get("withDeleted"))
        after = body.get("updatedAfter")
        after_dt = datetime.fromisoformat(after.replace("Z", "+00:00")) if after else None
        checksum = body.get("checksum")
        if isinstance(checksum, str) and len(checksum) == 40:
            checksum = base64.b64encode(bytes.fromhex(checksum)).decode()
        album_ids = body.get("albumIds") or []
        descending = body.get("order", "desc") != "asc"
        unstacked = body.get("withStacked") is False  # every stacked asset left out
        # tagIds (database.ts ``hasTags``): every tag given, or one below it; null: untagged
        tag_ids = body.get("tagIds", [])
        narrowing = (after_dt is not None or checksum is not None or body.get("id") is not None
                     or body.get("isFavorite") is not None or body.get("type") is not None
                     or bool(album_ids) or unstacked or tag_ids != [])
        with self.lock:
            rows = self._view(visibility, with_deleted, descending)
            if not narrowing:
                return rows
            members = [set(self.albums[a].asset_ids) if a in self.albums else set()
                       for a in album_ids]
            # An album shared with the user lists its owner's assets (immich-api.md §10).
            others = {o["id"] for a in album_ids if a in self.albums
                      for o in [self.albums[a].owner] if o is not None}
            if others:
                shown = ("timeline", "archive", "hidden") if visibility == "*" \
                    else (visibility,)
                rows = sorted([*rows, *(a for a in self.assets.values()
                                        if a.owner_id in others and a not in rows
                                        and a.visibility in shown
                                        and (with_deleted or not a.is_trashed))],
                              key=lambda a: (a.file_created_at, a.id), reverse=descending)
            tagged = None if tag_ids is None else [self._tagged(t) for t in tag_ids]
            return [
                a for a in rows
                if (after_dt is None or a.updated_at >= after_dt)
                and (checksum is None or a.checksum == checksum)
                and (body.get("id") is None or a.id == body.get("id"))
                and (body.get("isFavorite") is None or a.is_favorite == body.get("isFavorite"))
                and (body.get("type") is None or a.type == body.get("type"))
                and all(a.id in m for m in members)
                and not (unstacked and a.stack_id)
                and (not a.tag_ids if tagged is None else all(a.id in t for t in tagged))
            ]

    def _tagged(self, tag_id: str) -> set[str]:
        """The assets holding the tag or a tag below it (its closure). Hold ``lock``."""
        tag = self.tags.get(tag_id)
        if tag is None:
            return set()
        below = {t.id for t in self.tags.values()
                 if t.value == tag.value or t.value.startswith(tag.value + "/")}
        return {a.id for a in self.assets.values() if below.intersection(a.tag_ids)}

    def _view(self, visibility: str, with_deleted: bool, descending: bool) -> list[FakeAsset]:
        """The assets of one visibility (trashed ones too with ``withDeleted``; partners'
        shown in the timeline too) in listing order, by ``fileCreatedAt`` then id; rebuilt
        after any change to any asset, so every search sees the library as it is at that
        moment (offset pages still shift). Callers must not change the list. Hold ``lock``."""
        stamp = (FakeAsset.last_edit, frozenset(self.partners_in_timeline))
        if self._views_stamp != stamp:
            self._views.clear()
            self._views_stamp = stamp
        key = (visibility, with_deleted, descending)
        view = self._views.get(key)
        if view is None:
            shown = ("timeline", "archive", "hidden") if visibility == "*" else (visibility,)
            view = [a for a in self.assets.values()
                    if a.visibility in shown and a.visibility != "locked"
                    and (not a.owner_id or a.owner_id in self.partners_in_timeline)
                    and (with_deleted or not a.is_trashed)]
            view.sort(key=lambda a: (a.file_created_at, a.id), reverse=descending)
            self._views[key] = view
        return view

    def statistics(self, visibility: str | None, archived: bool | None,
                   trashed: bool | None) -> dict[str, int]:
        """``GET /assets/statistics``: by default timeline and archived, not hidden, not
        trashed; a query narrows it."""
        with self.lock:
            chosen = []
            for a in self.assets.values():
                if a.owner_id:  # a partner's asset: statistics count the user's own
                    continue
                if trashed is not None and a.is_trashed != trashed:
                    continue
                if trashed is None and a.is_trashed:
                    continue
                if visibility is not None:
                    if a.visibility != visibility:
                        continue
                elif archived is not None:
                    if (a.visibility == "archive") != archived or a.visibility not in (
                            "timeline", "archive"):
                        continue
                elif a.visibility not in ("timeline", "archive"):
                    continue
                chosen.append(a)
        images = sum(1 for a in chosen if a.type == "IMAGE")
        videos = sum(1 for a in chosen if a.type == "VIDEO")
        return {"images": images, "videos": videos, "total": len(chosen)}

    # -- tags ----------------------------------------------------------------------------------

    def tag_by_value(self, value: str) -> FakeTag | None:
        with self.lock:
            return next((t for t in self.tags.values() if t.value == value), None)

    def new_tag(self, value: str, parent_id: str | None) -> FakeTag:
        now = self.now()
        tag = FakeTag(self.new_id(), value, parent_id, now, now)
        with self.lock:
            self.tags[tag.id] = tag
        return tag

    def upsert_tag_values(self, values: list[str]) -> list[FakeTag]:
        """utils/tag.ts ``upsertTags`` (``PUT /tags``, a sidecar's subjects): each value split
        at "/" (empty parts dropped), every level made when missing; the leaf of each
        distinct value, in order (the parents made on the way are not among them)."""
        found: list[FakeTag] = []
        with self.lock:
            for value in dict.fromkeys(values):
                parent: FakeTag | None = None
                for part in [p for p in value.split("/") if p]:
                    full = f"{parent.value}/{part}" if parent else part
                    parent = self.tag_by_value(full) or self.new_tag(
                        full, parent.id if parent else None)
                if parent is not None:
                    found.append(parent)
        return found

    # -- albums ------------------------------------------------------------------------------

    def create_album(self, name: str, description: str = "",
                     asset_ids: list[str] | None = None) -> FakeAlbum:
        now = self.now()
        album = FakeAlbum(self.new_id(), name, description, now, now)
        with self.lock:
            self.albums[album.id] = album
            for i in asset_ids or []:
                if i in self.assets and i not in album.asset_ids:
                    album.asset_ids.append(i)
        return album

    def add_shared_album(self, owner: dict[str, str], name: str, role: str,
                         asset_ids: list[str]) -> FakeAlbum:
        """An album another user (``owner``) made and shared with this user as ``role``."""
        album = self.create_album(name, "", asset_ids)
        with self.lock:
            album.owner, album.role = owner, role
        return album

    def add_other_user_asset(self, user_id: str, name: str, content: bytes,
                             taken: datetime) -> FakeAsset:
        """An asset in another user's library, not shown in this user's timeline."""
        asset = self.create_asset(name, content, file_created_at=taken, file_modified_at=taken)
        with self.lock:
            asset.owner_id = user_id
            asset.original_path = asset.original_path.replace(self.owner_id, user_id)
        self.run_metadata_job(asset)
        return asset

    def visible_members(self, album: FakeAlbum) -> list[FakeAsset]:
        """Members as album answers show them: hidden and trashed members left out."""
        with self.lock:
            found = [self.assets[i] for i in album.asset_ids if i in self.assets]
        return [a for a in found if a.visibility in ("timeline", "archive")
                and not a.is_trashed]


def fixed_zone(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


def sha1_hex(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def render_edit(original: bytes, edits: list[dict[str, Any]]) -> bytes:
    """The fake's "rendering" of an edit: JPEG-looking bytes that differ with the original and
    with every change of the edit steps (no image is decoded)."""
    steps = json.dumps(edits, sort_keys=True).encode()
    return b"\xff\xd8\xff\xe0EDITED" + hashlib.sha1(original + steps).digest() * 64 + steps
