"""One photo, several assets, in the fake Immich (immich-api.md §11): stacks, live-photo links
made after the upload, and tags, with their routes.

What the real server does, read off its source (v3.1.0 era; the v1.135 controllers declare the
same permissions, which v1.135 checks on these endpoints too):

* ``stack.repository.ts`` ``create``: stacks whose primary is among the ids are deleted and
  their members join the new stack; every member's row is updated with ``updatedAt: new
  Date()`` (the change feed sees a new stack). ``update`` (a new primary) writes the stack row
  only: members keep their ``updatedAt``. Deleting a stack sets the members' ``stackId`` null
  through the foreign key (``ON DELETE SET NULL``), an UPDATE that fires the asset table's
  ``updatedAt`` trigger; removing one asset updates that asset.
* ``tag.service.ts``: tagging writes ``tag_asset`` and the exif row's tag list, never the asset
  row, so the answer leaves ``updatedAt`` alone; it queues the sidecar write, whose metadata
  extraction bumps ``updatedAt`` a moment later, as a real v3.1.0 showed (findings j:
  ``Library.queue_job``). Before v3 the fake never bumps it (v1.135's sidecar job would, once
  for an asset that had no sidecar yet: not modelled).
* ``asset.util.ts`` ``onBeforeLink``: the video must exist, be a VIDEO and be the user's; a
  timeline video turns hidden. Unlinking (``null``) gives the video the still's visibility.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tests.fake_immich.auth import Principal, Problem, error, json_response
from tests.fake_immich.http import Request, Response
from tests.fake_immich.library import Library
from tests.fake_immich.model import FakeAsset, FakeStack, FakeTag, iso
from tests.fake_immich.transfer import body_of, ids_of, is_uuid

if TYPE_CHECKING:
    from tests.fake_immich.api import Routes


def _no_access(permission: str) -> Problem:
    return Problem(error(400, f"Not found or no {permission} access"))


# -- stacks ------------------------------------------------------------------------------------


def create_stack(lib: Library, ids: list[str]) -> FakeStack:
    """``POST /stacks``: the first id on top; stacks whose primary is among ``ids`` merged."""
    with lib.lock:
        if any(lib.assets.get(i) is None or lib.assets[i].owner_id for i in ids):
            raise _no_access("asset.update")
        merged = [s for s in lib.stacks.values() if s.primary_asset_id in ids]
        members = list(dict.fromkeys(ids))
        for old in merged:
            members += [a.id for a in lib.assets.values()
                        if a.stack_id == old.id and not a.is_trashed and a.id not in members]
            del lib.stacks[old.id]
        now = lib.now()
        stack = FakeStack(lib.new_id(), ids[0], now, now)
        lib.stacks[stack.id] = stack
        for i in members:
            asset = lib.assets[i]
            asset.stack_id = stack.id
            lib.touch(asset)  # ``updatedAt: new Date()`` on every member
        for old in merged:  # members of a merged stack that were in the trash
            for asset in lib.assets.values():
                if asset.stack_id == old.id:
                    asset.stack_id = None
                    lib.touch(asset)
        return stack


def stack_members(lib: Library, stack: FakeStack) -> list[FakeAsset]:
    """The members a stack answer lists (not trashed, timeline or archive), primary first."""
    found = [a for a in lib.assets.values() if a.stack_id == stack.id and not a.is_trashed
             and a.visibility in ("timeline", "archive")]
    return sorted(found, key=lambda a: a.id != stack.primary_asset_id)


def stack_of(lib: Library, asset: FakeAsset) -> dict[str, Any] | None:
    """``stack`` of ``GET /assets/{id}``: ``{id, primaryAssetId, assetCount}`` or null."""
    stack = lib.stacks.get(asset.stack_id or "")
    if stack is None:
        return None
    return {"id": stack.id, "primaryAssetId": stack.primary_asset_id,
            "assetCount": len(stack_members(lib, stack))}


def _stack_json(routes: Routes, stack: FakeStack) -> dict[str, Any]:
    from tests.fake_immich.api import asset_json

    lib = routes.lib
    return {"id": stack.id, "primaryAssetId": stack.primary_asset_id,
            "assets": [asset_json(lib, a, True) for a in stack_members(lib, stack)]}


def _dissolve(lib: Library, stack_ids: list[str]) -> None:
    for stack_id in stack_ids:
        lib.stacks.pop(stack_id, None)
        for asset in lib.assets.values():
            if asset.stack_id == stack_id:  # ON DELETE SET NULL: the updatedAt trigger fires
                asset.stack_id = None
                lib.touch(asset)


def route_stacks(routes: Routes, req: Request, who: Principal, seg: list[str]) -> Response:
    auth, lib, m, n = routes.auth, routes.lib, req.method, len(seg)
    if n == 1 and m == "POST":
        auth.require(who, "stack.create", always=True)
        body = body_of(req)
        ids = ids_of(body, "assetIds")
        if len(ids) < 2:
            return error(400, ["assetIds must contain at least 2 elements"])
        stack = create_stack(lib, ids)
        with lib.lock:
            return json_response(201, _stack_json(routes, stack))
    if n == 1 and m == "GET":
        auth.require(who, "stack.read", always=True)
        primary = req.query.get("primaryAssetId")
        with lib.lock:
            return json_response(200, [_stack_json(routes, s) for s in lib.stacks.values()
                                       if primary is None or s.primary_asset_id == primary])
    if n == 1 and m == "DELETE":
        auth.require(who, "stack.delete", always=True)
        ids = ids_of(body_of(req))
        with lib.lock:
            if any(i not in lib.stacks for i in ids):
                raise _no_access("stack.delete")
            _dissolve(lib, ids)
        return Response(204)
    if n >= 2 and not is_uuid(seg[1]):
        return error(400, ["id must be a UUID"])
    permission = {"GET": "stack.read", "PUT": "stack.update", "DELETE": "stack.delete"}.get(m)
    if permission is None or n not in (2, 4) or (n == 4 and (seg[2] != "assets" or m != "DELETE")):
        return error(404, f"Cannot {m} {req.path}")
    if n == 4:
        permission = "stack.update"
    auth.require(who, permission, always=True)
    with lib.lock:
        stack = lib.stacks.get(seg[1])
        if stack is None:
            raise _no_access(permission)
        if n == 2 and m == "GET":
            return json_response(200, _stack_json(routes, stack))
        if n == 2 and m == "PUT":
            primary = body_of(req).get("primaryAssetId")
            if primary is not None:
                if not any(a.id == primary for a in stack_members(lib, stack)):
                    return error(400, "Primary asset must be in the stack")
                stack.primary_asset_id = str(primary)  # the stack row only: members keep
                stack.updated_at = lib.now()           # their updatedAt
            return json_response(200, _stack_json(routes, stack))
        if n == 2:
            _dissolve(lib, [stack.id])
            return Response(204)
        asset = lib.assets.get(seg[3])
        if asset is None or asset.stack_id != stack.id:
            return error(400, "Asset not in stack")
        if asset.id == stack.primary_asset_id:
            return error(400, "Cannot remove stack's primary asset")
        asset.stack_id = None
        lib.touch(asset)
        return Response(204)


# -- live photos -------------------------------------------------------------------------------


def check_live_video(lib: Library, video_id: str) -> FakeAsset:
    """``onBeforeLink``'s checks of the video (400 otherwise). Hold ``lib.lock``."""
    video = lib.assets.get(video_id)
    if video is None:
        raise Problem(error(400, "Live photo video not found"))
    if video.type != "VIDEO":
        raise Problem(error(400, "Live photo video must be a video"))
    if video.owner_id:
        raise Problem(error(400, "Live photo video does not belong to the user"))
    return video


