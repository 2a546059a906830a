"""The Immich adapter's photo of several assets, against the fake over loopback HTTP: stacks
and tags read by ``photo``, ``stack`` and ``link_live_photo``, the edits ``update_photo`` makes
(location, rating, tags added, nothing extra sent), an XMP sidecar sent with its upload, and
``find_photos`` finding a hidden live video and stacked assets, per generation."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import pytest

from ppsync.config import load_config
from ppsync.errors import AuthError
from ppsync.servers.base import BodyOpener, PhotoEdit
from ppsync.servers.immich.server import ImmichServer
from tests.conftest import write_config
from tests.fake_immich import FakeImmich, ImmichUser
from tests.fake_immich.model import ALL_PERMISSIONS_V2
from tests.fake_immich.probe import TAKEN

XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'


@contextmanager
def adapter(fake: FakeImmich, tmp_path: Path,
            permissions: tuple[str, ...] = ("all",)) -> Iterator[ImmichServer]:
    path = write_config(tmp_path / "ppsync.toml", {
        "server": {"kind": "immich", "url": fake.url, "api_key": fake.add_key(permissions),
                   "timeout": 10, "retries": 1, "retry_backoff": 0.01, "outage_wait": "1s"},
        "mirror": {"target": str(tmp_path / "mirror")}})
    server = ImmichServer(load_config(path, {}).server)
    server.open()
    try:
        yield server
    finally:
        server.close()


def opener(data: bytes) -> BodyOpener:
    @contextmanager
    def open_body() -> Iterator[IO[bytes]]:
        yield io.BytesIO(data)
    return open_body


def _three(fake: FakeImmich) -> list[str]:
    user = ImmichUser(fake)
    return [user.upload(f"IMG_{n}.jpg", f"photo {n}".encode(), taken=TAKEN) for n in range(3)]


def test_stack_puts_the_first_on_top_and_photo_reports_it(im: FakeImmich, tmp_path: Path) -> None:
    a, b, c = _three(im)
    with adapter(im, tmp_path) as server:
        server.stack([b, a, c])
        top, other = server.photo(b), server.photo(a)
    assert top is not None and other is not None
    stack_id = next(iter(im.lib.stacks))
    assert (top.stack_key, top.stack_primary_key) == (stack_id, b)
    assert (other.stack_key, other.stack_primary_key) == (stack_id, b)
    sent = im.requests_to("/api/stacks", "POST")
    assert [r.json for r in sent] == [{"assetIds": [b, a, c]}]


def test_a_photo_in_no_stack_has_no_stack_key(v1: FakeImmich, tmp_path: Path) -> None:
    a, _, _ = _three(v1)
    with adapter(v1, tmp_path) as server:
        photo = server.photo(a)
    assert photo is not None and (photo.stack_key, photo.stack_primary_key) == ("", "")


def test_stacking_needs_the_key_permission(v2: FakeImmich, tmp_path: Path) -> None:
    a, b, _ = _three(v2)
    lacking = tuple(p for p in ALL_PERMISSIONS_V2 if p not in ("all", "stack.create"))
    with adapter(v2, tmp_path, lacking) as server, pytest.raises(AuthError) as caught:
        server.stack([a, b])
    assert "stack.create" in str(caught.value) and v2.lib.stacks == {}


def test_link_live_photo_hides_the_video_and_photo_shows_both(im: FakeImmich,
                                                              tmp_path: Path) -> None:
    user = ImmichUser(im)
    video = user.upload("IMG_7.mov", b"motion", taken=TAKEN, duration_ms=2000)
    still = user.upload("IMG_7.heic", b"still", taken=TAKEN)
    with adapter(im, tmp_path) as server:
        server.link_live_photo(still, video)
        photo = server.photo(still)
        found = server.find_photos([_sha1(b"motion"), _sha1(b"still")])
    assert photo is not None and photo.media_type == "live"
    assert [f.key for f in photo.files] == [still, video]
    assert im.lib.assets[video].visibility == "hidden"
    # a second restore finds the hidden video (bulk-upload-check knows every visibility)
    assert found == {_sha1(b"motion"): video, _sha1(b"still"): still}


def test_find_photos_finds_stacked_assets(im: FakeImmich, tmp_path: Path) -> None:
    a, b, _ = _three(im)
    with adapter(im, tmp_path) as server:
        server.stack([a, b])
        found = server.find_photos([_sha1(b"photo 0"), _sha1(b"photo 1")])
    assert found == {_sha1(b"photo 0"): a, _sha1(b"photo 1"): b}


def test_update_photo_sets_location_rating_and_adds_tags(im: FakeImmich, tmp_path: Path) -> None:
    a, _, _ = _three(im)
    with adapter(im, tmp_path) as server:
        current = server.photo(a)
        assert current is not None and current.tags == ()
        server.update_photo(current, PhotoEdit(location=(45.44, 12.33), rating=4,
                                               tags=("Travel/Italy", "Family")))
        after = server.photo(a)
        assert after is not None
        im.reset_counters()
        server.update_photo(after, PhotoEdit(tags=("Family", "Work")))
        last = server.photo(a)
    assert (after.lat, after.lng, after.rating) == (45.44, 12.33, 4)
    assert after.tags == ("Family", "Travel/Italy")
    assert last is not None and last.tags == ("Family", "Travel/Italy", "Work")
    # only the tag it lacked was upserted, and no asset edit was sent for tags alone
    assert [r.json for r in im.requests_to("/api/tags", "PUT")
            if r.path == "/api/tags"] == [{"tags": ["Work"]}]
    assert im.requests_to("/api/assets/", "PUT") == []


def test_update_photo_sends_nothing_for_an_empty_edit_or_known_tags(
        v3: FakeImmich, tmp_path: Path) -> None:
    a, _, _ = _three(v3)
    with adapter(v3, tmp_path) as server:
        current = server.photo(a)
        assert current is not None
        v3.reset_counters()
        server.update_photo(current, PhotoEdit())
        server.update_photo(current, PhotoEdit(tags=()))
    assert [r for r in v3.requests if r.method == "PUT"] == []


def test_a_rejected_rating_is_kept_by_v3_and_left_unset_before(im: FakeImmich,
                                                               tmp_path: Path) -> None:
    a, _, _ = _three(im)
    with adapter(im, tmp_path) as server:
        current = server.photo(a)
        assert current is not None
        server.update_photo(current, PhotoEdit(rating=-1, caption="x"))
    expected = -1 if im.gen.name == "v3" else None
    assert im.lib.assets[a].exif["rating"] == expected
    assert im.lib.assets[a].exif["description"] == "x"


def test_tagging_needs_the_tag_permissions(v2: FakeImmich, tmp_path: Path) -> None:
    a, _, _ = _three(v2)
    lacking = tuple(p for p in ALL_PERMISSIONS_V2 if p not in ("all", "tag.asset"))
    with adapter(v2, tmp_path, lacking) as server:
        current = server.photo(a)
        assert current is not None
        with pytest.raises(AuthError) as caught:
            server.update_photo(current, PhotoEdit(tags=("Travel",)))
    assert "tag.asset" in str(caught.value)


def test_an_upload_with_a_sidecar_lands_the_xmp_on_the_asset(im: FakeImmich,
                                                             tmp_path: Path) -> None:
    with adapter(im, tmp_path) as server:
        batch = server.upload()
        sent = batch.send("IMG_5.jpg", opener(b"five"),
                          datetime(2020, 1, 1, tzinfo=UTC),
                          sidecar=("IMG_5.jpg.xmp", opener(XMP)))
        plain = batch.send("IMG_6.jpg", opener(b"six"),
                           datetime(2020, 1, 1, tzinfo=UTC))
        found = server.find_photos([_sha1(b"five"), _sha1(b"six")])
    assert sent == 1 and plain == 1
    assert im.sidecar_of(found[_sha1(b"five")]) == XMP
    assert im.sidecar_of(found[_sha1(b"six")]) is None


def test_a_retried_upload_sends_the_sidecar_again(v2: FakeImmich, tmp_path: Path) -> None:
    v2.faults.fail_next_requests = 1
    v2.faults.fail_status = 503
    v2.faults.fail_path_contains = "/api/assets"
    with adapter(v2, tmp_path) as server:
        server.upload().send("IMG_5.jpg", opener(b"five"),
                             datetime(2020, 1, 1, tzinfo=UTC),
                             sidecar=("IMG_5.jpg.xmp", opener(XMP)))
        found = server.find_photos([_sha1(b"five")])
    assert len(v2.requests_to("/api/assets", "POST")) >= 2
    assert v2.sidecar_of(found[_sha1(b"five")]) == XMP


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()
