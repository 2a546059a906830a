"""Albums are the user's own: an album another Immich user shared with the user is recorded in
the mirror as theirs (owner, and the user's role), and a restore never creates or fills it as
the user's; it says what it left out and why, and exits 0.

The source is a fake Immich of each generation (v1.135 and v2.5 name the owner in
``ownerId``/``owner``, v3.1.0 only in ``albumUsers``) holding the user's own album "Trip", an
album Alice shared with the user as viewer (her photos only) and one Bob shared as editor (his
photo and one of the user's). Each mirror is restored into an empty fake Immich (which holds an
album called "Trip" that Carol shared with the user: it must not be filled) and an empty fake
PhotoPrism, twice."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ppsync.config import load_config
from ppsync.mirror.sync import run_sync
from ppsync.restore.run import RestoreReport, run_restore
from tests.conftest import PASSWORD, config_file
from tests.fake_immich import FakeImmich
from tests.fake_immich.user import ImmichUser
from tests.fake_photoprism import FakePhotoPrism

GENERATIONS = ["v1.135", "v2.5", "v3"]
TAKEN = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)


def blob(name: str) -> bytes:
    return (hashlib.sha256(name.encode()).hexdigest().encode() * 5)[:300]


@dataclass
class Mirrored:
    generation: str
    source: FakeImmich
    mirror: Path
    config: Path
    own_photo: str  # the user's asset in "Trip" and in Bob's album


def mirror_of(stack: ExitStack, generation: str, folder: Path) -> Mirrored:
    source = stack.enter_context(FakeImmich(generation=generation))
    user = ImmichUser(source)
    mine = user.upload("IMG_0100.jpg", blob("0100"), taken=TAKEN)
    user.create_album("Trip", (mine,))
    user.album_shared_with_me("Wedding", [("DSC_1.jpg", blob("alice 1")),
                                          ("DSC_2.jpg", blob("alice 2"))], owner_name="Alice")
    user.album_shared_with_me("Party", [("P_1.jpg", blob("bob 1"))], role="editor",
                              owner_name="Bob", own_assets=(mine,))
    mirror = folder / "mirror"
    mirror.mkdir(parents=True)
    path = config_file(folder / "ppsync.toml", {
        "kind": "immich", "url": source.url, "api_key": source.add_key(("all",))}, mirror,
        {"metadata": {"sidecars": "json"}, "albums": {"mode": "symlink"}})
    assert run_sync(load_config(path, {})).exit_code == 0
    return Mirrored(generation, source, mirror, path, mine)


@pytest.fixture(scope="module")
def mirrors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Mirrored]]:
    with ExitStack() as stack:
        yield {g: mirror_of(stack, g, tmp_path_factory.mktemp(g)) for g in GENERATIONS}


@pytest.fixture(params=GENERATIONS)
def mirrored(request: pytest.FixtureRequest, mirrors: dict[str, Mirrored]) -> Mirrored:
    return mirrors[request.param]


def manifests(mirror: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for path in mirror.rglob(".album.json"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        out[doc["title"]] = doc
    return out


def restore_twice(mirrored: Mirrored, folder: Path, target: dict[str, Any]
                  ) -> tuple[RestoreReport, RestoreReport]:
    path = config_file(folder / "restore.toml", {
        "kind": "immich", "url": mirrored.source.url,
        "api_key": mirrored.source.add_key(("all",))}, mirrored.mirror,
        {"metadata": {"sidecars": "json"}, "albums": {"mode": "symlink"},
         "servers.to": {**target, "retries": 1, "retry_backoff": 0.01}})
    settings = load_config(path, {})
    return run_restore(settings, "to"), run_restore(settings, "to")


def left_out(report: RestoreReport) -> dict[str, str]:
    """Album title (its folder) → why, for each album the restore left out."""
    return {Path(n.path).parent.name: n.why for n in report.not_carried if n.what == "album"}


def assert_left_out_and_said(report: RestoreReport) -> None:
    assert report.exit_code == 0 and report.failures == [], report
    why = left_out(report)
    assert set(why) == {"Wedding", "Party"}, report.not_carried
    assert why["Wedding"] == ("shared with you by Alice (you are viewer): it is Alice's album; "
                              "ppsync does not create it as yours")
    assert why["Party"].startswith("shared with you by Bob (you are editor): it is Bob's album")
    assert report.albums == 1  # "Trip" alone


# --- the mirror -------------------------------------------------------------------------------


def test_mirror_records_an_album_shared_with_you_with_its_owner_and_your_role(
        mirrored: Mirrored) -> None:
    docs = manifests(mirrored.mirror)
    assert set(docs) == {"Trip", "Wedding", "Party"}
    assert docs["Wedding"]["role"] == "viewer"
    assert docs["Wedding"]["owner"]["name"] == "Alice"
    assert docs["Party"]["role"] == "editor"
    assert docs["Party"]["owner"]["name"] == "Bob"
    assert docs["Wedding"]["owner"]["key"] != docs["Party"]["owner"]["key"]
    # Alice's photos are hers: listed, never mirrored (no entry in the album folder)
    assert len(docs["Wedding"]["members"]) == 2
    assert all(m["entry"] == "" for m in docs["Wedding"]["members"])
    # the user's own photo in Bob's album has its entry, as in any album
    entries = {m["photo_uid"]: m["entry"] for m in docs["Party"]["members"]}
    assert entries[mirrored.own_photo] != ""


def test_mirror_records_the_users_own_album_as_theirs(mirrored: Mirrored) -> None:
    trip = manifests(mirrored.mirror)["Trip"]
    assert trip["role"] == "owner"
    assert trip["owner"]["key"] == mirrored.source.auth.user_id
    assert trip["owner"]["name"] == mirrored.source.auth.name
    assert [m["photo_uid"] for m in trip["members"]] == [mirrored.own_photo]


# --- the restore ------------------------------------------------------------------------------


def test_restore_into_immich_leaves_shared_albums_out_and_says_so(
        mirrored: Mirrored, tmp_path: Path) -> None:
    with FakeImmich(generation="v3") as target:
        carol_trip = ImmichUser(target).album_shared_with_me(
            "Trip", [("C_1.jpg", blob("carol 1"))], role="editor", owner_name="Carol")
        first, second = restore_twice(mirrored, tmp_path, {
            "kind": "immich", "url": target.url, "api_key": target.add_key(("all",))})
        for report in (first, second):
            assert_left_out_and_said(report)
        assert first.albums_created == 1 and second.albums_created == 0
        assert second.members_added == 0
        own = [a for a in target.lib.albums.values() if a.owner is None]
        assert [a.name for a in own] == ["Trip"]  # neither "Wedding" nor "Party" made
        assert len(own[0].asset_ids) == 1
        assert target.lib.assets[own[0].asset_ids[0]].original_file_name == "IMG_0100.jpg"
        assert len(target.lib.albums[carol_trip].asset_ids) == 1  # Carol's "Trip" untouched


def test_restore_into_photoprism_leaves_shared_albums_out_and_says_so(
        mirrored: Mirrored, tmp_path: Path) -> None:
    with FakePhotoPrism(password=PASSWORD, new_api=True) as target:
        first, second = restore_twice(mirrored, tmp_path, {
            "url": target.url, "username": "admin", "password": PASSWORD})
        for report in (first, second):
            assert_left_out_and_said(report)
        albums = [a for a in target.albums() if a.type == "album"]
        assert [a.title for a in albums] == ["Trip"]
        assert len(albums[0].photo_uids) == 1


def test_a_manifest_without_owner_from_an_older_mirror_restores_as_the_users_own(
        mirrored: Mirrored, tmp_path: Path) -> None:
    with ExitStack() as stack:
        mirror = tmp_path / "old"
        import shutil

        shutil.copytree(mirrored.mirror, mirror, symlinks=True)
        for path in mirror.rglob(".album.json"):
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc["title"] == "Trip":
                del doc["owner"], doc["role"]
                path.write_text(json.dumps(doc), encoding="utf-8")
            else:
                path.unlink()
        target = stack.enter_context(FakePhotoPrism(password=PASSWORD, new_api=True))
        old = Mirrored(mirrored.generation, mirrored.source, mirror, mirrored.config,
                       mirrored.own_photo)
        first, _ = restore_twice(old, tmp_path, {
            "url": target.url, "username": "admin", "password": PASSWORD})
        assert first.exit_code == 0 and first.failures == [], first
        assert left_out(first) == {}
        assert [a.title for a in target.albums() if a.type == "album"] == ["Trip"]


def test_photoprism_albums_are_recorded_as_the_users_own(tmp_path: Path) -> None:
    """PhotoPrism shares albums by link only, never between accounts: each is the user's."""
    with FakePhotoPrism(password=PASSWORD, new_api=True) as source:
        photo = source.add_photo([("2024/05/IMG_0100.jpg", blob("pp 0100"))])
        source.add_album("Trips", photo_uids=[photo.uid])
        mirror = tmp_path / "mirror"
        mirror.mkdir()
        path = config_file(tmp_path / "ppsync.toml", {
            "url": source.url, "username": "admin", "password": PASSWORD}, mirror,
            {"albums": {"mode": "symlink"}})
        assert run_sync(load_config(path, {})).exit_code == 0
        trips = manifests(mirror)["Trips"]
        assert trips["role"] == "owner"
        assert trips["owner"]["key"] == source.user_uid and trips["owner"]["key"]
        assert trips["owner"]["name"] == "admin"
