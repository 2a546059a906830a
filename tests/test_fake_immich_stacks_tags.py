"""The fake Immich's photos of several assets pinned to ``shared/immich-api.md`` §11 and the
server source it cites: stacks, live-photo links, XMP sidecars sent with an upload, tags, and
the asset edits a restore makes, per generation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.fake_immich import FakeImmich, ImmichUser
from tests.fake_immich.probe import TAKEN, client, form, full, ids, search

EVERY_VISIBILITY = ("timeline", "archive", "hidden")


def _three(im: FakeImmich) -> list[str]:
    user = ImmichUser(im)
    return [user.upload(f"IMG_{n}.jpg", f"photo {n}".encode(), taken=TAKEN + timedelta(minutes=n))
            for n in range(3)]


def _asset(c: httpx.Client, asset_id: str) -> dict[str, Any]:
    answer = c.get(f"/assets/{asset_id}")
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


# -- stacks ------------------------------------------------------------------------------------


def test_a_stack_has_its_first_id_on_top_and_shows_only_in_get_asset(im: FakeImmich) -> None:
    a, b, c3 = _three(im)
    with full(im) as c:
        before = {i: _asset(c, i)["updatedAt"] for i in (a, b, c3)}
        made = c.post("/stacks", json={"assetIds": [b, a]})
        assert made.status_code == 201, made.text
        stack = made.json()
        assert stack["primaryAssetId"] == b and [x["id"] for x in stack["assets"]] == [b, a]
        top, other, alone = _asset(c, b), _asset(c, a), _asset(c, c3)
        items = search(c)["items"]
    assert top["stack"] == {"id": stack["id"], "primaryAssetId": b, "assetCount": 2}
    assert other["stack"] == top["stack"] and alone["stack"] is None
    assert all("stack" not in item for item in items)  # mapAsset without withStack
    # stack.repository create: every member's row gets updatedAt = now (the change feed)
    assert other["updatedAt"] > before[a] and top["updatedAt"] > before[b]
    assert alone["updatedAt"] == before[c3]


def test_a_search_without_stacked_assets_leaves_out_every_member(im: FakeImmich) -> None:
    a, b, c3 = _three(im)
    with full(im) as c:
        assert c.post("/stacks", json={"assetIds": [a, b]}).status_code == 201
        assert ids(c, withStacked=False) == {c3}
        assert ids(c) == {a, b, c3}


def test_stacks_whose_primary_is_named_are_merged(im: FakeImmich) -> None:
    a, b, c3 = _three(im)
    with full(im) as c:
        first = c.post("/stacks", json={"assetIds": [a, b]}).json()
        merged = c.post("/stacks", json={"assetIds": [c3, a]}).json()
        listed = c.get("/stacks").json()
        old = c.get(f"/stacks/{first['id']}")
    assert merged["primaryAssetId"] == c3
    assert {x["id"] for x in merged["assets"]} == {a, b, c3}
    assert [s["id"] for s in listed] == [merged["id"]]
    assert old.status_code == 400


def test_a_stack_needs_two_known_assets(im: FakeImmich) -> None:
    a, _, _ = _three(im)
    with full(im) as c:
        one = c.post("/stacks", json={"assetIds": [a]})
        unknown = c.post("/stacks", json={"assetIds": [a, "00000000-0000-4000-8000-000000000000"]})
    assert one.status_code == 400
    assert unknown.status_code == 400
    assert unknown.json()["message"] == "Not found or no asset.update access"
    assert im.lib.stacks == {}


def test_a_new_primary_must_be_a_member_and_leaves_updated_at(im: FakeImmich) -> None:
    a, b, c3 = _three(im)
    with full(im) as c:
        stack = c.post("/stacks", json={"assetIds": [a, b]}).json()
        stamps = {i: _asset(c, i)["updatedAt"] for i in (a, b)}
        outsider = c.put(f"/stacks/{stack['id']}", json={"primaryAssetId": c3})
        moved = c.put(f"/stacks/{stack['id']}", json={"primaryAssetId": b})
        by_primary = c.get("/stacks", params={"primaryAssetId": b}).json()
        after = {i: _asset(c, i)["updatedAt"] for i in (a, b)}
    assert outsider.status_code == 400
    assert moved.status_code == 200 and moved.json()["primaryAssetId"] == b
    assert [s["id"] for s in by_primary] == [stack["id"]]
    assert after == stamps  # stack.repository update writes the stack row only


def test_deleting_a_stack_or_a_member_frees_the_assets(im: FakeImmich) -> None:
    a, b, c3 = _three(im)
    with full(im) as c:
        stack = c.post("/stacks", json={"assetIds": [a, b, c3]}).json()
        primary = c.delete(f"/stacks/{stack['id']}/assets/{a}")
        before = _asset(c, c3)["updatedAt"]
        removed = c.delete(f"/stacks/{stack['id']}/assets/{c3}")
        freed = _asset(c, c3)
        assert c.delete(f"/stacks/{stack['id']}").status_code == 204
        left = _asset(c, a)
        again = c.post("/stacks", json={"assetIds": [a, b]}).json()
        bulk = c.request("DELETE", "/stacks", json={"ids": [again["id"]]})
    assert primary.status_code == 400 and removed.status_code == 204
    assert freed["stack"] is None and freed["updatedAt"] > before
    assert left["stack"] is None and bulk.status_code == 204 and im.lib.stacks == {}


def test_purging_a_member_dissolves_a_stack_of_two(im: FakeImmich) -> None:
    a, b, _ = _three(im)
    user = ImmichUser(im)
    with full(im) as c:
        c.post("/stacks", json={"assetIds": [a, b]})
        user.purge(a)
        assert _asset(c, b)["stack"] is None


@pytest.mark.parametrize("route", [("POST", "/stacks", "stack.create"),
                                   ("GET", "/stacks", "stack.read"),
                                   ("POST", "/tags", "tag.create"),
                                   ("PUT", "/tags", "tag.create"),
                                   ("GET", "/tags", "tag.read"),
                                   ("PUT", "/tags/assets", "tag.asset")])
def test_stack_and_tag_routes_check_the_key_in_every_generation(
        im: FakeImmich, route: tuple[str, str, str]) -> None:
    method, path, permission = route
    with client(im, im.add_key(["asset.read"])) as c:
        answer = c.request(method, path, json={})
    assert answer.status_code == 403
    assert answer.json()["message"] == f"Missing required permission: {permission}"


# -- live photos -------------------------------------------------------------------------------


def test_linking_a_live_video_later_hides_it_and_null_shows_it_again(im: FakeImmich) -> None:
    user = ImmichUser(im)
    video = user.upload("IMG_1.mov", b"motion", taken=TAKEN)
    still = user.upload("IMG_1.heic", b"still", taken=TAKEN)
    album = user.create_album("Trip", (still,))
    with full(im) as c:
        linked = c.put(f"/assets/{still}", json={"livePhotoVideoId": video})
        assert linked.status_code == 200 and linked.json()["livePhotoVideoId"] == video
        assert _asset(c, video)["visibility"] == "hidden"
        assert ids(c, visibility="timeline") == {still}
        assert video in ids(c, visibility="hidden")
        added = c.put(f"/albums/{album}/assets", json={"ids": [video]}).json()
        shown = c.get(f"/albums/{album}").json()
        members = set().union(*(ids(c, albumIds=[album], visibility=v)
                                for v in EVERY_VISIBILITY))
        unlinked = c.put(f"/assets/{still}", json={"livePhotoVideoId": None}).json()
        visible = _asset(c, video)["visibility"]
    assert added == [{"id": video, "success": True}]
    assert shown["assetCount"] == 1 and video in members  # the album answer leaves it out
    if im.gen.album_has_assets:
        assert [x["id"] for x in shown["assets"]] == [still]
    assert unlinked["livePhotoVideoId"] is None and visible == "timeline"


def test_a_live_video_must_exist_and_be_a_video(im: FakeImmich) -> None:
    user = ImmichUser(im)
    photo = user.upload("IMG_2.jpg", b"another still", taken=TAKEN)
    still = user.upload("IMG_1.heic", b"still", taken=TAKEN)
    with full(im) as c:
        not_video = c.put(f"/assets/{still}", json={"livePhotoVideoId": photo})
        missing = c.put(f"/assets/{still}",
                        json={"livePhotoVideoId": "00000000-0000-4000-8000-000000000000"})
        upload = c.post("/assets", data=form("IMG_3.heic", livePhotoVideoId=photo),
                        files={"assetData": ("IMG_3.heic", b"third")})
        after = _asset(c, photo)
    assert not_video.status_code == 400 and missing.status_code == 400
    assert not_video.json()["message"] == "Live photo video must be a video"
    assert upload.status_code == 400 and len(im.lib.assets) == 2  # refused before creating
    assert after["visibility"] == "timeline"


def test_bulk_edits_ignore_live_photo_video_id(im: FakeImmich) -> None:
    user = ImmichUser(im)
    video = user.upload("IMG_1.mov", b"motion", taken=TAKEN)
    still = user.upload("IMG_1.heic", b"still", taken=TAKEN)
    with full(im) as c:
        answer = c.put("/assets", json={"ids": [still], "livePhotoVideoId": video,
                                        "isFavorite": True})
        after = _asset(c, still)
    assert answer.status_code == 204
    assert after["livePhotoVideoId"] is None and after["isFavorite"] is True


# -- XMP sidecars ------------------------------------------------------------------------------


XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'


def test_an_xmp_sidecar_travels_with_its_upload(im: FakeImmich) -> None:
    with full(im) as c:
        answer = c.post("/assets", data=form("IMG_1.jpg"),
                        files={"assetData": ("IMG_1.jpg", b"one"),
                               "sidecarData": ("IMG_1.jpg.xmp", XMP)})
        again = c.post("/assets", data=form("IMG_1.jpg"),
                       files={"assetData": ("IMG_1.jpg", b"one"),
                              "sidecarData": ("IMG_1.xmp", b"<other/>")})
    assert answer.status_code == 201 and again.status_code == 200
    assert im.sidecar_of(answer.json()["id"]) == XMP  # the duplicate's sidecar is dropped


def test_a_sidecar_must_be_named_xmp(im: FakeImmich) -> None:
    with full(im) as c:
        wrong = c.post("/assets", data=form("IMG_1.jpg"),
                       files={"assetData": ("IMG_1.jpg", b"one"),
                              "sidecarData": ("IMG_1.txt", XMP)})
        as_asset = c.post("/assets", data=form("x.xmp"), files={"assetData": ("x.xmp", XMP)})
    assert wrong.status_code == 400 and wrong.json()["message"] == "Unsupported file type IMG_1.txt"
    assert as_asset.status_code == 400
    assert as_asset.json()["message"] == "Unsupported file type x.xmp"
    assert im.lib.assets == {}


def test_a_filename_field_before_the_sidecar_is_the_name_judged(im: FakeImmich) -> None:
    with full(im) as c:  # httpx writes the form fields before the files
        answer = c.post("/assets", data=form("IMG_1.jpg", filename="IMG_1.jpg"),
                        files={"assetData": ("IMG_1.jpg", b"one"),
                               "sidecarData": ("IMG_1.jpg.xmp", XMP)})
    assert answer.status_code == 400
    assert answer.json()["message"] == "Unsupported file type IMG_1.jpg"


# -- tags --------------------------------------------------------------------------------------


def test_upserting_tags_makes_their_parents_once(im: FakeImmich) -> None:
    with full(im) as c:
        first = c.put("/tags", json={"tags": ["Travel/Italy", "Travel/Italy", "Family"]})
        second = c.put("/tags", json={"tags": ["Travel/Italy/", "Travel"]})
        every = c.get("/tags").json()
    assert first.status_code == 200
    italy, family = first.json()
    assert (italy["name"], italy["value"]) == ("Italy", "Travel/Italy")
    assert "parentId" not in family and family["value"] == "Family"
    travel = next(t for t in every if t["value"] == "Travel")
    assert italy["parentId"] == travel["id"]
    assert [t["id"] for t in second.json()] == [italy["id"], travel["id"]]
    assert sorted(t["value"] for t in every) == ["Family", "Travel", "Travel/Italy"]


def test_creating_a_tag_under_a_parent_and_twice(im: FakeImmich) -> None:
    with full(im) as c:
        parent = c.post("/tags", json={"name": "Travel"})
        child = c.post("/tags", json={"name": "Italy", "parentId": parent.json()["id"]})
        twice = c.post("/tags", json={"name": "Travel"})
    assert parent.status_code == 201 and child.json()["value"] == "Travel/Italy"
    assert twice.status_code == 400


def test_tagging_lists_tags_on_the_asset_and_leaves_updated_at(im: FakeImmich) -> None:
    a, b, _ = _three(im)
    im.lib.defer_metadata_jobs = True  # v3: tagging queues the jobs that bump updatedAt
    with full(im) as c:
        travel, family = c.put("/tags", json={"tags": ["Travel/Italy", "Family"]}).json()
        before = _asset(c, a)["updatedAt"]
        bulk = c.put("/tags/assets", json={"tagIds": [travel["id"], family["id"]],
                                           "assetIds": [a, b]})
        again = c.put("/tags/assets", json={"tagIds": [travel["id"]], "assetIds": [a]})
        one = c.put(f"/tags/{family['id']}/assets",
                    json={"ids": [a, "00000000-0000-4000-8000-000000000000"]})
        single = _asset(c, a)
        item = next(i for i in search(c)["items"] if i["id"] == a)
    assert bulk.json() == {"count": 4} and again.json() == {"count": 0}
    assert one.json() == [{"id": a, "success": False, "error": "duplicate"},
                          {"id": "00000000-0000-4000-8000-000000000000", "success": False,
                           "error": "no_permission"}]
    assert sorted(t["value"] for t in single["tags"]) == ["Family", "Travel/Italy"]
    assert single["updatedAt"] == before  # tag_asset rows only: the asset row is untouched
    # v3.1.0: the sidecar write and metadata job bump it a moment later (findings j)
    assert im.lib.run_pending_metadata_jobs() == (2 if im.gen.seen_live_v31 else 0)
    with full(im) as c:
        later = _asset(c, a)["updatedAt"]
    assert (later > before) == im.gen.seen_live_v31
    if im.gen.search_tags:  # v3.1.0 search items carry the tags
        assert sorted(t["value"] for t in item["tags"]) == ["Family", "Travel/Italy"]
    else:
        assert "tags" not in item


# -- edits -------------------------------------------------------------------------------------


def test_rating_range_by_generation(im: FakeImmich) -> None:
    a, _, _ = _three(im)
    v3 = im.gen.name == "v3"
    with full(im) as c:
        five = c.put(f"/assets/{a}", json={"rating": 5})
        six = c.put(f"/assets/{a}", json={"rating": 6})
        rejected = c.put(f"/assets/{a}", json={"rating": -1})
        cleared = c.put(f"/assets/{a}", json={"rating": None})
    assert five.status_code == 200 and five.json()["exifInfo"]["rating"] == 5
    assert six.status_code == 400
    assert rejected.status_code == (200 if v3 else 400)
    assert cleared.status_code == (200 if v3 else 400)


def test_latitude_and_longitude_go_together(im: FakeImmich) -> None:
    a, b, _ = _three(im)
    with full(im) as c:
        alone = c.put(f"/assets/{a}", json={"latitude": 45.4})
        bulk_alone = c.put("/assets", json={"ids": [a], "longitude": 12.3})
        both = c.put(f"/assets/{a}", json={"latitude": 45.4, "longitude": 12.3})
        bulk = c.put("/assets", json={"ids": [b], "latitude": -33.9, "longitude": 18.4,
                                      "description": "Cape", "rating": 3})
        edited = _asset(c, b)
    assert alone.status_code == 400 and bulk_alone.status_code == 400
    assert (both.json()["exifInfo"]["latitude"], both.json()["exifInfo"]["longitude"]) == (
        45.4, 12.3)
    assert bulk.status_code == 204
    exif = edited["exifInfo"]
    assert (exif["latitude"], exif["longitude"], exif["description"], exif["rating"]) == (
        -33.9, 18.4, "Cape", 3)


# -- v3.1.0 as seen live (immich-api.md §10) ----------------------------------------------------


def test_v3_search_without_visibility_lists_archive_and_hidden_too(v3: FakeImmich) -> None:
    user = ImmichUser(v3)
    shown = user.upload("A.jpg", b"a", taken=TAKEN)
    archived = user.upload("B.jpg", b"b", taken=TAKEN)
    user.archive(archived)
    still, video = user.upload_live(("L.heic", b"still"), ("L.mov", b"motion"), taken=TAKEN)
    locked = user.upload("S.jpg", b"s", taken=TAKEN)
    user.update(locked, visibility="locked")
    with full(v3) as c:
        assert ids(c) == {shown, archived, still, video}
        assert ids(c, visibility="timeline") == {shown, still}


def test_v3_errors_are_message_only_with_a_short_correlation_id(v3: FakeImmich) -> None:
    with client(v3, "not-a-key") as c:
        bad_key = c.get("/albums")
    with client(v3, v3.add_key(["asset.read"])) as c:
        refused = c.get("/albums")
    with full(v3) as c:
        invalid = c.post("/search/metadata", json={"page": "2"})
        missing = c.get("/assets/00000000-0000-4000-8000-000000000000/original")
    assert bad_key.json() == {"message": "Invalid API key"}
    assert refused.json() == {"message": "Missing required permission: album.read"}
    assert invalid.status_code == 400 and invalid.json()["message"] == "Validation failed"
    assert invalid.json()["errors"] and "x-immich-cid" not in invalid.headers
    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})
    assert len(missing.headers["x-correlation-id"]) == 8
