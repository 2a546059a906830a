"""The routes of the fake Immich under ``/api``: server info, auth, keys, search, assets,
downloads, uploads, trash and albums, as ``shared/immich-api.md`` describes each generation."""

from __future__ import annotations

import json
from typing import Any

from tests.fake_immich.albums import route_albums
from tests.fake_immich.auth import Auth, Principal, error, json_response
from tests.fake_immich.edits import check_edit
from tests.fake_immich.http import Request, Response
from tests.fake_immich.library import Library, media_of
from tests.fake_immich.model import (
    ALL_PERMISSIONS_V1,
    ALL_PERMISSIONS_V2,
    FakeAsset,
    Faults,
    Generation,
    duration_text,
    iso,
)
from tests.fake_immich.transfer import VISIBILITIES, Transfers, body_of, ids_of, is_date, is_uuid
from tests.fake_immich.units import link_live, route_stacks, route_tags, stack_of, tags_of


def asset_json(lib: Library, a: FakeAsset, with_exif: bool) -> dict[str, Any]:
    """``AssetResponseDto`` of the library's generation, with ``exifInfo`` (a copy, as it is
    edited in place) when asked. The rest is built once per edit of the asset: a 20,000-asset
    walk would otherwise spend most of its time formatting dates. Its lists are shared with
    later answers: serialise it, never change it. Hold ``lib.lock``."""
    cached = lib.docs.get(a.id)
    if cached is None or cached[0] != a.edited:
        cached = (a.edited, _asset_doc(lib, a))
        lib.docs[a.id] = cached
    return {**cached[1], "exifInfo": dict(a.exif)} if with_exif else dict(cached[1])


def _asset_doc(lib: Library, a: FakeAsset) -> dict[str, Any]:
    gen = lib.gen
    out: dict[str, Any] = {
        "id": a.id, "ownerId": a.owner_id or lib.owner_id, "libraryId": None, "type": a.type,
        "originalPath": a.original_path, "originalFileName": a.original_file_name,
        "originalMimeType": (media_of(a.original_file_name) or ("", "application/octet-stream"))[1],
        "thumbhash": None, "fileCreatedAt": iso(a.file_created_at),
        "fileModifiedAt": iso(a.file_modified_at), "localDateTime": iso(a.local_date_time),
        "updatedAt": iso(a.updated_at), "isFavorite": a.is_favorite,
        "isArchived": a.visibility == "archive", "isTrashed": a.is_trashed,
        "visibility": a.visibility, "isOffline": False, "hasMetadata": True,
        "duplicateId": None, "resized": True, "checksum": a.checksum,
        "livePhotoVideoId": a.live_photo_video_id,
        "people": [{"id": p.id, "name": p.name, "birthDate": None, "isHidden": False,
                    "thumbnailPath": "", "faces": []} for p in a.people],
    }
    if gen.search_tags:  # (v3.1.0) search items carry the tags; ``stack`` only GET /assets/{id}
        out["tags"] = tags_of(lib, a)
    out["duration"] = (a.duration_ms if a.type == "VIDEO" else None) if gen.duration_ms \
        else duration_text(a.duration_ms if a.type == "VIDEO" else 0)
    if gen.device_fields_required:
        out["deviceAssetId"], out["deviceId"] = a.device_asset_id, a.device_id
    if gen.created_width_edited:
        out.update(createdAt=iso(a.created_at), width=a.width, height=a.height,
                   isEdited=a.is_edited)
    return out


