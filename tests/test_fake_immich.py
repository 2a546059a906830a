"""Pin the fake Immich to ``shared/immich-api.md`` over real HTTP: each quirk a client must
cope with has a test, so that a kinder fake fails here (the contract a real client is written
against, per generation v1.135 / v2.5 / v3). This file: identity, auth and key permissions,
the server's clock, fault switches. Assets and listings: ``test_fake_immich_assets.py``;
albums, trash and edits: ``test_fake_immich_albums.py``."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

from tests.fake_immich import EMAIL, PASSWORD, FakeImmich, ImmichUser
from tests.fake_immich.probe import TAKEN, b64, client, form, full, ids, search

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
        refused = c.get("/assets/00000000-0000-4000-8000-000000000000")
    body = bad.json()
    assert bad.status_code == 400
    if im.gen.seen_live_v31:  # v3.1.0 (immich-api.md §10): zod errors, X-Correlation-ID
        assert len(ok.headers["x-correlation-id"]) == 8 and "x-immich-cid" not in ok.headers
        assert body["message"] == "Validation failed" and set(body) == {"message", "errors"}
        assert [e["message"] for e in body["errors"]] == ["size must not be greater than 1000"]
        assert refused.json() == {"message": "Not found or no asset.read access"}
        return
    assert ok.headers["x-immich-cid"] and bad.headers["x-immich-cid"]
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
        extra = {} if fake.gen.seen_live_v31 else {"error": "Forbidden"}  # v3.1.0: message only
        assert answer.json() == {**answer.json(), **extra,
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
