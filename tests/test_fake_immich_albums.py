"""The fake Immich's albums, trash, edits and statistics pinned to ``shared/immich-api.md``."""

from __future__ import annotations

from datetime import timedelta

from tests.fake_immich import FakeImmich, ImmichUser
from tests.fake_immich.probe import TAKEN, full, ids, search

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
    if im.gen.seen_live_v31:  # "Z" again, and the local day at midnight (findings i)
        assert one["createdAt"].endswith("Z") and one["startDate"] == "2024-05-17T00:00:00.000Z"
    else:
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
        assert ids(c, visibility="timeline") == {a, still}
        c.request("DELETE", "/assets", json={"ids": [still], "force": True})
        assert ids(c, withDeleted=True) == {a}
        assert ids(c, visibility="hidden", withDeleted=True) == set()  # its video went too
        gone = 404 if im.gen.seen_live_v31 else 400  # (v3.1.0) a missing original: 404
        assert c.get(f"/assets/{video}/original").status_code == gone


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
        after_job = c.get(f"/assets/{a}").json()  # the job ran right after the answer
        bad = c.put(f"/assets/{a}", json={"rating": 6})
        c.put(f"/assets/{a}", json={"visibility": "archive"})
        archived = search(c, visibility="archive", withExif=True)["items"][0]
    assert edited["isFavorite"] is True and edited["exifInfo"]["description"] == "caption"
    assert edited["exifInfo"]["rating"] == 5 and edited["exifInfo"]["latitude"] == 1.5
    if im.gen.seen_live_v31:  # the dates move with the metadata job (findings k)
        assert edited["localDateTime"] == "2024-05-17T21:30:00.000Z"
    else:
        assert edited["localDateTime"] == "2020-02-02T10:00:00.000Z"
    assert after_job["localDateTime"] == "2020-02-02T10:00:00.000Z"
    assert after_job["fileCreatedAt"] == "2020-02-02T05:00:00.000Z"
    assert edited["exifInfo"]["timeZone"] == after_job["exifInfo"]["timeZone"] == "UTC+5"
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