def link_live(lib: Library, still: FakeAsset, video_id: str | None) -> None:
    """``PUT /assets/{id} {"livePhotoVideoId"}``: link (a timeline video turns hidden) or,
    with None, unlink (the video takes the still's visibility)."""
    with lib.lock:
        if video_id is not None:
            video = check_live_video(lib, video_id)
            if video.visibility == "timeline":
                video.visibility = "hidden"
                lib.touch(video)
            still.live_photo_video_id = video.id
            lib.touch(still)
            return
        previous = lib.assets.get(still.live_photo_video_id or "")
        still.live_photo_video_id = None
        lib.touch(still)
        if previous is not None:
            previous.visibility = still.visibility
            lib.touch(previous)


# -- tags --------------------------------------------------------------------------------------


def tag_json(lib: Library, tag: FakeTag, counted: bool = False) -> dict[str, Any]:
    """``mapTag``: ``parentId`` and ``color`` only when set. v3.1.0 (findings g, j): times
    in Postgres' form ("…55.945615+00:00") and ``assetCount``, counted only by ``GET /tags``
    (``counted``): 0 inside an asset and in the answers of ``PUT``/``POST /tags``."""
    v31 = lib.gen.seen_live_v31

    def stamp(dt: datetime) -> str | None:
        return dt.astimezone(UTC).isoformat(timespec="microseconds") if v31 else iso(dt)

    out: dict[str, Any] = {"id": tag.id, "name": tag.value.rsplit("/", 1)[-1],
                           "value": tag.value, "createdAt": stamp(tag.created_at),
                           "updatedAt": stamp(tag.updated_at)}
    if tag.parent_id:
        out["parentId"] = tag.parent_id
    if tag.color:
        out["color"] = tag.color
    if v31:
        out["assetCount"] = sum(1 for a in lib.assets.values() if tag.id in a.tag_ids) \
            if counted else 0
    return out