class Routes(Transfers):
    """Holds the library and auth; ``handle`` answers one request."""

    def __init__(self, lib: Library, auth: Auth, faults: Faults, trash_days: int = 30) -> None:
        self.lib = lib
        self.auth = auth
        self.faults = faults
        self.trash_days = trash_days
        self.download_count = 0
        self.key_me_reads = 0  # GET /api-keys/me answered

    @property
    def gen(self) -> Generation:
        return self.lib.gen

    def route(self, req: Request) -> Response:
        m, path = req.method, req.path
        if not path.startswith("/api/"):
            return error(404, f"Cannot {m} {path}")
        seg = path[len("/api/"):].strip("/").split("/")
        head = seg[0]
        if head == "server":
            return self._server(req, seg)
        if head == "auth":
            return self._auth_routes(req, seg)
        who = self.auth.authenticate(req)
        if head == "api-keys":
            return self._keys(req, who, seg)
        if head == "users" and seg[1:] == ["me"] and m == "GET":
            self.auth.require(who, "user.read")
            return json_response(200, {"id": self.auth.user_id, "email": self.auth.email,
                                       "name": self.auth.name, "isAdmin": True})
        if head == "search" and seg[1:] == ["metadata"] and m == "POST":
            self.auth.require(who, "asset.read")
            return self._search(req)
        if head == "assets":
            return self._assets(req, who, seg)
        if head == "trash" and m == "POST":
            self.auth.require(who, "asset.delete")
            body = body_of(req) if req.body else {}
            if seg[1:] == ["restore", "assets"]:
                return json_response(200, {"count": self.lib.restore(ids_of(body))})
            if seg[1:] == ["restore"]:
                return json_response(200, {"count": self.lib.restore(None)})
            if seg[1:] == ["empty"]:
                with self.lib.lock:
                    gone = [a.id for a in self.lib.assets.values() if a.is_trashed]
                self.lib.purge(gone)
                return json_response(200, {"count": len(gone)})
        if head == "albums":
            return route_albums(self, req, who, seg)
        if head == "stacks":
            return route_stacks(self, req, who, seg)
        if head == "tags":
            return route_tags(self, req, who, seg)
        return error(404, f"Cannot {m} {path}")

    # -- server and auth -----------------------------------------------------------------------

    def _server(self, req: Request, seg: list[str]) -> Response:
        what = seg[1] if len(seg) > 1 else ""
        if what == "ping":
            return json_response(200, {"res": "pong"})
        if what == "version":
            g = self.gen
            version: dict[str, Any] = {"major": g.major, "minor": g.minor, "patch": g.patch}
            if g.has_prerelease:
                version["prerelease"] = None
            return json_response(200, version)
        if what == "config":
            return json_response(200, {"trashDays": self.trash_days, "loginPageMessage": "",
                                       "userDeleteDelay": 7, "isInitialized": True,
                                       "externalDomain": "", "publicUsers": True})
        if what == "features":
            return json_response(200, {"search": True, "trash": self.trash_days > 0})
        if what == "about":
            who = self.auth.authenticate(req)
            self.auth.require(who, "server.about")
            g = self.gen
            return json_response(200, {"version": f"v{g.major}.{g.minor}.{g.patch}",
                                       "versionUrl": "", "licensed": False})
        return error(404, f"Cannot {req.method} {req.path}")

    def _auth_routes(self, req: Request, seg: list[str]) -> Response:
        if seg[1:] == ["login"] and req.method == "POST":
            body = body_of(req)
            email, password = body.get("email"), body.get("password")
            if not isinstance(email, str) or not isinstance(password, str):
                return error(400, ["email must be an email", "password must be a string"])
            session = self.auth.login(email, password, req.header("user-agent"), self.lib.now())
            if session is None:
                return error(401, "Incorrect email or password")
            return json_response(201, {
                "accessToken": session.token, "userId": self.auth.user_id,
                "userEmail": self.auth.email, "name": self.auth.name, "isAdmin": True,
                "profileImagePath": "", "shouldChangePassword": False, "isOnboarded": True})
        if seg[1:] == ["logout"] and req.method == "POST":
            who = self.auth.authenticate(req)
            self.auth.logout(who)  # a key is never logged out: nothing to end
            return json_response(200, {"successful": True,
                                       "redirectUri": "/auth/login?autoLaunch=0"})
        if seg[1:] == ["validateToken"] and req.method == "POST":
            self.auth.authenticate(req)
            return json_response(200, {"authStatus": True})
        return error(404, f"Cannot {req.method} {req.path}")

    def _keys(self, req: Request, who: Principal, seg: list[str]) -> Response:
        if req.method == "POST" and len(seg) == 1:
            self.auth.require(who, "apiKey.create", always=True)
            body = body_of(req)
            perms = body.get("permissions")
            valid = ALL_PERMISSIONS_V2 if self.gen.checks_all_permissions else ALL_PERMISSIONS_V1
            if not isinstance(perms, list) or not perms or \
                    any(p not in valid for p in perms):
                names = ", ".join(sorted(valid))
                return error(400, [f"each value in permissions must be one of the following "
                                   f"values: {names}"])
            key = self.auth.add_key(perms, str(body.get("name") or "API Key"))
            now = iso(self.lib.now())
            return json_response(201, {"secret": key.secret, "apiKey": {
                "id": key.id, "name": key.name, "createdAt": now, "updatedAt": now,
                "permissions": sorted(key.permissions)}})
        if req.method == "GET" and seg[1:] == ["me"] and self.gen.key_me:
            if who.key is None:  # v3.1.0 as seen live
                return error(403, "Not authenticated with an API Key")
            key = who.key
            self.key_me_reads += 1
            return json_response(200, {"id": key.id, "name": key.name,
                                       "permissions": sorted(key.permissions)})
        if req.method == "GET" and seg[1:] == ["me"]:  # before v1.139: GET /api-keys/{id}
            self.auth.require(who, "apiKey.read", always=True)
            return error(400, ["id must be a UUID"])
        if req.method == "GET" and len(seg) == 1:
            self.auth.require(who, "apiKey.read", always=True)
            with self.auth.lock:
                keys = list(self.auth.keys.values())
            return json_response(200, [{"id": k.id, "name": k.name,
                                        "permissions": sorted(k.permissions)} for k in keys])
        return error(404, f"Cannot {req.method} {req.path}")

    # -- search ------------------------------------------------------------------------------

    def _search(self, req: Request) -> Response:
        body = body_of(req)
        problems: list[str] = []
        page, size = body.get("page", 1), body.get("size", 250)
        if not isinstance(page, int) or isinstance(page, bool) or page < 1:
            problems.append("page must not be less than 1")
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            problems.append("size must not be less than 1")
        elif size > 1000:
            problems.append("size must not be greater than 1000")
        if "updatedAfter" in body and not is_date(body["updatedAfter"]):
            problems.append("updatedAfter must be a date string")
        if body.get("visibility") is not None and body["visibility"] not in VISIBILITIES:
            problems.append("visibility must be one of the following values: "
                            + ", ".join(VISIBILITIES))
        if body.get("order", "desc") not in ("asc", "desc"):
            problems.append("order must be one of the following values: asc, desc")
        if problems:
            return error(400, problems)
        if body.get("visibility") == "locked":
            # Locked assets need a PIN-elevated session, which ppsync never has.
            return error(401, "Elevated permission is required")
        rows = self.lib.matching(body)
        if self.faults.empty_search:
            rows = []
        if self.faults.search_limit_rows is not None:
            rows = rows[:self.faults.search_limit_rows]
        total = len(rows)
        start = (page - 1) * size  # (v3.1.0 has no ``cursor``/``nextCursor``, §10)
        items = rows[start:start + size]
        more = len(rows) > start + size
        with_exif = bool(body.get("withExif"))
        with self.lib.lock:
            docs = [asset_json(self.lib, a, with_exif) for a in items]
        following = page + 1
        if more and page > 1 and self.faults.stuck_next_page > 0:
            self.faults.stuck_next_page -= 1
            following = page
        assets: dict[str, Any] = {
            "total": total if self.gen.total_all else len(docs), "count": len(docs),
            "items": docs, "facets": [], "nextPage": str(following) if more else None}
        answer = {"albums": {"total": 0, "count": 0, "items": [], "facets": []},
                  "assets": assets}
        hook = self.faults.after_search
        if hook is not None:
            hook(dict(body))
        if self.faults.malformed_search > 0:
            self.faults.malformed_search -= 1
            return Response(200, [("Content-Type", "application/json; charset=utf-8")],
                            json.dumps(answer).encode()[:-7])
        resp = json_response(200, answer)
        resp.delay = self.faults.search_delay
        return resp

    # -- assets ------------------------------------------------------------------------------

    def _assets(self, req: Request, who: Principal, seg: list[str]) -> Response:
        m, n = req.method, len(seg)
        if n == 1 and m == "POST":
            self.auth.require(who, "asset.upload")
            return self._upload(req)
        if n == 1 and m == "DELETE":
            self.auth.require(who, "asset.delete")
            body = body_of(req)
            ids = ids_of(body)
            if body.get("force"):
                self.lib.purge(ids)
            else:
                self.lib.trash(ids)
            return Response(204)
        if n == 1 and m == "PUT":  # bulk edit: the same fields, never livePhotoVideoId
            self.auth.require(who, "asset.update")
            body = body_of(req)
            ids = ids_of(body)
            self._check_edit(body)
            with self.lib.lock:
                chosen = [self.lib.assets.get(i) for i in ids]
                if any(a is None or a.owner_id for a in chosen):
                    return error(400, "Not found or no asset.update access")
            changes = {k: v for k, v in body.items() if k not in ("ids", "livePhotoVideoId")}
            queued = [one for one in chosen if one is not None and changes
                      and self.lib.update_asset(one, changes)]
            for one in queued:  # (v3) the sidecar write and extraction, after the answer
                self.lib.queue_job(one)
            return Response(204)
        if seg[1:] == ["bulk-upload-check"] and m == "POST":
            self.auth.require(who, "asset.upload")
            return self._bulk_check(req)
        if seg[1:] == ["statistics"] and m == "GET":
            self.auth.require(who, "asset.statistics")
            return self._statistics(req)
        if n >= 2 and not is_uuid(seg[1]):
            return error(400, ["id must be a UUID"])
        with self.lib.lock:
            asset = self.lib.assets.get(seg[1]) if n >= 2 else None
            if asset is not None and asset.visibility == "locked" and m in ("GET", "HEAD"):
                # Owner access leaves locked assets out without a PIN-elevated session, which
                # no key or password login has (access.repository checkOwnerAccess): read and
                # download answer as for a deleted asset.
                asset = None
        if n == 2 and m == "GET":
            self.auth.require(who, "asset.read")
            if asset is None:
                return error(400, "Not found or no asset.read access")
            with self.lib.lock:
                return json_response(200, self._one_asset(asset))
        if n == 2 and m == "PUT":
            self.auth.require(who, "asset.update")
            if asset is None:
                return error(400, "Not found or no asset.update access")
            body = body_of(req)
            self._check_edit(body)
            if "livePhotoVideoId" in body:
                video = body["livePhotoVideoId"]
                if video is not None and not (isinstance(video, str) and is_uuid(video)):
                    return error(400, ["livePhotoVideoId must be a UUID"])
                link_live(self.lib, asset, video)
            queue = self.lib.update_asset(asset, body)
            with self.lib.lock:
                answer = json_response(200, self._edited_asset(asset))
            if queue:  # (v3) the job bumps updatedAt seconds later, never in the answer
                self.lib.queue_job(asset)
            return answer
        if seg[2:] == ["original"] and m in ("GET", "HEAD"):
            self.auth.require(who, "asset.download")
            if asset is None and self.gen.seen_live_v31:  # (v3.1.0) 404, not 400
                return json_response(404, {"message": "Not Found"})
            if asset is None:
                return error(400, "Not found or no asset.download access")
            # asset-media.service downloadOriginal: the edited file only when asked AND the
            # asset has edits; v1.135 has no such parameter (its validation strips it)
            edited = self.gen.created_width_edited and req.query.get("edited") == "true"
            return self._download(req, asset, edited=edited)
        if seg[2:] == ["edits"] and self.gen.created_width_edited:
            return self._edits(req, who, asset)
        return error(404, f"Cannot {m} {req.path}")

    def _edits(self, req: Request, who: Principal, asset: FakeAsset | None) -> Response:
        """``GET``/``PUT``/``DELETE /assets/{id}/edits`` (asset.service getAssetEdits,
        editAsset, removeAssetEdits): images only, never a live photo."""
        m = req.method
        self.auth.require(who, {"GET": "asset.read", "PUT": "asset.edit.create"}.get(
            m, "asset.edit.delete"))
        if asset is None:
            return error(400, "Asset not found")
        if m == "GET":
            with self.lib.lock:
                return json_response(200, {"assetId": asset.id, "edits": asset.edits})
        if m == "DELETE":
            self.lib.edit(asset, [])
            return Response(204)
        if m != "PUT":
            return error(404, f"Cannot {m} {req.path}")
        edits = body_of(req).get("edits")
        if not isinstance(edits, list) or not edits:
            return error(400, ["edits must contain at least 1 elements"])
        if asset.type != "IMAGE":
            return error(400, "Only images can be edited")
        if asset.live_photo_video_id:
            return error(400, "Editing live photos is not supported")
        self.lib.edit(asset, edits)
        with self.lib.lock:
            return json_response(200, {"assetId": asset.id, "edits": asset.edits})

    def _one_asset(self, asset: FakeAsset) -> dict[str, Any]:
        """``GET /assets/{id}`` (``mapAsset(..., {withStack: true})`` with tags loaded): the
        search item plus ``exifInfo``, ``tags`` and ``stack`` (v3.1.0: and ``owner``). Hold
        ``lib.lock``."""
        out = {**asset_json(self.lib, asset, True), "tags": tags_of(self.lib, asset),
               "stack": stack_of(self.lib, asset)}
        if self.gen.seen_live_v31:
            out["owner"] = self.auth.user_json()
        return out

    def _edited_asset(self, asset: FakeAsset) -> dict[str, Any]:
        """The answer of ``PUT /assets/{id}``: v3.1.0 sends ``mapAsset(asset)`` of the updated
        row, with ``exifInfo`` but no ``tags``, ``stack`` or ``owner`` (findings k). Hold
        ``lib.lock``."""
        if not self.gen.seen_live_v31:
            return self._one_asset(asset)
        out = asset_json(self.lib, asset, True)
        out.pop("tags", None)
        return out

    def _check_edit(self, body: dict[str, Any]) -> None:
        check_edit(self.gen, body)

    def _statistics(self, req: Request) -> Response:
        q = req.query
        allowed = {"visibility", "isArchived", "isFavorite"} | (
            set() if self.gen.checks_all_permissions else {"isTrashed"})
        unknown = [k for k in q if k not in allowed]
        if unknown:
            return error(400, [f"property {k} should not exist" for k in unknown])

        def flag(name: str) -> bool | None:
            return None if name not in q else q[name] == "true"

        return json_response(200, self.lib.statistics(q.get("visibility"), flag("isArchived"),
                                                      flag("isTrashed")))

