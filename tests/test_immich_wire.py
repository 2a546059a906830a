"""``ppsync.servers.immich.wire``: Immich JSON into checked, typed values."""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from ppsync.errors import ServerDataError
from ppsync.servers.immich.readers import checksum_to_hex, hex_to_checksum, parse_duration
from ppsync.servers.immich.wire import (
    error_message,
    link_live_photos,
    missing_permission,
    parse_album,
    parse_asset,
    parse_bulk_check,
    parse_search_page,
    parse_statistics,
    parse_upload,
    parse_version,
)
from tests.fake_immich import FakeImmich, ImmichUser

ASSET: dict[str, Any] = {
    "id": "8d1c7a3e-1f4b-4c1e-9d7a-0f7d9c1b2a3e", "type": "IMAGE",
    "originalFileName": "IMG_1234.HEIC", "checksum": "XQjm9hhuuE+snWaU0O3HRdYjyeY=",
    "fileCreatedAt": "2024-05-17T19:30:00.000Z", "fileModifiedAt": "2024-05-18T08:00:00.000Z",
    "localDateTime": "2024-05-17T21:30:00.000Z", "updatedAt": "2024-06-01T10:00:00.123+00:00",
    "isFavorite": True, "isArchived": False, "isTrashed": False, "visibility": "timeline",
    "livePhotoVideoId": None, "duration": "0:00:00.00000",
    "people": [{"id": "p", "name": "Ann"}, {"id": "q", "name": ""}],
    "exifInfo": {"make": "Apple", "model": "iPhone 15", "lensModel": "Main",
                 "fileSizeInByte": 2048, "dateTimeOriginal": "2024-05-17T19:30:00+00:00",
                 "timeZone": "UTC+2", "latitude": 52.5, "longitude": 13.4, "city": "Berlin",
                 "state": "Berlin", "country": "Germany", "description": "sunset",
                 "rating": 4, "fNumber": 1.8, "iso": 100, "exposureTime": "1/120"},
}


