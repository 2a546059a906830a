"""Pin the fake Immich to ``shared/immich-api.md`` over real HTTP: each quirk a client must
cope with has a test, so that a kinder fake fails here. The contract a real client is written
against, per generation (v1.135 / v2.5 / v3)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from tests.fake_immich import EMAIL, PASSWORD, FakeImmich, ImmichUser

CEST = timezone(timedelta(hours=2))
TAKEN = datetime(2024, 5, 17, 21, 30, tzinfo=CEST)


@pytest.fixture(params=["v1.135", "v2.5", "v3"])
def im(request: pytest.FixtureRequest) -> Iterator[FakeImmich]:
    with FakeImmich(generation=request.param) as fake:
        yield fake


@pytest.fixture
def v1() -> Iterator[FakeImmich]:
    with FakeImmich(generation="v1.135") as fake:
        yield fake


@pytest.fixture
def v2() -> Iterator[FakeImmich]:
    with FakeImmich(generation="v2.5") as fake:
        yield fake


@pytest.fixture
def v3() -> Iterator[FakeImmich]:
    with FakeImmich(generation="v3") as fake:
        yield fake


def client(fake: FakeImmich, key: str | None = None, token: str | None = None) -> httpx.Client:
    headers = {}
    if key is not None:
        headers["x-api-key"] = key
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=fake.url + "/api", headers=headers, timeout=10)


def full(fake: FakeImmich) -> httpx.Client:
    return client(fake, fake.add_key(["all"]))


def search(c: httpx.Client, **body: Any) -> dict[str, Any]:
    answer = c.post("/search/metadata", json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["assets"]
    return result


def ids(c: httpx.Client, **body: Any) -> set[str]:
    return {a["id"] for a in search(c, size=1000, **body)["items"]}


def b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha1(data).digest()).decode()


def form(name: str = "IMG_9.jpg", **extra: str) -> dict[str, str]:
    stamp = "2024-01-01T00:00:00.000Z"
    return {"deviceAssetId": "d-" + name, "deviceId": "ppsync", "fileCreatedAt": stamp,
            "fileModifiedAt": stamp, **extra}


# -- 1. identity and version -------------------------------------------------------------------


def test_ping_version_and_config_need_no_auth(im: FakeImmich) -> None:
    with client(im) as c:
        assert c.get("/server/ping").json() == {"res": "pong"}
        version = c.get("/server/version").json()
        assert c.get("/server/config").json()["trashDays"] == 30
        assert c.get("/server/about").status_code == 401
    expected = {"v1.135": (1, 135, 3), "v2.5": (2, 5, 6), "v3": (3, 2, 0)}[im.gen.name]
    assert (version["major"], version["minor"], version["patch"]) == expected
    assert ("prerelease" in version) == (im.gen.name == "v3")


def test_about_says_the_version_and_v2_checks_server_about(v1: FakeImmich,
                                                            v2: FakeImmich) -> None:
    with client(v1, v1.add_key(["asset.read"])) as c:
        assert c.get("/server/about").json()["version"] == "v1.135.3"
    with client(v2, v2.add_key(["asset.read"])) as c:
        refused = c.get("/server/about")
    assert refused.status_code == 403
    assert refused.json()["message"] == "Missing required permission: server.about"


def test_every_answer_has_a_correlation_id_and_errors_the_nest_shape(im: FakeImmich) -> None:
    with full(im) as c:
        ok = c.get("/server/ping")
        bad = c.post("/search/metadata", json={"size": 1001})
    assert ok.headers["x-immich-cid"] and bad.headers["x-immich-cid"]
    body = bad.json()
    assert bad.status_code == 400
    assert body["message"] == ["size must not be greater than 1000"]  # a list for validation
    assert body["error"] == "Bad Request" and body["statusCode"] == 400 and body["correlationId"]


# -- 2. authentication -------------------------------------------------------------------------


def test_401_forms_for_bad_key_bad_token_and_wrong_password(im: FakeImmich) -> None:
    with client(im, "not-a-key") as c:
        bad_key = c.post("/search/metadata", json={})
    with client(im, token="not-a-token") as c:
        bad_token = c.post("/search/metadata", json={})
    with client(im) as c:
        wrong = c.post("/auth/login", json={"email": EMAIL, "password": "nope"})
        nothing = c.post("/search/metadata", json={})
    assert (bad_key.status_code, bad_key.json()["message"]) == (401, "Invalid API key")
    assert (bad_token.status_code, bad_token.json()["message"]) == (401, "Invalid user token")
    assert wrong.status_code == 401 and nothing.status_code == 401
    assert im.logins == 0 and im.session_count == 0


def test_each_login_is_a_session_until_logout(im: FakeImmich) -> None:
    with client(im) as c:
        first = c.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
        second = c.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert first.status_code == second.status_code == 201
    assert first.json()["accessToken"] != second.json()["accessToken"]
    assert {"accessToken", "userId", "userEmail", "name", "isAdmin"} <= set(first.json())
    assert im.session_count == 2 and im.logins == 2
    token = first.json()["accessToken"]
    with client(im, token=token) as c:
        assert c.post("/search/metadata", json={}).status_code == 200
        assert c.post("/auth/logout").json()["successful"] is True
        assert c.post("/search/metadata", json={}).status_code == 401
    assert im.session_count == 1 and im.logouts == 1
    with client(im, im.add_key()) as c:  # a key is never logged out
        assert c.post("/auth/logout").status_code == 200
    assert im.session_count == 1 and im.logouts == 1


def test_an_expired_token_answers_invalid_user_token(im: FakeImmich) -> None:
    with client(im) as c:
        token = c.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()[
            "accessToken"]
    im.faults.expire_tokens_after = 2
    with client(im, token=token) as c:
        assert [c.post("/search/metadata", json={}).status_code for _ in range(3)] == [
            200, 200, 401]
    assert im.session_count == 0


# -- 2b. permissions per generation ------------------------------------------------------------


def test_v1_checks_key_permissions_only_on_albums_and_keys(v1: FakeImmich) -> None:
    asset = ImmichUser(v1).upload("IMG_1.jpg", b"one", taken=TAKEN)
    with client(v1, v1.add_key(["asset.read"])) as c:
        assert c.post("/search/metadata", json={}).status_code == 200
        assert c.get(f"/assets/{asset}/original").status_code == 200
        assert c.get("/assets/statistics").status_code == 200
        assert c.post("/assets/bulk-upload-check", json={"assets": [
            {"id": "a", "checksum": b64(b"x")}]}).status_code == 200
        assert c.post("/assets", data=form(), files={"assetData": (
            "IMG_9.jpg", b"nine")}).status_code == 201
        albums = c.get("/albums")
        create = c.post("/albums", json={"albumName": "A"})
        key = c.post("/api-keys", json={"name": "k", "permissions": ["all"]})
    assert albums.json()["message"] == "Missing required permission: album.read"
    assert create.json()["message"] == "Missing required permission: album.create"
    assert key.json()["message"] == "Missing required permission: apiKey.create"
    assert albums.status_code == create.status_code == key.status_code == 403


@pytest.mark.parametrize("generation", ["v2.5", "v3"])
def test_v2_checks_every_endpoint_and_names_the_permission(generation: str) -> None:
    with FakeImmich(generation=generation) as fake:
        user = ImmichUser(fake)
        asset = user.upload("IMG_1.jpg", b"one", taken=TAKEN)
        album = user.create_album("A")
        with client(fake, fake.add_key(["asset.read", "album.read"])) as c:
            assert c.post("/search/metadata", json={}).status_code == 200
            assert c.get(f"/assets/{asset}").status_code == 200
            assert c.get("/albums").status_code == 200
            refused = {
                "asset.download": c.get(f"/assets/{asset}/original"),
                "asset.statistics": c.get("/assets/statistics"),
                "user.read": c.get("/users/me"),
                "asset.upload": c.post("/assets", data=form(), files={
                    "assetData": ("IMG_9.jpg", b"nine")}),
                "album.create": c.post("/albums", json={"albumName": "B",
                                                        "assetIds": [asset]}),
                "albumAsset.create": c.put(f"/albums/{album}/assets", json={"ids": [asset]}),
            }
            check = c.post("/assets/bulk-upload-check", json={"assets": [
                {"id": "a", "checksum": b64(b"x")}]})
        with client(fake, fake.add_key(["album.read"])) as c:
            search_refused = c.post("/search/metadata", json={})
    for permission, answer in {**refused, "asset.upload": check,
                               "asset.read": search_refused}.items():
        assert answer.status_code == 403, permission
        assert answer.json() == {**answer.json(), "error": "Forbidden",
                                 "message": f"Missing required permission: {permission}"}


def test_v1_adds_album_members_with_album_add_asset(v1: FakeImmich) -> None:
    user = ImmichUser(v1)
    asset, album = user.upload("IMG_1.jpg", b"one"), user.create_album("A")
    with client(v1, v1.add_key(["album.read"])) as c:
        refused = c.put(f"/albums/{album}/assets", json={"ids": [asset]})
    with client(v1, v1.add_key(["album.addAsset"])) as c:
        added = c.put(f"/albums/{album}/assets", json={"ids": [asset]})
    assert refused.json()["message"] == "Missing required permission: album.addAsset"
    assert added.json() == [{"id": asset, "success": True}]


def test_key_creation_refuses_the_other_generations_permission_names(
        v1: FakeImmich, v2: FakeImmich) -> None:
    with full(v2) as c:
        refused = c.post("/api-keys", json={"name": "k", "permissions": ["album.addAsset"]})
        made = c.post("/api-keys", json={"name": "k", "permissions": ["albumAsset.create"]})
    assert refused.status_code == 400 and "albumAsset.create" in refused.json()["message"][0]
    assert made.status_code == 201 and made.json()["secret"]
    with full(v1) as c:
        assert c.post("/api-keys", json={"name": "k", "permissions": [
            "album.addAsset"]}).status_code == 201
        assert c.post("/api-keys", json={"name": "k", "permissions": [
            "albumAsset.create"]}).status_code == 400


def test_a_created_key_works_with_its_permissions(v2: FakeImmich) -> None:
    with full(v2) as c:
        secret = c.post("/api-keys", json={"name": "k", "permissions": ["asset.read"]}).json()[
            "secret"]
    with client(v2, secret) as c:
        assert c.post("/search/metadata", json={}).status_code == 200
        assert c.get("/albums").status_code == 403


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
    assert exif["timeZone"] == "UTC+2" and exif["fileSizeInByte"] == len(body)
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
    assert ("nextCursor" in first) == (im.gen.name == "v3")


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


def test_v3_cursor_is_stable_and_older_generations_ignore_it(v2: FakeImmich,
                                                             v3: FakeImmich) -> None:
    ImmichUser(v3).seed(4)
    with full(v3) as c:
        first = search(c, size=2)
        ImmichUser(v3).upload("NEWEST.jpg", b"newest", taken=datetime.now(UTC))
        second = search(c, size=2, cursor=first["nextCursor"])
    assert len({a["id"] for a in first["items"] + second["items"]}) == 4
    ImmichUser(v2).seed(3)
    with full(v2) as c:
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
        assert ids(c) == {shown, still}
        assert ids(c, visibility="archive") == {archived}
        assert ids(c, visibility="hidden") == {video}
        assert ids(c, withDeleted=True) == {shown, still, trashed}
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
    assert bad.json()["message"] == ["updatedAfter must be a date string"]


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
        400, "Not found or no asset.download access")
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
        shown = search(c)["items"]
        hidden = search(c, visibility="hidden")["items"]
        stats = c.get("/assets/statistics").json()
    assert [a["id"] for a in shown] == [still] and shown[0]["livePhotoVideoId"] == video
    assert [(a["id"], a["type"]) for a in hidden] == [(video, "VIDEO")]
    assert stats == {"images": 1, "videos": 0, "total": 1}  # hidden halves are not counted


# -- 7. albums ---------------------------------------------------------------------------------


def test_album_titles_are_not_unique(im: FakeImmich) -> None:
    with full(im) as c:
        first = c.post("/albums", json={"albumName": "Holiday"})
        second = c.post("/albums", json={"albumName": "Holiday"})
        listed = c.get("/albums").json()
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert [a["albumName"] for a in listed] == ["Holiday", "Holiday"]


def test_album_members_answers_per_id(im: FakeImmich) -> None:
    user = ImmichUser(im)
    a = user.upload("A.jpg", b"a", taken=TAKEN)
    b = user.upload("B.jpg", b"b", taken=TAKEN)
    unknown = "00000000-0000-4000-8000-000000000000"
    album = user.create_album("Trip", (a,))
    with full(im) as c:
        added = c.put(f"/albums/{album}/assets", json={"ids": [a, b, unknown]})
        removed = c.request("DELETE", f"/albums/{album}/assets", json={"ids": [b, unknown]})
    assert added.status_code == 200
    assert added.json() == [{"id": a, "success": False, "error": "duplicate"},
                            {"id": b, "success": True},
                            {"id": unknown, "success": False, "error": "no_permission"}]
    assert removed.json() == [{"id": b, "success": True},
                              {"id": unknown, "success": False, "error": "not_found"}]


def test_album_answers_hide_hidden_and_trashed_members(im: FakeImmich) -> None:
    user = ImmichUser(im)
    still, video = user.upload_live(("L.heic", b"still"), ("L.mov", b"motion"), taken=TAKEN)
    gone = user.upload("T.jpg", b"t", taken=TAKEN)
    album = user.create_album("Trip", (still,))
    assert all(r["success"] for r in user.add_to_album(album, video, gone))
    user.trash(gone)
    with full(im) as c:
        listed = c.get("/albums").json()[0]
        one = c.get(f"/albums/{album}").json()
        members = ids(c, albumIds=[album]) | ids(c, albumIds=[album], visibility="hidden") | \
            ids(c, albumIds=[album], withDeleted=True)
    assert listed["assetCount"] == one["assetCount"] == 1 and listed.get("assets", []) == []
    if im.gen.name == "v3":
        assert "assets" not in one
    else:
        assert [x["id"] for x in one["assets"]] == [still]
    assert members == {still, video, gone}


def test_album_dates_use_plus_zero_and_an_empty_album_has_none(im: FakeImmich) -> None:
    user = ImmichUser(im)
    a = user.upload("A.jpg", b"a", taken=TAKEN)
    full_album, empty = user.create_album("Full", (a,)), user.create_album("Empty")
    with full(im) as c:
        one, none = c.get(f"/albums/{full_album}").json(), c.get(f"/albums/{empty}").json()
    assert one["createdAt"].endswith("+00:00") and one["startDate"].endswith("+00:00")
    assert "startDate" not in none and "endDate" not in none


def test_album_edit_and_delete_status_per_generation(im: FakeImmich) -> None:
    album = ImmichUser(im).create_album("Old")
    with full(im) as c:
        patched = c.patch(f"/albums/{album}", json={"albumName": "New", "description": "d"})
        deleted = c.delete(f"/albums/{album}")
        gone = c.get(f"/albums/{album}")
    assert (patched.json()["albumName"], patched.json()["description"]) == ("New", "d")
    assert deleted.status_code == (200 if im.gen.name == "v1.135" else 204)
    assert deleted.content == b"" and gone.status_code == 400


# -- 8. trash, archive, edits, statistics ------------------------------------------------------


def test_trash_restore_and_purge(im: FakeImmich) -> None:
    user = ImmichUser(im)
    a = user.upload("A.jpg", b"a", taken=TAKEN)
    still, video = user.upload_live(("L.heic", b"still"), ("L.mov", b"motion"), taken=TAKEN)
    with full(im) as c:
        assert c.request("DELETE", "/assets", json={"ids": [a]}).status_code == 204
        trashed = search(c, withDeleted=True)["items"]
        assert next(x for x in trashed if x["id"] == a)["isTrashed"] is True
        assert c.post("/trash/restore/assets", json={"ids": [a]}).json() == {"count": 1}
        assert ids(c) == {a, still}
        c.request("DELETE", "/assets", json={"ids": [still], "force": True})
        assert ids(c, withDeleted=True) == {a}
        assert ids(c, visibility="hidden", withDeleted=True) == set()  # its video went too
        assert c.get(f"/assets/{video}/original").status_code == 400


def test_the_trash_is_purged_after_trash_days(v1: FakeImmich) -> None:
    user = ImmichUser(v1)
    a = user.upload("A.jpg", b"a", taken=TAKEN)
    user.trash(a)
    user.purge_expired_trash()
    with full(v1) as c:
        assert ids(c, withDeleted=True) == {a}
        v1.clock_offset = timedelta(days=31)
        user.purge_expired_trash()
        assert ids(c, withDeleted=True) == set()


def test_edits_favourite_description_rating_archive_gps(im: FakeImmich) -> None:
    user = ImmichUser(im)
    a = user.upload("A.jpg", b"a", taken=TAKEN)
    with full(im) as c:
        edited = c.put(f"/assets/{a}", json={
            "isFavorite": True, "description": "caption", "rating": 5, "latitude": 1.5,
            "longitude": 2.5, "dateTimeOriginal": "2020-02-02T10:00:00+05:00"}).json()
        bad = c.put(f"/assets/{a}", json={"rating": 6})
        c.put(f"/assets/{a}", json={"visibility": "archive"})
        archived = search(c, visibility="archive", withExif=True)["items"][0]
    assert edited["isFavorite"] is True and edited["exifInfo"]["description"] == "caption"
    assert edited["exifInfo"]["rating"] == 5 and edited["exifInfo"]["latitude"] == 1.5
    assert edited["localDateTime"] == "2020-02-02T10:00:00.000Z"
    assert edited["exifInfo"]["timeZone"] == "UTC+5"
    assert bad.status_code == 400
    assert archived["isArchived"] is True and archived["visibility"] == "archive"


def test_statistics_count_timeline_and_archive_not_hidden_or_trashed(v1: FakeImmich) -> None:
    user = ImmichUser(v1)
    user.upload("A.jpg", b"a", taken=TAKEN)
    user.upload("V.mp4", b"v", taken=TAKEN)
    archived = user.upload("B.jpg", b"b", taken=TAKEN)
    user.archive(archived)
    user.upload_live(("L.heic", b"still"), ("L.mov", b"motion"), taken=TAKEN)
    trashed = user.upload("T.jpg", b"t", taken=TAKEN)
    user.trash(trashed)
    with full(v1) as c:
        assert c.get("/assets/statistics").json() == {"images": 3, "videos": 1, "total": 4}
        assert c.get("/assets/statistics", params={"visibility": "archive"}).json()[
            "total"] == 1
        assert c.get("/assets/statistics", params={"isTrashed": "true"}).json()["total"] == 1


def test_v2_statistics_accepts_only_visibility_and_is_archived(v2: FakeImmich) -> None:
    with full(v2) as c:
        assert c.get("/assets/statistics", params={"isArchived": "true"}).status_code == 200
        assert c.get("/assets/statistics", params={"isTrashed": "true"}).status_code == 400


# -- 9. the server's clock ---------------------------------------------------------------------


def test_date_header_and_updated_at_come_from_the_server_clock(im: FakeImmich) -> None:
    im.clock_offset = timedelta(hours=-3)
    ImmichUser(im).upload("A.jpg", b"a", taken=TAKEN)
    with full(im) as c:
        answer = c.post("/search/metadata", json={})
    server_now = parsedate_to_datetime(answer.headers["date"])
    updated = datetime.fromisoformat(answer.json()["assets"]["items"][0]["updatedAt"].replace(
        "Z", "+00:00"))
    local_now = datetime.now(UTC)
    assert timedelta(hours=2.9) < local_now - server_now < timedelta(hours=3.1)
    assert abs(updated - server_now) < timedelta(seconds=5)


# -- 10. fault switches ------------------------------------------------------------------------


def test_bursts_of_5xx_and_429_then_recovery(im: FakeImmich) -> None:
    im.faults.fail_next_requests, im.faults.fail_status = 2, 503
    im.faults.retry_after = 1
    with full(im) as c:
        statuses = [c.post("/search/metadata", json={}).status_code for _ in range(3)]
        im.faults.fail_next_requests, im.faults.fail_status = 1, 429
        limited = c.post("/search/metadata", json={})
        assert c.post("/search/metadata", json={}).status_code == 200
    assert statuses == [503, 503, 200]
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"


def test_connections_cut_and_bodies_corrupted_or_truncated(im: FakeImmich) -> None:
    body = b"x" * 300_000
    asset = ImmichUser(im).upload("A.jpg", body, taken=TAKEN)
    with full(im) as c:
        im.faults.reset_connections = 1
        with pytest.raises(httpx.TransportError):
            c.post("/search/metadata", json={})
        im.faults.truncate_downloads = 1
        with pytest.raises(httpx.TransportError):
            c.get(f"/assets/{asset}/original")
    with full(im) as c:
        im.faults.corrupt_downloads = 1
        corrupt = c.get(f"/assets/{asset}/original").content
        im.faults.truncate_json = 1
        with pytest.raises(httpx.TransportError):
            c.post("/search/metadata", json={})
    with full(im) as c:
        im.faults.malformed_search = 1
        with pytest.raises(json.JSONDecodeError):
            c.post("/search/metadata", json={}).json()
        assert c.get(f"/assets/{asset}/original").content == body
    assert len(corrupt) == len(body) and corrupt != body


def test_a_slow_link(im: FakeImmich) -> None:
    asset = ImmichUser(im).upload("A.jpg", b"x" * 20_000, taken=TAKEN)
    im.faults.download_rate = 100_000
    with full(im) as c:
        started = time.monotonic()
        assert len(c.get(f"/assets/{asset}/original").content) == 20_000
    assert time.monotonic() - started >= 0.15


def test_slow_answers_and_faults_spare_the_test_helpers(im: FakeImmich) -> None:
    im.faults.answer_delay, im.faults.truncate_json = 0.5, 1
    started = time.monotonic()
    ImmichUser(im).upload("A.jpg", b"a", taken=TAKEN)  # not delayed, not cut
    assert time.monotonic() - started < 0.5
    with full(im) as c:
        with pytest.raises(httpx.TransportError):
            c.post("/search/metadata", json={})
        started = time.monotonic()
        assert search(c)["count"] == 1
    assert time.monotonic() - started >= 0.5


def test_going_down_for_a_while_keeps_the_library(im: FakeImmich) -> None:
    asset = ImmichUser(im).upload("A.jpg", b"a", taken=TAKEN)
    key = im.add_key()
    im.go_down(0.5)
    with client(im, key) as c:
        with pytest.raises(httpx.ConnectError):
            c.post("/search/metadata", json={})
        deadline = time.monotonic() + 5
        while True:
            try:
                found = ids(c)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    assert found == {asset}


def test_requests_are_recorded_but_not_the_helpers(im: FakeImmich) -> None:
    ImmichUser(im).upload("A.jpg", b"a", taken=TAKEN)
    with full(im) as c:
        search(c, withExif=True)
    recorded = im.requests_to("/api/")
    assert [(r.method, r.path) for r in recorded] == [("POST", "/api/search/metadata")]
    assert recorded[0].json == {"withExif": True}
