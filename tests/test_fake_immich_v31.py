"""The fake Immich's "v3" generation against a real v3.1.0 (``real/probe/findings.md``, Immich
probes f to k, "Differs from the facts file" 11 to 16; raw answers in ``real/probe/out/``): albums
without ``ownerId``, exif edits and tags whose ``updatedAt`` bump waits for the metadata job,
``withStacked``, the bulk upload check, tag answers, XMP sidecars read by the job, no
``nextCursor``. Each test names the probe it follows."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import httpx
import pytest

from ppsync.servers.immich.wire import parse_album
from tests.fake_immich import FakeImmich, ImmichUser
from tests.fake_immich.probe import TAKEN, b64, form, full, ids, search

# The keys of a real v3.1.0 album answer (out/i_album.json) and asset answers (out/k_sequence).
REAL_ALBUM_KEYS = {"albumName", "albumThumbnailAssetId", "albumUsers", "assetCount", "createdAt",
                   "description", "endDate", "hasSharedLink", "id", "isActivityEnabled",
                   "lastModifiedAssetTimestamp", "order", "shared", "startDate", "updatedAt"}
REAL_PUT_ASSET_KEYS = {
    "checksum", "createdAt", "duplicateId", "duration", "exifInfo", "fileCreatedAt",
    "fileModifiedAt", "hasMetadata", "height", "id", "isArchived", "isEdited", "isFavorite",
    "isOffline", "isTrashed", "libraryId", "livePhotoVideoId", "localDateTime",
    "originalFileName", "originalMimeType", "originalPath", "ownerId", "people", "resized",
    "thumbhash", "type", "updatedAt", "visibility", "width"}
REAL_GET_ASSET_KEYS = REAL_PUT_ASSET_KEYS | {"owner", "stack", "tags"}
# A search item (findings i): no exifInfo unless asked, no stack, but tags.
REAL_SEARCH_ITEM_KEYS = REAL_PUT_ASSET_KEYS - {"exifInfo"} | {"tags"}
# A JPEG whose EXIF time has no offset, as in probe k (2021-05-01 09:01, no zone).
NO_OFFSET = datetime(2021, 5, 1, 9, 1)
XMP = (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
       b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
       b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
       b'xmlns:dc="http://purl.org/dc/elements/1.1/">'
       b'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Title from XMP</rdf:li></rdf:Alt>'
       b'</dc:title><dc:description><rdf:Alt><rdf:li xml:lang="x-default">Description from XMP'
       b'</rdf:li></rdf:Alt></dc:description><dc:subject><rdf:Bag><rdf:li>harbour</rdf:li>'
       b'<rdf:li>boat</rdf:li><rdf:li>Travel/Italy</rdf:li></rdf:Bag></dc:subject>'
       b'</rdf:Description></rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>')


def _get(c: httpx.Client, asset_id: str) -> dict[str, Any]:
    answer = c.get(f"/assets/{asset_id}")
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _put(c: httpx.Client, asset_id: str, **body: Any) -> dict[str, Any]:
    answer = c.put(f"/assets/{asset_id}", json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _library(v3: FakeImmich) -> dict[str, str]:
    """Probe i's library: a stack of two JPEGs, a live photo (its video hidden), an album of
    the stack's two members and the still, then the video added too."""
    user = ImmichUser(v3)
    a = user.upload("IMG_A.jpg", b"a", taken=TAKEN)
    b = user.upload("IMG_B.jpg", b"b", taken=TAKEN)
    still, video = user.upload_live(("IMG_0500.heic", b"still"), ("IMG_0500.mov", b"motion"),
                                    taken=TAKEN)
    with full(v3) as c:
        assert c.post("/stacks", json={"assetIds": [a, b]}).status_code == 201
    album = user.create_album("Probe album", (a, b, still))
    return {"a": a, "b": b, "still": still, "video": video, "album": album}


# -- albums (probe i; differs 11) -----------------------------------------------------------------


def test_an_album_has_no_owner_id_no_assets_and_leaves_the_hidden_video_uncounted(
        v3: FakeImmich) -> None:
    got = _library(v3)
    with full(v3) as c:
        added = c.put(f"/albums/{got['album']}/assets", json={"ids": [got["video"], got["a"]]})
        one = c.get(f"/albums/{got['album']}", params={"withoutAssets": "false"}).json()
        listed = c.get("/albums").json()[0]
    assert added.json() == [{"id": got["video"], "success": True},
                            {"id": got["a"], "success": False, "error": "duplicate"}]
    assert set(one) == set(listed) == REAL_ALBUM_KEYS  # no assets, ownerId or owner
    assert one["assetCount"] == 3  # the hidden live video is a member but not counted
    owner = [u for u in one["albumUsers"] if u["role"] == "owner"]
    assert [u["user"]["id"] for u in owner] == [v3.auth.user_id]
    assert one["createdAt"].endswith("Z") and one["startDate"].endswith("T00:00:00.000Z")
    # the adapter reads such an album all the same (it never needed ownerId)
    assert parse_album(one).asset_count == 3 and parse_album(one).name == "Probe album"


