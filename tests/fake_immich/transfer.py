"""Bytes in and out of the fake Immich: ``GET /assets/{id}/original`` (Express ``sendFile``:
one Range, 206/416, weak ETag, If-None-Match → 304, If-Range), the multipart upload of each
generation (201 created / 200 duplicate) and ``bulk-upload-check``."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from tests.fake_immich.auth import Auth, Problem, error, json_response
from tests.fake_immich.http import (
    Request,
    Response,
    Stream,
    http_date,
    parse_multipart,
    parse_range,
)
from tests.fake_immich.library import Library, media_of
from tests.fake_immich.model import FakeAsset, Faults

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
VISIBILITIES = ("timeline", "archive", "hidden", "locked")


def body_of(req: Request) -> dict[str, Any]:
    """The JSON object of a request, or a 400 ``Problem``."""
    try:
        data = json.loads(req.body or b"{}")
    except ValueError:
        raise Problem(error(400, "Unexpected token in JSON")) from None
    if not isinstance(data, dict):
        raise Problem(error(400, ["body must be an object"]))
    return data


def ids_of(body: dict[str, Any], field: str = "ids") -> list[str]:
    ids = body.get(field)
    if not isinstance(ids, list) or not all(isinstance(i, str) and _UUID.match(i) for i in ids):
        raise Problem(error(400, [f"each value in {field} must be a UUID"]))
    return ids


def is_uuid(text: str) -> bool:
    return bool(_UUID.match(text))


def is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


class Transfers:
    lib: Library
    auth: Auth
    faults: Faults
    download_count: int

    def _download(self, req: Request, asset: FakeAsset, *, edited: bool = False) -> Response:
        """Express ``sendFile``: Range (one range), 206/416, ETag, If-None-Match → 304.
        ``edited`` (``?edited=true``): the full-size edited file of an edited asset, named
        ``<stem>.jpeg``; 404 "Edited asset media not found" while the edit job has not made
        it (``Faults.edits_unrendered``); an asset without edits sends its original."""
        with self.lib.lock:
            content, name, modified = asset.content, asset.original_file_name, \
                asset.file_modified_at
            if edited and asset.edits:
                if asset.edited_content is None or self.faults.edits_unrendered:
                    return error(404, "Edited asset media not found")
                content, name = asset.edited_content, name.rsplit(".", 1)[0] + ".jpeg"
        size = len(content)
        mtime = modified.astimezone(UTC)
        etag = f'W/"{size:x}-{int(mtime.timestamp() * 1000):x}"'
        headers = [("Accept-Ranges", "bytes"), ("Last-Modified", http_date(mtime)),
                   ("ETag", etag)]
        if self.lib.gen.download_disposition:
            headers += [("Content-Disposition", f"inline; filename*=UTF-8''{quote(name)}"),
                        ("Cache-Control", "private, max-age=86400, no-transform, "
                         "stale-while-revalidate=2592000, stale-if-error=2592000")]
        if req.header("if-none-match") in (etag, "*"):
            return Response(304, headers)
        mime = (media_of(name) or ("", "application/octet-stream"))[1]
        start, length, status = 0, size, 200
        wanted = req.header("range")
        if_range = req.header("if-range")
        if wanted and if_range and if_range not in (etag, http_date(mtime)):
            wanted = ""  # the file changed since the client's copy: send it whole
        if wanted:
            parsed = parse_range(wanted, size)
            if parsed == "416":
                return Response(416, [("Content-Range", f"bytes */{size}"), *headers])
            if isinstance(parsed, tuple):
                start, length, status = parsed[0], parsed[1], 206
        headers += [("Content-Type", mime), ("Content-Length", str(length))]
        if status == 206:
            headers.append(("Content-Range", f"bytes {start}-{start + length - 1}/{size}"))
        f = self.faults
        with self.lib.lock:
            self.download_count += 1
            truncate = f.truncate_downloads > 0
            f.truncate_downloads -= int(truncate)
            corrupt = f.corrupt_downloads > 0
            f.corrupt_downloads -= int(corrupt)
        corrupt = corrupt or f.corrupt_asset_id == asset.id
        return Response(status, headers, stream=Stream(content, start, length, truncate, corrupt),
                        delay=f.download_delay)

    # -- upload ------------------------------------------------------------------------------

    def _upload(self, req: Request) -> Response:
        try:
            parts = parse_multipart(req.header("content-type"), req.body)
        except ValueError:
            return error(400, ["assetData must be a file"])
        fields = {name: data.decode("utf-8", "replace") for name, fn, data in parts if fn is None}
        files = {name: (fn or "", data) for name, fn, data in parts if fn is not None}
        # Multer judges each file part as it arrives, by the ``filename`` field when one came
        # before the part (``body.filename || file.originalName``), else the part's own name.
        judged: dict[str, str] = {}
        seen: dict[str, str] = {}
        for name, fn, data in parts:
            if fn is None:
                seen[name] = data.decode("utf-8", "replace")
            else:
                judged.setdefault(name, seen.get("filename") or fn)
        problems = []
        if self.lib.gen.device_fields_required:
            for name in ("deviceAssetId", "deviceId"):
                if not fields.get(name):
                    problems += [f"{name} must be a string", f"{name} should not be empty"]
        for name in ("fileCreatedAt", "fileModifiedAt"):
            if not is_date(fields.get(name)):
                problems.append(f"{name} must be a Date instance")
        if "assetData" not in files:
            problems.append("assetData must be a file")
        claimed = req.header("x-immich-checksum")
        if claimed:
            known = self.lib.by_checksum(_b64(claimed))
            if known is not None:  # answered before the body is looked at
                return json_response(200, {"id": known.id, "status": "duplicate"})
        if problems:
            return error(400, problems)
        data = files["assetData"][1]
        filename = fields.get("filename") or files["assetData"][0]
        if media_of(judged["assetData"]) is None:
            return error(400, f"Unsupported file type {judged['assetData']}")
        if "sidecarData" in files and not judged["sidecarData"].lower().endswith(".xmp"):
            return error(400, f"Unsupported file type {judged['sidecarData']}")
        known = self.lib.by_checksum(_b64(hashlib.sha1(data).hexdigest()))
        if known is not None:  # also when it is in the trash: it stays there; a sidecar
            return json_response(200, {"id": known.id, "status": "duplicate"})  # is dropped
        video_id = fields.get("livePhotoVideoId")
        if video_id:
            from tests.fake_immich.units import check_live_video  # units imports this module

            with self.lib.lock:
                check_live_video(self.lib, video_id)  # asset-media.service: before creating
        visibility = fields.get("visibility", "timeline")
        asset = self.lib.create_asset(
            filename, data,
            file_created_at=_parse(fields["fileCreatedAt"]),
            file_modified_at=_parse(fields["fileModifiedAt"]),
            device_asset_id=fields.get("deviceAssetId", ""), device_id=fields.get("deviceId", ""),
            is_favorite=fields.get("isFavorite") == "true",
            visibility=visibility if visibility in VISIBILITIES else "timeline")
        with self.lib.lock:
            if "sidecarData" in files:
                asset.sidecar = files["sidecarData"]
            video = self.lib.assets.get(video_id or "")
            if video is not None:
                asset.live_photo_video_id = video.id
                if video.visibility == "timeline":
                    video.visibility = "hidden"  # the motion part leaves the timeline
                    self.lib.touch(video)
        self.lib.after_upload(asset)  # the metadata job, unless deferred
        return json_response(201, {"id": asset.id, "status": "created"})

    def _bulk_check(self, req: Request) -> Response:
        body = body_of(req)
        items = body.get("assets")
        if not isinstance(items, list):
            return error(400, ["assets must be an array"])
        if not items:
            # Observed on v2.5.6 (never send an empty list); the fake says it on every version.
            return error(500, "Failed to check bulk upload")
        results: list[dict[str, Any]] = []
        for item in items:
            ref, checksum = str(item.get("id", "")), str(item.get("checksum", ""))
            known = self.lib.by_checksum(_b64(checksum))
            if known is None:
                results.append({"id": ref, "action": "accept"})
            else:
                results.append({"id": ref, "action": "reject", "reason": "duplicate",
                                "assetId": known.id, "isTrashed": known.is_trashed})
        return json_response(200, {"results": results})


def _b64(checksum: str) -> str:
    """A checksum in either accepted form (40 hex or base64) as base64."""
    if re.fullmatch(r"[0-9a-fA-F]{40}", checksum):
        return base64.b64encode(bytes.fromhex(checksum)).decode()
    return checksum


def _parse(text: str) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
