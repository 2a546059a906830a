"""Sidecars name the photo's albums (Immich; issue 9 findings 11 and 12, reviews 3 and 4): from
the state's album tables every time a sidecar is written again, with or without album folders,
and in the daemon, whose server lives across passes. A key without ``album.read`` still gets its
sidecars, written without album names (one warning a pass, and ``check`` names what it costs);
while it waits for the names a pass costs no request per photo, and once the permission is
granted the names arrive.

Against the fake Immich of the v2.5.6 generation over real loopback HTTP, with a real state and
real files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli, write_config
from tests.fake_immich import FakeImmich, ImmichUser
from tests.test_immich_mirror_follows_library_changes import _sidecar, photos, settings_for, sync

T0 = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeImmich]:
    with FakeImmich(generation="v2.5") as f:
        yield f


def _sidecar_config(fake: FakeImmich, tmp_path: Path, target: Path, key: str) -> Path:
    return write_config(tmp_path / "c.toml", {
        "server": {"kind": "immich", "url": fake.url, "api_key": key, "timeout": 10,
                   "retries": 1, "retry_backoff": 0.01},
        "mirror": {"target": str(target)},
        "metadata": {"sidecars": "json"}})


def test_sidecars_without_album_read_are_written_without_album_names(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    """The README asks album.read only for album folders: a key without it still gets its
    sidecars, pass after pass, with one warning a pass; `check` names what it costs."""
    user = ImmichUser(fake)
    asset = user.upload("a.jpg", b"a" * 300, taken=T0)
    user.add_to_album(user.create_album("Holidays"), asset)
    key = fake.add_key(("asset.read", "asset.view", "asset.download", "user.read",
                        "asset.statistics"))
    config = _sidecar_config(fake, tmp_path, target, key)
    check = run_cli(config, "check")
    out = check.stdout + check.stderr
    assert "cannot serve sidecars (album names): the API key lacks album.read" in out, out
    assert "lacking album.read" in out, out
    for n in range(2):  # the second pass reads the albums again (a new pass), and warns again
        user.describe(asset, f"pass {n}")  # its sidecar is written again
        result = run_cli(config, "sync")
        out = result.stdout + result.stderr
        assert result.returncode == 0, out
        sidecars = [p for p in target.rglob("*.json") if ".ppsync" not in p.parts]
        assert len(sidecars) == 1, f"pass {n}: {out}"
        assert json.loads(sidecars[0].read_text())["albums"] == [], sidecars[0].read_text()
        assert f"pass {n}" in sidecars[0].read_text()
        assert out.count("the sidecars of this pass name no album") == 1, out


def test_the_album_map_asks_for_member_ids_only(fake: FakeImmich, tmp_path: Path,
                                                target: Path) -> None:
    """The map behind the sidecars' albums holds ids: its member searches ask no EXIF."""
    user = ImmichUser(fake)
    asset = user.upload("a.jpg", b"a" * 300, taken=T0)
    album = user.create_album("Holidays")
    user.add_to_album(album, asset)
    config = _sidecar_config(fake, tmp_path, target, fake.add_key(("all",)))
    seen: list[dict[str, Any]] = []
    fake.faults.after_search = seen.append
    assert run_cli(config, "sync").returncode == 0
    sidecars = [p for p in target.rglob("*.json") if ".ppsync" not in p.parts]
    assert [json.loads(p.read_text())["albums"] for p in sidecars] == [[album]]
    members = [body for body in seen if body.get("albumIds")]
    assert members and not any(body.get("withExif") for body in members), members


def test_album_names_arrive_once_album_read_is_granted(tmp_path: Path,
                                                        target: Path) -> None:
    with FakeImmich(generation="v2.5") as fake:
        user = ImmichUser(fake)
        asset = user.upload("a.jpg", b"a" * 300, taken=T0)
        album = user.create_album("Holidays")
        user.add_to_album(album, asset)
        narrow = fake.add_key(("asset.read", "asset.view", "asset.download", "user.read",
                               "asset.statistics"))
        assert run_cli(_sidecar_config(fake, tmp_path, target, narrow), "sync").returncode == 0
        sidecars = [p for p in target.rglob("*.json") if ".ppsync" not in p.parts]
        assert [json.loads(p.read_text())["albums"] for p in sidecars] == [[]]
        full = _sidecar_config(fake, tmp_path, target, fake.add_key(("all",)))
        for _ in range(2):  # the permission granted: full walks from now on
            assert run_cli(full, "sync").returncode == 0
        assert [json.loads(p.read_text())["albums"] for p in sidecars] == [[album]]