def test_a_member_search_lists_every_member_the_hidden_video_too(v3: FakeImmich) -> None:
    got = _library(v3)
    user = ImmichUser(v3)
    user.add_to_album(got["album"], got["video"])
    with full(v3) as c:
        members = ids(c, albumIds=[got["album"]])
        unstacked = ids(c, albumIds=[got["album"]], withStacked=False)
        hidden = ids(c, albumIds=[got["album"]], visibility="hidden")
    assert members == {got["a"], got["b"], got["still"], got["video"]}
    assert unstacked == {got["still"], got["video"]}
    assert hidden == {got["video"]}


# -- search (probe i; differs 14; immich-api.md §10) ----------------------------------------------


def test_with_stacked_true_collapses_nothing_and_false_drops_every_stacked_asset(
        v3: FakeImmich) -> None:
    got = _library(v3)
    everything = {got["a"], got["b"], got["still"], got["video"]}
    with full(v3) as c:
        assert ids(c) == ids(c, withStacked=True) == everything
        assert ids(c, withStacked=False) == {got["still"], got["video"]}
        item = search(c, withExif=True)["items"][0]
    assert "stack" not in item and "exifInfo" in item  # withExif asked; stack never


def test_search_answers_have_no_next_cursor_and_the_real_item_keys(v3: FakeImmich) -> None:
    ImmichUser(v3).seed(3)
    with full(v3) as c:
        page = search(c, size=2)
    assert page["nextPage"] == "2" and "nextCursor" not in page
    assert set(page["items"][0]) == REAL_SEARCH_ITEM_KEYS


def test_a_tag_search_finds_the_tag_and_the_tags_below_it(v3: FakeImmich) -> None:
    user = ImmichUser(v3)
    italy, boat, bare = (user.upload(f"IMG_{n}.jpg", f"{n}".encode(), taken=TAKEN)
                         for n in range(3))
    with full(v3) as c:
        t_italy, t_boat = c.put("/tags", json={"tags": ["Travel/Italy", "boat"]}).json()
        travel = next(t for t in c.get("/tags").json() if t["value"] == "Travel")
        c.put("/tags/assets", json={"tagIds": [t_italy["id"]], "assetIds": [italy, boat]})
        c.put("/tags/assets", json={"tagIds": [t_boat["id"]], "assetIds": [boat]})
        assert ids(c, tagIds=[travel["id"]]) == {italy, boat}
        assert ids(c, tagIds=[t_italy["id"], t_boat["id"]]) == {boat}
        assert ids(c, tagIds=None) == {bare}


# -- the bulk upload check (probe h; differs 16) --------------------------------------------------


def test_the_bulk_check_lives_under_assets_and_finds_the_hidden_video(v3: FakeImmich) -> None:
    got = _library(v3)
    with full(v3) as c:
        wrong = c.post("/bulk-upload-check", json={"assets": [{"id": "x", "checksum": "0"}]})
        empty = c.post("/assets/bulk-upload-check", json={"assets": []})
        found = c.post("/assets/bulk-upload-check", json={"assets": [
            {"id": "mine-1", "checksum": b64(b"motion")},
            {"id": "mine-2", "checksum": hashlib.sha1(b"motion").hexdigest()},
            {"id": "new", "checksum": "0" * 40}]})
    assert wrong.status_code == 404
    assert wrong.json() == {"message": "Cannot POST /api/bulk-upload-check"}
    assert empty.status_code == 500 and empty.json() == {"message": "Failed to check bulk upload"}
    duplicate = {"action": "reject", "reason": "duplicate", "assetId": got["video"],
                 "isTrashed": False}
    assert found.json() == {"results": [{"id": "mine-1", **duplicate},
                                        {"id": "mine-2", **duplicate},
                                        {"id": "new", "action": "accept"}]}


# -- live photos (probe f) -----------------------------------------------------------------------