def tags_of(lib: Library, asset: FakeAsset) -> list[dict[str, Any]]:
    return [tag_json(lib, lib.tags[t]) for t in asset.tag_ids if t in lib.tags]


def upsert_tags(lib: Library, values: list[str]) -> list[FakeTag]:
    """``PUT /tags``: the leaf of each value, parents made silently (``Library``)."""
    return lib.upsert_tag_values(values)


def tag_assets(lib: Library, tag_ids: list[str], asset_ids: list[str]) -> list[FakeAsset]:
    """``PUT /tags/assets``: ids the user may not use are skipped silently (``checkAccess``);
    returns the assets that got a new (tag, asset) pair, once per pair. The asset rows are
    not written: on v3 the caller queues their jobs (``after_tagging``)."""
    changed: list[FakeAsset] = []
    with lib.lock:
        tags = [t for t in tag_ids if t in lib.tags]
        for asset_id in asset_ids:
            asset = lib.assets.get(asset_id)
            if asset is None or asset.owner_id:
                continue
            new = [t for t in tags if t not in asset.tag_ids]
            if new:
                asset.tag_ids = (*asset.tag_ids, *new)
                changed += [asset] * len(new)
    return changed


def after_tagging(lib: Library, assets: list[FakeAsset]) -> None:
    """(v3.1.0, findings j) tagging and untagging queue the sidecar write and the metadata
    job, which bump ``updatedAt`` a moment after the answer (before v3: not modelled, the
    asset row is never written: ``tag.service.ts``)."""
    if lib.gen.seen_live_v31:
        for asset in dict.fromkeys(assets):
            lib.queue_job(asset)


def route_tags(routes: Routes, req: Request, who: Principal, seg: list[str]) -> Response:
    auth, lib, m, n = routes.auth, routes.lib, req.method, len(seg)
    if n == 1 and m == "GET":
        auth.require(who, "tag.read", always=True)
        with lib.lock:  # v3.1.0: ordered by value, with the asset counts
            tags = sorted(lib.tags.values(), key=lambda t: t.value) if lib.gen.seen_live_v31 \
                else list(lib.tags.values())
            return json_response(200, [tag_json(lib, t, counted=True) for t in tags])
    if n == 1 and m == "POST":
        auth.require(who, "tag.create", always=True)
        body = body_of(req)
        name, parent_id = body.get("name"), body.get("parentId")
        if not isinstance(name, str):
            return error(400, ["name must be a string"])
        with lib.lock:
            parent = None
            if parent_id is not None:
                parent = lib.tags.get(str(parent_id))
                if parent is None:
                    raise _no_access("tag.read")
            value = f"{parent.value}/{name}" if parent else name
            if lib.tag_by_value(value) is not None:
                return error(400, "A tag with that name already exists")
            return json_response(201, tag_json(lib, lib.new_tag(value,
                                                         parent.id if parent else None)))
    if n == 1 and m == "PUT":
        auth.require(who, "tag.create", always=True)
        values = body_of(req).get("tags")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return error(400, ["each value in tags must be a string"])
        tags = upsert_tags(lib, values)
        with lib.lock:
            return json_response(200, [tag_json(lib, t) for t in tags])
    if seg[1:] == ["assets"] and m == "PUT":
        auth.require(who, "tag.asset", always=True)
        body = body_of(req)
        changed = tag_assets(lib, ids_of(body, "tagIds"), ids_of(body, "assetIds"))
        answer = json_response(200, {"count": len(changed)})  # 0 when all were tagged
        after_tagging(lib, changed)
        return answer
    if n == 3 and seg[2] == "assets" and m in ("PUT", "DELETE"):
        auth.require(who, "tag.asset", always=True)
        ids = ids_of(body_of(req))
        adding = m == "PUT"
        changed: list[FakeAsset] = []
        with lib.lock:
            tag = lib.tags.get(seg[1])
            if tag is None:
                raise _no_access("tag.asset")
            results: list[dict[str, Any]] = []
            for i in ids:
                asset = lib.assets.get(i)
                if asset is None or asset.owner_id:
                    results.append({"id": i, "success": False, "error": "no_permission"})
                elif adding and tag.id in asset.tag_ids:
                    results.append({"id": i, "success": False, "error": "duplicate"})
                elif not adding and tag.id not in asset.tag_ids:
                    results.append({"id": i, "success": False, "error": "not_found"})
                else:
                    asset.tag_ids = (*asset.tag_ids, tag.id) if adding else tuple(
                        t for t in asset.tag_ids if t != tag.id)
                    changed.append(asset)
                    results.append({"id": i, "success": True})
        answer = json_response(200, results)
        after_tagging(lib, changed)
        return answer
    return error(404, f"Cannot {m} {req.path}")
