"""Fixes for review 4 (tests/test_review4.py on the review4 branch), findings 1 and 4 of the
fix brief: each test failed before its fix. Against the fakes over loopback, with a real state
and real files."""

from __future__ import annotations

import threading
from pathlib import Path

from ppsync.config import load_config
from ppsync.mirror.sync import run_sync
from tests.conftest import ConfigFactory
from tests.kinds import Library


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