def test_linking_and_unlinking_a_live_video_bumps_both_at_once(v3: FakeImmich) -> None:
    user = ImmichUser(v3)
    video = user.upload("IMG_0500.mov", b"motion", taken=TAKEN, duration_ms=2000)
    still = user.upload("IMG_0500.heic", b"still", taken=TAKEN)
    with full(v3) as c:
        before = {i: _get(c, i)["updatedAt"] for i in (still, video)}
        linked = _put(c, still, livePhotoVideoId=video)
        hidden = _get(c, video)
        unlinked = _put(c, still, livePhotoVideoId=None)
        shown = _get(c, video)
    assert linked["livePhotoVideoId"] == video and linked["updatedAt"] > before[still]
    assert hidden["visibility"] == "hidden" and hidden["updatedAt"] > before[video]
    assert hidden["duration"] == 2000  # milliseconds, a number
    assert unlinked["livePhotoVideoId"] is None and unlinked["updatedAt"] > linked["updatedAt"]
    assert shown["visibility"] == "timeline" and shown["updatedAt"] > hidden["updatedAt"]


# -- exif edits (probe k; differs 12, 13) ---------------------------------------------------------


def test_a_location_waits_for_the_job_which_moves_the_local_time_into_its_zone(
        v3: FakeImmich) -> None:
    asset = ImmichUser(v3).upload("IMG_0601.jpg", b"navy", taken=NO_OFFSET)
    v3.lib.defer_metadata_jobs = True
    with full(v3) as c:
        before = _get(c, asset)
        answer = _put(c, asset, latitude=52.5, longitude=13.4)
        at_once = _get(c, asset)
        assert v3.lib.run_pending_metadata_jobs() == 1
        later = _get(c, asset)
    assert before["exifInfo"]["timeZone"] is None
    assert before["localDateTime"] == before["fileCreatedAt"] == "2021-05-01T09:01:00.000Z"
    assert before["exifInfo"]["dateTimeOriginal"] == "2021-05-01T09:01:00+00:00"
    assert set(answer) == REAL_PUT_ASSET_KEYS and set(at_once) == REAL_GET_ASSET_KEYS
    assert (answer["exifInfo"]["latitude"], answer["exifInfo"]["longitude"]) == (52.5, 13.4)
    assert answer["exifInfo"]["timeZone"] is None and answer["exifInfo"]["city"] is None
    assert answer["updatedAt"] == at_once["updatedAt"] == before["updatedAt"]
    exif = later["exifInfo"]
    assert (exif["city"], exif["state"], exif["country"]) == ("Berlin", "Berlin", "Germany")
    assert exif["timeZone"] == "Europe/Berlin"
    assert later["fileCreatedAt"] == "2021-05-01T09:01:00.000Z"  # the instant is kept
    assert later["localDateTime"] == "2021-05-01T11:01:00.000Z"  # the wall clock in Berlin
    assert later["updatedAt"] > before["updatedAt"]


def test_a_date_with_an_offset_shows_its_fixed_zone_until_the_gps_zone_wins(
        v3: FakeImmich) -> None:
    asset = ImmichUser(v3).upload("IMG_0601.jpg", b"navy", taken=NO_OFFSET,
                                  latitude=52.5, longitude=13.4)
    v3.lib.defer_metadata_jobs = True
    with full(v3) as c:
        before = _get(c, asset)
        answer = _put(c, asset, dateTimeOriginal="2019-03-02T18:30:00+01:00")
        v3.lib.run_pending_metadata_jobs()
        later = _get(c, asset)
        naive = _put(c, asset, dateTimeOriginal="2019-03-02T18:30:00")
        v3.lib.run_pending_metadata_jobs()
        naive_later = _get(c, asset)
    assert answer["exifInfo"]["dateTimeOriginal"] == "2019-03-02T17:30:00+00:00"
    assert answer["exifInfo"]["timeZone"] == "UTC+1"
    assert answer["fileCreatedAt"] == before["fileCreatedAt"]  # the job moves the dates
    assert answer["localDateTime"] == before["localDateTime"]
    assert answer["updatedAt"] == before["updatedAt"]
    assert later["fileCreatedAt"] == "2019-03-02T17:30:00.000Z"
    assert later["localDateTime"] == "2019-03-02T18:30:00.000Z"
    assert later["exifInfo"]["timeZone"] == "Europe/Berlin" and later["updatedAt"] > answer[
        "updatedAt"]
    # without an offset: taken as UTC, the zone left as it was until the job
    assert naive["exifInfo"]["dateTimeOriginal"] == "2019-03-02T18:30:00+00:00"
    assert naive["exifInfo"]["timeZone"] == "Europe/Berlin"
    assert naive_later["fileCreatedAt"] == "2019-03-02T18:30:00.000Z"
    assert naive_later["localDateTime"] == "2019-03-02T19:30:00.000Z"


