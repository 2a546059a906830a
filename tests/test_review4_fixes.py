"""Fixes for review 4 (tests/test_review4.py on the review4 branch), findings 1 and 4 of the
fix brief: each test failed before its fix. Against the fakes over loopback, with a real state
and real files."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from ppsync.config import load_config
from ppsync.mirror.sync import run_sync
from tests.conftest import ConfigFactory, run_cli
from tests.fake_immich import FakeImmich, ImmichUser
from tests.kinds import Library
from tests.test_review3_fixes import T0, _sidecar_config


def test_review4_unplugged_mid_pass_leaving_an_empty_mount_point(
    lib: Library, target: Path, tmp_path: Path, lib_config: ConfigFactory
) -> None:
    keys = [lib.add(f"p{n}.jpg", f"c{n}".encode()) for n in range(3)]
    # the state kept outside the target: the README's documented guard for an empty target
    settings = load_config(lib_config(mirror={"delete": "mirror",
                                              "state": str(tmp_path / "state.db")}), {})
    assert run_sync(settings).exit_code == 0
    lib.remove(keys[0])
    (target / lib.path("p1.jpg")).unlink()
    lib.set_download_delay(1.0)
    parked = tmp_path / "unplugged"

    def unplug() -> None:  # the disk goes; its mount point folder (on the root disk) stays
        target.rename(parked)
        target.mkdir()

    threading.Timer(0.4, unplug).start()
    report = run_sync(settings)
    lib.set_download_delay(0)
    created = sorted(str(p.relative_to(target)) for p in target.rglob("*"))
    assert report.exit_code == 4, (report.exit_code, report.deleted, report.failures)
    assert report.deleted == 0  # no removal on the strength of a gone disk
    assert created == []  # nothing written onto the root disk's bare mount point
    # the disk plugged back in: the pass removes the photo gone from the server, and only it
    target.rmdir()
    parked.rename(target)
    after = run_sync(settings)
    assert after.exit_code == 0 and after.deleted == 1
    assert not (target / lib.path("p0.jpg")).exists()
    assert (target / lib.path("p1.jpg")).read_bytes() == b"c1"


def test_review4_album_names_arrive_once_album_read_is_granted(tmp_path: Path,
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