def test_sidecars_waiting_for_album_names_cost_no_request_per_photo(tmp_path: Path,
                                                                    target: Path) -> None:
    """While the key still lacks album.read, a pass with no change asks the albums once and no
    photo's details; once the names are written, a no-op pass asks neither."""
    with FakeImmich(generation="v2.5") as fake:
        user = ImmichUser(fake)
        assets = [user.upload(f"{n}.jpg", bytes([n + 1]) * 300, taken=T0) for n in range(3)]
        album = user.create_album("Holidays")
        user.add_to_album(album, assets[0])
        narrow = _sidecar_config(fake, tmp_path, target, fake.add_key(
            ("asset.read", "asset.view", "asset.download", "user.read", "asset.statistics")))
        assert run_cli(narrow, "sync").returncode == 0
        fake.reset_counters()
        assert run_cli(narrow, "sync").returncode == 0
        assert fake.requests_to("/assets/", "GET") == []  # no photo's details
        assert len(fake.requests_to("/albums", "GET")) == 1  # can the albums be read yet?
        full = _sidecar_config(fake, tmp_path, target, fake.add_key(("all",)))
        assert run_cli(full, "sync").returncode == 0
        names = {json.loads(p.read_text())["photo_uid"]: json.loads(p.read_text())["albums"]
                 for p in target.rglob("*.json") if ".ppsync" not in p.parts}
        assert names == {assets[0]: [album], assets[1]: [], assets[2]: []}
        fake.reset_counters()
        assert run_cli(full, "sync").returncode == 0
        assert fake.requests_to("/assets/", "GET") == []
        assert fake.requests_to("/albums", "GET") == []


def test_a_sidecar_rewritten_later_keeps_the_photos_albums(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(fake)
    (photo,) = photos(user, 1)
    album = user.create_album("Trip", (photo,))
    settings = settings_for(fake, tmp_path, target, metadata={"sidecars": "json"},
                            albums={"mode": "symlink"})
    assert sync(settings).exit_code == 0
    assert _sidecar(target)["albums"] == [album]
    user.favourite(photo)
    assert sync(settings).exit_code == 0
    data = _sidecar(target)
    assert data["favorite"] is True
    assert data["albums"] == [album], data["albums"]


def test_a_sidecar_keeps_its_albums_without_album_folders(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    """With ``[albums] mode = "none"`` the album tables are empty; the sidecars still name the
    photo's albums, read once per pass that writes a sidecar."""
    user = ImmichUser(fake)
    (photo,) = photos(user, 1)
    album = user.create_album("Trip", (photo,))
    settings = settings_for(fake, tmp_path, target, metadata={"sidecars": "json"})
    assert sync(settings).exit_code == 0
    assert _sidecar(target)["albums"] == [album]
    user.favourite(photo)
    assert sync(settings).exit_code == 0
    assert _sidecar(target)["albums"] == [album]


def test_a_photo_taken_out_of_an_album_loses_it_in_its_sidecar_in_the_daemon(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    from ppsync.servers import open_server
    user = ImmichUser(fake)
    (photo,) = photos(user, 1)
    album = user.create_album("Trip", (photo,))
    settings = settings_for(fake, tmp_path, target, metadata={"sidecars": "json"},
                            albums={"mode": "symlink"})
    server = open_server(settings.server)  # the daemon keeps one server for every pass
    try:
        assert sync(settings, server=server).exit_code == 0
        assert _sidecar(target)["albums"] == [album]
        user.remove_from_album(album, photo)
        assert sync(settings, server=server).exit_code == 0
        assert _sidecar(target)["albums"] == []
    finally:
        server.close()