def test_without_gps_the_offset_given_stays_the_zone(v3: FakeImmich) -> None:
    asset = ImmichUser(v3).upload("IMG_1.jpg", b"one", taken=NO_OFFSET)
    with full(v3) as c:  # jobs not deferred: the job runs right after the answer
        _put(c, asset, dateTimeOriginal="2019-03-02T18:30:00+01:00")
        later = _get(c, asset)
    assert later["exifInfo"]["timeZone"] == "UTC+1"
    assert later["localDateTime"] == "2019-03-02T18:30:00.000Z"


@pytest.mark.parametrize(("body", "bumped_at_once"), [
    ({"rating": 4}, False), ({"description": "Hand caption"}, False),
    ({"description": "Hand caption", "isFavorite": True}, True), ({"isFavorite": True}, True),
    ({"visibility": "archive"}, True)])
def test_only_the_asset_row_bumps_updated_at_in_the_answer(
        v3: FakeImmich, body: dict[str, Any], bumped_at_once: bool) -> None:
    """``updateExif`` writes the exif row and queues the jobs; ``isFavorite``/``visibility``
    update the asset row (asset.service.ts ``update``; probe k saw description and favourite
    together bump at once)."""
    asset = ImmichUser(v3).upload("IMG_1.jpg", b"one", taken=NO_OFFSET)
    v3.lib.defer_metadata_jobs = True
    with full(v3) as c:
        before = _get(c, asset)["updatedAt"]
        answer = _put(c, asset, **body)
        jobs = v3.lib.run_pending_metadata_jobs()
        later = _get(c, asset)
    assert (answer["updatedAt"] > before) == bumped_at_once
    exif_edit = bool({"rating", "description"} & set(body))
    assert jobs == int(exif_edit)
    assert later["updatedAt"] > before
    if "description" in body:  # an edit is locked: the job keeps it
        assert later["exifInfo"]["description"] == "Hand caption"
    if "rating" in body:
        assert later["exifInfo"]["rating"] == 4


def test_the_bulk_edit_queues_the_jobs_too(v3: FakeImmich) -> None:
    asset = ImmichUser(v3).upload("IMG_1.jpg", b"one", taken=NO_OFFSET)
    v3.lib.defer_metadata_jobs = True
    with full(v3) as c:
        before = _get(c, asset)["updatedAt"]
        assert c.put("/assets", json={"ids": [asset], "rating": 3}).status_code == 204
        at_once = _get(c, asset)
        v3.lib.run_pending_metadata_jobs()
        later = _get(c, asset)
    assert at_once["exifInfo"]["rating"] == 3 and at_once["updatedAt"] == before
    assert later["updatedAt"] > before and later["exifInfo"]["rating"] == 3


@pytest.mark.parametrize(("body", "error"), [
    ({"latitude": 52.5}, {"code": "custom", "path": [],
                          "message": "Latitude and longitude must be provided together"}),
    ({"rating": 6}, {"origin": "number", "code": "too_big", "maximum": 5, "inclusive": True,
                     "path": ["rating"], "message": "Too big: expected number to be <=5"}),
    ({"rating": 0}, {"code": "custom", "path": ["rating"], "message": "Rating must be -1 "
                     "(rejected), 1\u20135 (starred), or null (unrated); 0 is not valid"})])
def test_edit_validation_errors_are_zod_issues(v3: FakeImmich, body: dict[str, Any],
                                               error: dict[str, Any]) -> None:
    asset = ImmichUser(v3).upload("IMG_1.jpg", b"one", taken=NO_OFFSET)
    with full(v3) as c:
        answer = c.put(f"/assets/{asset}", json=body)
    assert answer.status_code == 400
    assert answer.json() == {"message": "Validation failed", "errors": [error]}


# -- tags (probe j; differs 15) -------------------------------------------------------------------


def test_upserting_tags_answers_only_the_tags_asked_for(v3: FakeImmich) -> None:
    with full(v3) as c:
        answer = c.put("/tags", json={"tags": ["Travel/Italy", "boat", "New/Nested/Deep"]})
        again = c.put("/tags", json={"tags": ["boat"]})
        every = c.get("/tags").json()
    assert answer.status_code == 200
    tags = answer.json()
    assert [(t["name"], t["value"]) for t in tags] == [
        ("Italy", "Travel/Italy"), ("boat", "boat"), ("Deep", "New/Nested/Deep")]
    assert all(t["assetCount"] == 0 for t in tags) and "parentId" not in tags[1]
    assert again.json()[0]["id"] == tags[1]["id"]  # an existing tag is answered, not made again
    assert [t["value"] for t in every] == ["New", "New/Nested", "New/Nested/Deep", "Travel",
                                          "Travel/Italy", "boat"]
    assert tags[0]["createdAt"].endswith("+00:00") and len(tags[0]["createdAt"]) == 32