def asset(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(ASSET)
    out.update(changes)
    return out


def test_checksum_base64_to_hex() -> None:
    # The facts file's example pairs "XQjm9hBuuE+snWaU0N7HRdYjyeY=" with this hex, but that
    # base64 decodes to 5d08e6f6106e...d0dec7...; the hex below is the true partner.
    assert checksum_to_hex(hex_to_checksum(hashlib.sha1(b"x").hexdigest())) == \
        hashlib.sha1(b"x").hexdigest()
    assert checksum_to_hex("XQjm9hhuuE+snWaU0O3HRdYjyeY=") == \
        "5d08e6f6186eb84fac9d6694d0edc745d623c9e6"
    assert hex_to_checksum("5d08e6f6186eb84fac9d6694d0edc745d623c9e6") == \
        "XQjm9hhuuE+snWaU0O3HRdYjyeY="


@pytest.mark.parametrize("bad", [
    None, 5, "", "5d08e6f6186eb84fac9d6694d0edc745d623c9e6", "XQjm9hBuuE+snWaU0N7HRdYjyeY",
    "XQjm9hBuuE-snWaU0N7HRdYjyeY=", "XQjm9hhuuE+snWaU0O3HRdYjyeY==", "XQjm9hBuuE snWaU0N7HRdYjye=",
])
def test_malformed_checksums_are_refused(bad: Any) -> None:
    with pytest.raises(ServerDataError, match="checksum"):
        checksum_to_hex(bad, "asset x checksum")


def test_an_asset_in_plain_values() -> None:
    a = parse_asset(ASSET)
    assert (a.asset_id, a.photo_key) == (ASSET["id"], ASSET["id"])
    assert a.original_name == "IMG_1234.HEIC" and a.media_type == "image"
    assert a.sha1 == "5d08e6f6186eb84fac9d6694d0edc745d623c9e6" and a.size == 2048
    assert a.change_stamp == datetime(2024, 6, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert a.taken_local == datetime(2024, 5, 17, 21, 30) and a.taken_local.tzinfo is None
    assert a.taken_utc == datetime(2024, 5, 17, 19, 30, tzinfo=UTC)
    assert a.favourite and not a.trashed and a.visibility == "timeline"
    assert (a.description, a.rating, a.people) == ("sunset", 4, ("Ann",))
    assert a.exif is not None and a.exif.time_zone == "UTC+2" and a.exif.lens_model == "Main"
    assert (a.exif.latitude, a.exif.city, a.exif.iso) == (52.5, "Berlin", 100)
    assert a.duration_ms is None and a.live_photo_video_id is None


def test_without_exif_the_size_is_unknown() -> None:
    a = parse_asset(asset(exifInfo=None))
    assert a.size is None and a.exif is None and a.description == "" and a.rating is None


def test_old_answers_without_visibility_use_is_archived() -> None:
    old = asset(isArchived=True)
    del old["visibility"]
    assert parse_asset(old).visibility == "archive"


@pytest.mark.parametrize(("changes", "says"), [
    ({"id": ""}, "id"), ({"type": "PHOTO"}, "type"), ({"checksum": "abc"}, "checksum"),
    ({"updatedAt": "yesterday"}, "updatedAt"), ({"updatedAt": "2024-06-01T10:00:00"}, "zone"),
    ({"isTrashed": "no"}, "isTrashed"), ({"visibility": "secret"}, "visibility"),
    ({"originalFileName": None}, "originalFileName"), ({"duration": "4s"}, "duration"),
    ({"people": "Ann"}, "people"), ({"localDateTime": None}, "localDateTime"),
    ({"exifInfo": {"fileSizeInByte": -1}}, "fileSizeInByte"),
    ({"exifInfo": {"rating": 9}}, "rating"), ({"exifInfo": {"latitude": "N"}}, "latitude"),
    ({"exifInfo": []}, "exifInfo"),
])
def test_malformed_assets_say_where_and_what(changes: dict[str, Any], says: str) -> None:
    with pytest.raises(ServerDataError) as caught:
        parse_asset(asset(**changes), "search/metadata")
    assert says in str(caught.value) and "search/metadata" in str(caught.value)


def test_durations_of_each_generation() -> None:
    assert parse_duration("0:00:04.00000", "d") == 4000
    assert parse_duration("1:02:03.50000", "d") == 3723500
    assert parse_duration("0:00:00.00000", "d") is None
    assert parse_duration(4000, "d") == 4000 and parse_duration(None, "d") is None
    for bad in (True, -1, "4", "a:b:c"):
        with pytest.raises(ServerDataError):
            parse_duration(bad, "d")


def test_live_photo_halves_share_the_stills_key() -> None:
    still = parse_asset(asset(livePhotoVideoId="v-id"))
    video = parse_asset(asset(id="v-id", type="VIDEO", visibility="hidden",
                              duration="0:00:03.00000"))
    other = parse_asset(asset(id="o-id"))
    linked = {a.asset_id: a for a in link_live_photos([video, still, other])}
    assert linked["v-id"].photo_key == still.asset_id == linked[still.asset_id].photo_key
    assert linked["o-id"].photo_key == "o-id" and linked["v-id"].duration_ms == 3000
    twice = parse_asset(asset(id="s2", livePhotoVideoId="v-id"))
    with pytest.raises(ServerDataError, match="two stills"):
        link_live_photos([still, twice, video])


def test_search_pages() -> None:
    page = parse_search_page({"assets": {"items": [ASSET], "nextPage": "2", "total": 1,
                                         "count": 1}})
    assert page.next_page == 2 and len(page.assets) == 1 and page.next_cursor is None
    last = parse_search_page({"assets": {"items": [], "nextPage": None, "nextCursor": None}})
    assert last.next_page is None
    v3 = parse_search_page({"assets": {"items": [], "nextPage": "3", "nextCursor": "abc"}})
    assert (v3.next_page, v3.next_cursor) == (3, "abc")
    bad_pages: list[Any] = [{}, {"assets": {"items": {}}}, [],
                            {"assets": {"items": [], "nextPage": "x"}},
                            {"assets": {"items": [], "nextPage": "1"}}]
    for bad in bad_pages:
        with pytest.raises(ServerDataError):
            parse_search_page(bad)


def test_version_statistics_album_upload() -> None:
    v = parse_version({"major": 2, "minor": 5, "patch": 6})
    assert str(v) == "v2.5.6" and v.needs_device_fields
    assert not parse_version({"major": 3, "minor": 2, "patch": 0, "prerelease": None}
                             ).needs_device_fields
    assert parse_statistics({"images": 3, "videos": 1, "total": 4}) == (3, 1, 4)
    album = parse_album({"id": "a", "albumName": "Trip", "description": "d", "assetCount": 2,
                         "updatedAt": "2024-01-01T00:00:00.000+00:00"})
    assert (album.name, album.asset_count) == ("Trip", 2)
    assert parse_upload(201, {"id": "x", "status": "created"}).created
    dup = parse_upload(200, {"id": "y", "status": "duplicate"})
    assert (dup.asset_id, dup.created) == ("y", False)
    for bad in (lambda: parse_version({"major": "2"}), lambda: parse_statistics({"images": -1}),
                lambda: parse_upload(200, {"id": "x", "status": "created"}),
                lambda: parse_album({"id": "a"})):
        with pytest.raises(ServerDataError):
            bad()


def test_bulk_check_must_answer_in_order() -> None:
    answer = {"results": [{"id": "1", "action": "accept"},
                          {"id": "2", "action": "reject", "reason": "duplicate",
                           "assetId": "x", "isTrashed": True}]}
    first, second = parse_bulk_check(answer, ["1", "2"])
    assert first.accepted and not second.accepted
    assert (second.existing_id, second.existing_trashed) == ("x", True)
    with pytest.raises(ServerDataError, match="in order"):
        parse_bulk_check(answer, ["2", "1"])


def test_error_bodies() -> None:
    forbidden = {"message": "Missing required permission: asset.download", "statusCode": 403}
    assert missing_permission(forbidden) == "asset.download"
    assert missing_permission({"message": "Invalid API key"}) is None
    assert error_message({"message": ["a", "b"]}) == "a; b" and error_message("x") == ""


@pytest.mark.parametrize("generation", ["v1.135", "v2.5", "v3"])
def test_every_generation_of_the_fake_parses(generation: str) -> None:
    """The real answers of the fake (over HTTP) go through the wire functions unchanged."""
    with FakeImmich(generation=generation) as fake:
        user = ImmichUser(fake)
        taken = datetime(2024, 5, 17, 21, 30, tzinfo=timezone(timedelta(hours=2)))
        still, video = user.upload_live(("IMG_1.HEIC", b"still"), ("IMG_1.MOV", b"motion"),
                                        taken=taken, people=("Ann",), rating=3)
        with httpx.Client(base_url=fake.url + "/api",
                          headers={"x-api-key": fake.add_key()}) as c:
            version = parse_version(c.get("/server/version").json())
            pages = [parse_search_page(c.post("/search/metadata", json={
                "withExif": True, "visibility": v}).json()) for v in ("timeline", "hidden")]
    assets = link_live_photos([a for p in pages for a in p.assets])
    by_id = {a.asset_id: a for a in assets}
    assert version.major == int(generation[1])
    assert by_id[still].sha1 == hashlib.sha1(b"still").hexdigest()
    assert by_id[still].taken_local == datetime(2024, 5, 17, 21, 30)
    assert by_id[still].people == ("Ann",) and by_id[still].rating == 3
    assert by_id[video].photo_key == still and by_id[video].media_type == "video"
    assert by_id[video].duration_ms == 3000 and by_id[video].visibility == "hidden"
    assert by_id[still].size == len(b"still")


def test_tags_and_stack_are_read_where_the_answer_has_them() -> None:
    plain = parse_asset(asset())  # older search items carry neither
    assert (plain.tags, plain.stack_id, plain.stack_primary) == ((), "", "")
    full = parse_asset(asset(
        tags=[{"id": "t1", "name": "Italy", "value": "Travel/Italy"}],
        stack={"id": "s1", "primaryAssetId": "p1", "assetCount": 2}))
    assert (full.tags, full.stack_id, full.stack_primary) == (("Travel/Italy",), "s1", "p1")
    assert parse_asset(asset(stack=None, tags=[])).stack_id == ""


@pytest.mark.parametrize(("field", "value", "says"), [
    ("tags", {"value": "x"}, "tags is not a list"),
    ("tags", [{"name": "x"}], "tags: value is missing"),
    ("stack", {"primaryAssetId": "p"}, "stack: id is missing"),
    ("stack", "s1", "stack: expected a JSON object"),
])
def test_malformed_tags_or_stack_name_the_asset(field: str, value: Any, says: str) -> None:
    with pytest.raises(ServerDataError) as caught:
        parse_asset(asset(**{field: value}), "asset")
    assert f"asset {ASSET['id']}" in str(caught.value) and says in str(caught.value)
