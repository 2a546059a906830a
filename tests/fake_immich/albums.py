"""Album routes of the fake Immich: titles are not unique, answers hide hidden and trashed
members (the search with ``albumIds`` shows them all), member edits answer per id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.fake_immich.auth import Principal, error, json_response
from tests.fake_immich.http import Request, Response
from tests.fake_immich.model import FakeAlbum, iso
from tests.fake_immich.transfer import body_of, ids_of

if TYPE_CHECKING:
    from tests.fake_immich.api import Routes


def album_json(routes: Routes, album: FakeAlbum, with_assets: bool) -> dict[str, Any]:
    from tests.fake_immich.api import asset_json

    lib = routes.lib
    shown = lib.visible_members(album)
    v31 = routes.gen.seen_live_v31
    # Album answers use the "+00:00" form, not "Z" (v3.1.0: "Z" again, findings i).
    out: dict[str, Any] = {
        "id": album.id, "albumName": album.name, "description": album.description,
        "albumThumbnailAssetId": shown[0].id if shown else None,
        "createdAt": iso(album.created_at, plus_zero=not v31),
        "updatedAt": iso(album.updated_at, plus_zero=not v31),
    }
    me = routes.auth.user_json()
    owner = me if album.owner is None else {**me, **album.owner}
    # Shared with the user by another: albumUsers names the user with their role.
    guests = [] if album.owner is None else [{"user": me, "role": album.role}]
    if v31:  # no ownerId/owner: the owner is the albumUsers entry with role "owner"
        out["albumUsers"] = [{"user": owner, "role": "owner"}, *guests]
    else:
        out.update(ownerId=owner["id"], owner={"id": owner["id"], "email": owner["email"],
                                               "name": owner["name"]}, albumUsers=guests)
    out.update({"shared": album.owner is not None, "hasSharedLink": False, "assets": [],
                "assetCount": len(shown),  # hidden (a live video) and trashed left out
                "isActivityEnabled": True, "order": "desc"})
    if shown:  # an empty album has no startDate/endDate at all
        dates = sorted(a.file_created_at for a in shown)
        if v31:  # (v3.1.0) the local days of the first and last photo, at midnight
            dates = sorted(a.local_date_time.replace(hour=0, minute=0, second=0, microsecond=0)
                           for a in shown)
        out["startDate"] = iso(dates[0], plus_zero=not v31)
        out["endDate"] = iso(dates[-1], plus_zero=not v31)
        out["lastModifiedAssetTimestamp"] = iso(max(a.updated_at for a in shown),
                                                plus_zero=not v31)
    if with_assets and routes.gen.album_has_assets:
        out["assets"] = [asset_json(lib, a, False) for a in shown]
    elif not routes.gen.album_has_assets:
        del out["assets"]  # (v3) never, whatever ``withoutAssets`` says
    return out


def route_albums(routes: Routes, req: Request, who: Principal, seg: list[str]) -> Response:
    auth, lib, m, n = routes.auth, routes.lib, req.method, len(seg)
    v1 = not routes.gen.checks_all_permissions
    if n == 1 and m == "GET":
        auth.require(who, "album.read", always=True)
        with lib.lock:
            albums = list(lib.albums.values())
            return json_response(200, [album_json(routes, a, False) for a in albums])
    if n == 1 and m == "POST":
        auth.require(who, "album.create", always=True)
        body = body_of(req)
        name = body.get("albumName")
        if not isinstance(name, str) or not name:
            return error(400, ["albumName should not be empty", "albumName must be a string"])
        ids = ids_of(body, "assetIds") if "assetIds" in body else []
        album = lib.create_album(name, str(body.get("description") or ""), ids)
        with lib.lock:
            return json_response(201, album_json(routes, album, True))
    if seg[2:] == ["assets"] and m in ("PUT", "DELETE"):
        # The permission guard answers before the album is looked up (v3.1.0 live: a key
        # without albumAsset.create gets 403 for an album that does not exist)
        auth.require(who, routes.gen.album_add_permission if m == "PUT" else (
            "album.removeAsset" if v1 else "albumAsset.delete"), always=True)
    with lib.lock:
        found = lib.albums.get(seg[1])
    if found is None:
        return error(400, "Not found or no album.read access")
    album = found
    if album.owner is not None and (m in ("PATCH", "DELETE") or (
            m == "PUT" and album.role != "editor")):
        # another user's album: its owner alone edits or deletes it; a viewer adds nothing
        return error(400, "Not found or no album.update access")
    if n == 2 and m == "GET":
        auth.require(who, "album.read", always=True)
        with lib.lock:
            return json_response(200, album_json(
                routes, album, req.query.get("withoutAssets") != "true"))
    if n == 2 and m == "PATCH":
        auth.require(who, "album.update", always=True)
        body = body_of(req)
        with lib.lock:
            if "albumName" in body:
                album.name = str(body["albumName"])
            if "description" in body:
                album.description = str(body["description"])
            album.updated_at = lib.now()
            return json_response(200, album_json(routes, album, False))
    if n == 2 and m == "DELETE":
        auth.require(who, "album.delete", always=True)
        with lib.lock:
            del lib.albums[album.id]
        return Response(routes.gen.album_delete_status)
    if seg[2:] == ["assets"] and m in ("PUT", "DELETE"):
        adding = m == "PUT"
        permission = routes.gen.album_add_permission if adding else (
            "album.removeAsset" if v1 else "albumAsset.delete")
        auth.require(who, permission, always=True)
        ids = ids_of(body_of(req))
        results: list[dict[str, Any]] = []
        with lib.lock:
            for i in ids:
                member = i in album.asset_ids
                if adding and member:
                    results.append({"id": i, "success": False, "error": "duplicate"})
                elif adding and i not in lib.assets:
                    results.append({"id": i, "success": False, "error": "no_permission"})
                elif not adding and not member:
                    results.append({"id": i, "success": False, "error": "not_found"})
                else:
                    if adding:
                        album.asset_ids.append(i)
                    else:
                        album.asset_ids.remove(i)
                    results.append({"id": i, "success": True})
            if any(r["success"] for r in results):
                album.updated_at = lib.now()
        return json_response(200, results)
    return error(404, f"Cannot {m} {req.path}")
