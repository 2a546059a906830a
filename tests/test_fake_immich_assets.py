"""The fake Immich's assets pinned to ``shared/immich-api.md``: the asset object, listing
with ``POST /search/metadata``, downloads and uploads, per generation."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from tests.fake_immich import FakeImmich, ImmichUser
from tests.fake_immich.probe import TAKEN, b64, form, full, ids, search

# -- 3. the asset object -----------------------------------------------------------------------


def test_asset_object_checksum_dates_and_exif(im: FakeImmich) -> None:
    body = b"the original bytes"
    asset = ImmichUser(im).upload(
        "IMG_1234.HEIC", body, taken=TAKEN, make="Apple", model="iPhone 15", lens_model="Main",
        latitude=52.5, longitude=13.4, city="Berlin", state="Berlin", country="Germany",
        description="sunset", rating=4, people=("Ann", "Ben"))
    with full(im) as c:
        plain = search(c)["items"][0]
        item = search(c, withExif=True)["items"][0]
        single = c.get(f"/assets/{asset}").json()
        downloaded = c.get(f"/assets/{asset}/original").content
    assert "exifInfo" not in plain and single["exifInfo"] == item["exifInfo"]
    assert item["id"] == asset and item["type"] == "IMAGE"
    assert item["originalFileName"] == "IMG_1234.HEIC"
    assert item["originalPath"].startswith("/data/library/")
    assert len(item["checksum"]) == 28 and item["checksum"] == b64(body) == b64(downloaded)
    assert base64.b64decode(item["checksum"]).hex() == hashlib.sha1(body).hexdigest()
    assert item["fileCreatedAt"] == "2024-05-17T19:30:00.000Z"  # UTC
    assert item["localDateTime"] == "2024-05-17T21:30:00.000Z"  # wall clock, written as UTC
    exif = item["exifInfo"]
    # v3.1.0: the zone of the GPS position wins over the offset (findings k)
    zone = "Europe/Berlin" if im.gen.seen_live_v31 else "UTC+2"
    assert exif["timeZone"] == zone and exif["fileSizeInByte"] == len(body)
    assert (exif["make"], exif["model"], exif["lensModel"]) == ("Apple", "iPhone 15", "Main")
    assert (exif["latitude"], exif["longitude"]) == (52.5, 13.4)
    assert (exif["city"], exif["state"], exif["country"]) == ("Berlin", "Berlin", "Germany")
    assert (exif["description"], exif["rating"]) == ("sunset", 4)
    assert [p["name"] for p in item["people"]] == ["Ann", "Ben"]
    assert item["visibility"] == "timeline" and item["isArchived"] is False
    assert item["isTrashed"] is False and item["livePhotoVideoId"] is None


def test_asset_fields_differ_by_generation(im: FakeImmich) -> None:
    user = ImmichUser(im)
    user.upload("IMG_1.jpg", b"photo", taken=TAKEN)
    user.upload("MOV_1.mp4", b"video", taken=TAKEN + timedelta(minutes=1))
    with full(im) as c:
        video, photo = search(c)["items"]
    v3 = im.gen.name == "v3"
    assert (video["duration"], photo["duration"]) == (
        (4000, None) if v3 else ("0:00:04.00000", "0:00:00.00000"))
    assert ("deviceAssetId" in photo, "deviceId" in photo) == (not v3, not v3)
    newer = im.gen.name != "v1.135"
    assert all((f in photo) == newer for f in ("createdAt", "width", "height", "isEdited"))


def test_the_metadata_job_bumps_updated_at_after_the_upload(v2: FakeImmich) -> None:
    ImmichUser(v2).upload("IMG_1.jpg", b"one", taken=TAKEN)
    with full(v2) as c:
        item = search(c)["items"][0]
    assert item["updatedAt"] > item["createdAt"]


def test_without_exif_date_the_file_mtime_is_the_taken_time(im: FakeImmich) -> None:
    with full(im) as c:
        c.post("/assets", data=form(fileModifiedAt="2019-03-04T05:06:07.000Z"),
               files={"assetData": ("IMG_9.jpg", b"nine")})
        item = search(c, withExif=True)["items"][0]
    assert item["fileCreatedAt"] == item["localDateTime"] == "2019-03-04T05:06:07.000Z"
    assert item["exifInfo"]["timeZone"] is None


# -- 4. listing --------------------------------------------------------------------------------


def test_paging_next_page_is_a_string_and_total_counts_the_page(im: FakeImmich) -> None:
    ImmichUser(im).seed(5)
    with full(im) as c:
        first = search(c, size=2)
        last = search(c, size=2, page=3)
        default = search(c)
        too_big = c.post("/search/metadata", json={"size": 1001})
        zero = c.post("/search/metadata", json={"page": 0})
    assert first["nextPage"] == "2" and last["nextPage"] is None
    assert first["count"] == 2 and len(last["items"]) == 1
    assert first["total"] == (5 if im.gen.name == "v3" else 2)
    assert default["count"] == 5
    assert too_big.status_code == 400 and zero.status_code == 400
    assert "nextCursor" not in first  # v3.1.0 has none (immich-api.md §10)


def test_default_page_size_is_250(v1: FakeImmich) -> None:
    ImmichUser(v1).seed(251)
    with full(v1) as c:
        page = search(c)
    assert page["count"] == 250 and page["nextPage"] == "2"


def test_order_is_by_file_created_at_newest_first_unless_asc(im: FakeImmich) -> None:
    user = ImmichUser(im)
    old = user.upload("OLD.jpg", b"old", taken=TAKEN - timedelta(days=9))
    new = user.upload("NEW.jpg", b"new", taken=TAKEN)
    with full(im) as c:
        assert [a["id"] for a in search(c)["items"]] == [new, old]
        assert [a["id"] for a in search(c, order="asc")["items"]] == [old, new]


def test_offset_paging_shifts_rows_when_an_upload_lands_mid_walk(v2: FakeImmich) -> None:
    user = ImmichUser(v2)
    user.seed(4)
    with full(v2) as c:
        first = search(c, size=2)
        user.upload("NEWEST.jpg", b"newest", taken=datetime.now(UTC))  # lands on page 1
        second = search(c, size=2, page=2)
    seen = [a["id"] for a in first["items"] + second["items"]]
    assert len(seen) == 4 and len(set(seen)) == 3  # a row seen twice: dedupe by id


def test_every_search_sees_the_library_as_it_is_now(v2: FakeImmich) -> None:
    """The fake keeps sorted views and built asset answers between searches; every change,
    through the API or set on an asset directly, shows in the very next search."""
    user = ImmichUser(v2)
    a, b, c_ = user.seed(3)
    with full(v2) as c:
        assert ids(c) == {a, b, c_}  # warms the views and the answers
        user.trash(a)
        assert ids(c) == {b, c_} and ids(c, withDeleted=True) == {a, b, c_}
        user.archive(b)
        assert ids(c) == {c_} and ids(c, visibility="archive") == {b}
        v2.lib.assets[c_].visibility = "hidden"  # as the upload of a live photo's video does
        assert ids(c) == set() and ids(c, visibility="hidden") == {c_}
        user.describe(b, "now described")
        user.replace(b, b"new bytes")
        item = search(c, visibility="archive", withExif=True)["items"][0]
        assert item["exifInfo"]["description"] == "now described"
        assert item["checksum"] == b64(b"new bytes")
        assert item["exifInfo"]["fileSizeInByte"] == len(b"new bytes")
        user.purge(b)
        assert ids(c, visibility="archive") == set()
        with v2.lib.lock:
            del v2.lib.assets[c_]
        assert ids(c, visibility="hidden") == set()


def test_a_cursor_is_ignored_and_no_generation_answers_next_cursor(im: FakeImmich) -> None:
    """v3.1.0 answers no ``nextCursor`` (immich-api.md §10): paging is by page number."""
    ImmichUser(im).seed(3)
    with full(im) as c:
        ignored = search(c, size=2, cursor="anything")
    assert ignored["count"] == 2 and ignored["nextPage"] == "2" and "nextCursor" not in ignored


def test_default_filters_hide_archived_hidden_and_trashed(im: FakeImmich) -> None:
    user = ImmichUser(im)
    shown = user.upload("A.jpg", b"a", taken=TAKEN)
    archived = user.upload("B.jpg", b"b", taken=TAKEN)
    user.archive(archived)
    still, video = user.upload_live(("L.heic", b"still"), ("L.mov", b"motion"), taken=TAKEN)
    trashed = user.upload("T.jpg", b"t", taken=TAKEN)
    user.trash(trashed)
    with full(im) as c:
        # v3.1.0 lists timeline, archive and hidden without a visibility (immich-api.md §10)
        assert ids(c) == ({shown, still, archived, video} if im.gen.seen_live_v31
                          else {shown, still})
        assert ids(c, visibility="timeline") == {shown, still}
        assert ids(c, visibility="archive") == {archived}
        assert ids(c, visibility="hidden") == {video}
        assert ids(c, visibility="timeline", withDeleted=True) == {shown, still, trashed}
        assert ids(c, visibility="archive", withDeleted=True) == {archived}
        items = search(c, size=1000)["items"]
    assert next(a for a in items if a["id"] == still)["livePhotoVideoId"] == video


def test_locked_assets_are_never_listed(v2: FakeImmich) -> None:
    user = ImmichUser(v2)
    locked = user.upload("SECRET.jpg", b"s", taken=TAKEN)
    user.update(locked, visibility="locked")
    with full(v2) as c:
        assert all(locked not in ids(c, visibility=v) for v in ("timeline", "archive", "hidden"))
        assert c.post("/search/metadata", json={"visibility": "locked"}).status_code == 401


def test_updated_after_is_the_change_feed(im: FakeImmich) -> None:
    user = ImmichUser(im)
    untouched = user.upload("F.jpg", b"f", taken=TAKEN)
    a, b, c_, d, e = (user.upload(f"{n}.jpg", n.encode(), taken=TAKEN) for n in "ABCDE")
    user.trash(e)
    with full(im) as c:
        since = max(x["updatedAt"] for x in search(c, size=1000, withDeleted=True)["items"])
        assert ids(c, updatedAfter=since, withDeleted=True) == {e}  # >=, not >
        user.favourite(a)
        user.describe(b, "new caption")
        user.replace(c_, b"c2")
        user.trash(d)
        user.restore(e)
        changed = ids(c, updatedAfter=since, withDeleted=True)
        assert changed == {a, b, c_, d, e} and untouched not in changed
        assert ids(c, updatedAfter=since) == {a, b, c_, e}  # trashed d only withDeleted
        user.purge(d)
        assert d not in ids(c, updatedAfter=since, withDeleted=True)  # purges show nowhere
        bad = c.post("/search/metadata", json={"updatedAfter": "yesterday"})
    assert bad.status_code == 400
    problem = bad.json()
    messages = [e["message"] for e in problem["errors"]] if im.gen.seen_live_v31 \
        else problem["message"]
    assert messages == ["updatedAfter must be a date string"]


def test_search_by_checksum_in_base64_or_hex_and_by_album(im: FakeImmich) -> None:
    user = ImmichUser(im)
    a = user.upload("A.jpg", b"a", taken=TAKEN)
    user.upload("B.jpg", b"b", taken=TAKEN)
    album = user.create_album("Trip", (a,))
    with full(im) as c:
        assert ids(c, checksum=b64(b"a")) == {a}
        assert ids(c, checksum=hashlib.sha1(b"a").hexdigest()) == {a}
        assert ids(c, albumIds=[album]) == {a}


# -- 5. downloads ------------------------------------------------------------------------------


def test_download_headers_range_etag_and_missing_asset(im: FakeImmich) -> None:
    body = bytes(range(256)) * 40
    asset = ImmichUser(im).upload("IMG ä.jpg", body, taken=TAKEN)
    with full(im) as c:
        whole = c.get(f"/assets/{asset}/original")
        item = c.get(f"/assets/{asset}").json()
        part = c.get(f"/assets/{asset}/original", headers={"Range": "bytes=1000-"})
        same = c.get(f"/assets/{asset}/original",
                     headers={"If-None-Match": whole.headers["etag"]})
        beyond = c.get(f"/assets/{asset}/original", headers={"Range": f"bytes={len(body)}-"})
        stale = c.get(f"/assets/{asset}/original",
                      headers={"Range": "bytes=1000-", "If-Range": 'W/"other"'})
        fresh = c.get(f"/assets/{asset}/original",
                      headers={"Range": "bytes=1000-", "If-Range": whole.headers["etag"]})
        head = c.head(f"/assets/{asset}/original")
        missing = c.get("/assets/00000000-0000-4000-8000-000000000000/original")
        missing_info = c.get("/assets/00000000-0000-4000-8000-000000000000")
    assert whole.status_code == 200 and whole.content == body
    h = whole.headers
    assert h["content-type"] == "image/jpeg" and h["content-length"] == str(len(body))
    assert h["accept-ranges"] == "bytes" and h["etag"].startswith('W/"')
    assert parsedate_to_datetime(h["last-modified"]) == datetime.fromisoformat(
        item["fileModifiedAt"].replace("Z", "+00:00")).replace(microsecond=0)
    if im.gen.name == "v1.135":
        assert "content-disposition" not in h and "cache-control" not in h
    else:
        assert h["content-disposition"] == "inline; filename*=UTF-8''IMG%20%C3%A4.jpg"
        assert h["cache-control"].startswith("private, max-age=86400")
    assert part.status_code == 206 and part.content == body[1000:]
    assert part.headers["content-range"] == f"bytes 1000-{len(body) - 1}/{len(body)}"
    assert same.status_code == 304 and same.content == b""
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(body)}"
    assert stale.status_code == 200 and stale.content == body  # changed since: whole file
    assert fresh.status_code == 206
    assert head.status_code == 200 and head.headers["content-length"] == str(len(body))
    assert (missing.status_code, missing.json()["message"]) == (
        (404, "Not Found") if im.gen.seen_live_v31 else  # v3.1.0 (immich-api.md §10)
        (400, "Not found or no asset.download access"))
    assert (missing_info.status_code, missing_info.json()["message"]) == (
        400, "Not found or no asset.read access")


def test_trashed_assets_still_download_and_v2_accepts_edited(v2: FakeImmich) -> None:
    user = ImmichUser(v2)
    asset = user.upload("IMG_1.jpg", b"one", taken=TAKEN)
    user.trash(asset)
    with full(v2) as c:
        assert c.get(f"/assets/{asset}/original").content == b"one"
        assert c.get(f"/assets/{asset}/original", params={"edited": "true"}).status_code == 200


def test_a_replaced_original_keeps_its_id_and_gets_a_new_checksum(im: FakeImmich) -> None:
    user = ImmichUser(im)
    asset = user.upload("IMG_1.jpg", b"first", taken=TAKEN)
    with full(im) as c:
        before = search(c, withExif=True)["items"][0]
        user.replace(asset, b"second version")
        after = search(c, withExif=True, updatedAfter=before["updatedAt"])["items"][0]
        body = c.get(f"/assets/{asset}/original").content
    assert after["id"] == asset and after["updatedAt"] > before["updatedAt"]
    assert after["checksum"] == b64(b"second version") != before["checksum"]
    assert after["exifInfo"]["fileSizeInByte"] == len(b"second version")
    assert body == b"second version"


# -- 6. uploads --------------------------------------------------------------------------------


def test_upload_201_created_then_200_duplicate(im: FakeImmich) -> None:
    with full(im) as c:
        made = c.post("/assets", data=form(), files={"assetData": ("IMG_9.jpg", b"nine")})
        again = c.post("/assets", data=form("other.jpg"),
                       files={"assetData": ("other.jpg", b"nine")})
        wrong_type = c.post("/assets", data=form(), files={"assetData": ("notes.txt", b"n")})
        listed = search(c)["items"]
    assert made.status_code == 201 and made.json()["status"] == "created"
    assert again.status_code == 200
    assert again.json() == {"id": made.json()["id"], "status": "duplicate"}
    assert wrong_type.status_code == 400
    assert wrong_type.json()["message"] == "Unsupported file type notes.txt"
    assert [a["originalFileName"] for a in listed] == ["IMG_9.jpg"]


@pytest.mark.parametrize("generation", ["v1.135", "v2.5"])
def test_v1_and_v2_require_the_device_fields(generation: str) -> None:
    with FakeImmich(generation=generation) as fake, full(fake) as c:
        stamp = "2024-01-01T00:00:00.000Z"
        refused = c.post("/assets", data={"fileCreatedAt": stamp, "fileModifiedAt": stamp},
                         files={"assetData": ("IMG_9.jpg", b"nine")})
        no_dates = c.post("/assets", data={"deviceAssetId": "a", "deviceId": "b"},
                          files={"assetData": ("IMG_9.jpg", b"nine")})
        unknown_field = c.post("/assets", data=form(extra="x"),
                               files={"assetData": ("IMG_9.jpg", b"nine")})
    assert refused.status_code == 400
    assert refused.json()["message"] == [
        "deviceAssetId must be a string", "deviceAssetId should not be empty",
        "deviceId must be a string", "deviceId should not be empty"]
    assert no_dates.status_code == 400
    assert unknown_field.status_code == 201


def test_v3_uploads_without_device_fields(v3: FakeImmich) -> None:
    stamp = "2024-01-01T00:00:00.000Z"
    with full(v3) as c:
        made = c.post("/assets", data={"fileCreatedAt": stamp, "fileModifiedAt": stamp},
                      files={"assetData": ("IMG_9.jpg", b"nine")})
    assert made.status_code == 201


def test_a_duplicate_of_a_trashed_asset_stays_in_the_trash(im: FakeImmich) -> None:
    user = ImmichUser(im)
    asset = user.upload("IMG_1.jpg", b"one", taken=TAKEN)
    user.trash(asset)
    with full(im) as c:
        again = c.post("/assets", data=form(), files={"assetData": ("IMG_1.jpg", b"one")})
        assert again.status_code == 200 and again.json()["id"] == asset
        assert ids(c) == set() and ids(c, withDeleted=True) == {asset}


def test_a_known_checksum_header_is_a_duplicate_without_the_body(im: FakeImmich) -> None:
    asset = ImmichUser(im).upload("IMG_1.jpg", b"one", taken=TAKEN)
    with full(im) as c:
        answer = c.post("/assets", data=form(), headers={
            "x-immich-checksum": hashlib.sha1(b"one").hexdigest()},
            files={"assetData": ("IMG_1.jpg", b"")})
    assert answer.status_code == 200 and answer.json() == {"id": asset, "status": "duplicate"}


def test_bulk_upload_check_in_request_order_and_never_empty(im: FakeImmich) -> None:
    user = ImmichUser(im)
    kept = user.upload("A.jpg", b"a", taken=TAKEN)
    trashed = user.upload("B.jpg", b"b", taken=TAKEN)
    user.trash(trashed)
    with full(im) as c:
        answer = c.post("/assets/bulk-upload-check", json={"assets": [
            {"id": "new", "checksum": b64(b"new")},
            {"id": "hex", "checksum": hashlib.sha1(b"a").hexdigest()},
            {"id": "b64", "checksum": b64(b"b")}]})
        empty = c.post("/assets/bulk-upload-check", json={"assets": []})
    assert answer.json()["results"] == [
        {"id": "new", "action": "accept"},
        {"id": "hex", "action": "reject", "reason": "duplicate", "assetId": kept,
         "isTrashed": False},
        {"id": "b64", "action": "reject", "reason": "duplicate", "assetId": trashed,
         "isTrashed": True}]
    assert empty.status_code == 500
    assert empty.json()["message"] == "Failed to check bulk upload"


def test_a_live_photo_is_a_still_and_a_hidden_video(im: FakeImmich) -> None:
    still, video = ImmichUser(im).upload_live(("IMG_5.HEIC", b"still"), ("IMG_5.MOV", b"mov"),
                                              taken=TAKEN)
    with full(im) as c:
        shown = search(c, visibility="timeline")["items"]
        hidden = search(c, visibility="hidden")["items"]
        stats = c.get("/assets/statistics").json()
    assert [a["id"] for a in shown] == [still] and shown[0]["livePhotoVideoId"] == video
    assert [(a["id"], a["type"]) for a in hidden] == [(video, "VIDEO")]
    assert stats == {"images": 1, "videos": 0, "total": 1}  # hidden halves are not counted