def test_tagging_counts_new_pairs_and_bumps_updated_at_only_with_the_job(
        v3: FakeImmich) -> None:
    user = ImmichUser(v3)
    still = user.upload("IMG_1.jpg", b"one", taken=TAKEN)
    other = user.upload("IMG_2.jpg", b"two", taken=TAKEN)
    v3.lib.defer_metadata_jobs = True
    with full(v3) as c:
        t1, t2, t3 = c.put("/tags", json={"tags": ["Travel/Italy", "boat", "Deep"]}).json()
        before = _get(c, still)["updatedAt"]
        bulk = c.put("/tags/assets", json={"tagIds": [t1["id"], t2["id"]], "assetIds": [still]})
        repeat = c.put("/tags/assets", json={"tagIds": [t1["id"], t2["id"]],
                                             "assetIds": [still]})
        at_once = _get(c, still)
        assert v3.lib.run_pending_metadata_jobs() == 1
        bumped = _get(c, still)
        per_tag = c.put(f"/tags/{t3['id']}/assets", json={"ids": [still]})
        per_tag_again = c.put(f"/tags/{t3['id']}/assets", json={"ids": [still]})
        c.put("/tags/assets", json={"tagIds": [t1["id"]], "assetIds": [other]})
        v3.lib.run_pending_metadata_jobs()
        untag = c.request("DELETE", f"/tags/{t3['id']}/assets", json={"ids": [still]})
        untag_again = c.request("DELETE", f"/tags/{t3['id']}/assets", json={"ids": [still]})
        before_untag_job = _get(c, still)
        v3.lib.run_pending_metadata_jobs()
        untagged = _get(c, still)
        counted = {t["value"]: t["assetCount"] for t in c.get("/tags").json()}
    assert bulk.json() == {"count": 2} and repeat.json() == {"count": 0}
    assert at_once["updatedAt"] == before and bumped["updatedAt"] > before
    assert [t["assetCount"] for t in at_once["tags"]] == [0, 0]  # 0 inside an asset
    assert per_tag.json() == [{"id": still, "success": True}]
    assert per_tag_again.json() == [{"id": still, "success": False, "error": "duplicate"}]
    assert untag.json() == [{"id": still, "success": True}]
    assert untag_again.json() == [{"id": still, "success": False, "error": "not_found"}]
    assert untagged["updatedAt"] > before_untag_job["updatedAt"]
    assert [t["value"] for t in untagged["tags"]] == ["Travel/Italy", "boat"]
    assert counted["Travel/Italy"] == 2 and counted["boat"] == 1 and counted["Deep"] == 0


# -- XMP sidecars (probe g) -----------------------------------------------------------------------


def test_the_job_reads_the_sidecars_description_and_subjects_not_its_title(
        v3: FakeImmich) -> None:
    v3.lib.defer_metadata_jobs = True
    with full(v3) as c:
        answer = c.post("/assets", data=form("IMG_0600.jpg"),
                        files={"assetData": ("IMG_0600.jpg", b"teal"),
                               "sidecarData": ("IMG_0600.xmp", XMP)})
        asset = answer.json()["id"]
        before = _get(c, asset)
        v3.lib.run_pending_metadata_jobs()
        after = _get(c, asset)
        every = {t["value"]: t for t in c.get("/tags").json()}
    assert answer.status_code == 201
    assert before["exifInfo"]["description"] is None and before["tags"] == []
    assert after["exifInfo"]["description"] == "Description from XMP"
    assert "Title from XMP" not in str(after)
    assert sorted(t["value"] for t in after["tags"]) == ["Travel/Italy", "boat", "harbour"]
    italy = next(t for t in after["tags"] if t["value"] == "Travel/Italy")
    assert italy["name"] == "Italy" and italy["parentId"] == every["Travel"]["id"]
    assert italy["assetCount"] == 0 and every["Travel/Italy"]["assetCount"] == 1


def test_an_edit_wins_over_the_sidecar_when_the_job_runs_again(v3: FakeImmich) -> None:
    with full(v3) as c:
        asset = c.post("/assets", data=form("IMG_0600.jpg"),
                       files={"assetData": ("IMG_0600.jpg", b"teal"),
                              "sidecarData": ("IMG_0600.jpg.xmp", XMP)}).json()["id"]
        _put(c, asset, description="Hand caption")
        later = _get(c, asset)
    assert later["exifInfo"]["description"] == "Hand caption"
    assert sorted(t["value"] for t in later["tags"]) == ["Travel/Italy", "boat", "harbour"]
