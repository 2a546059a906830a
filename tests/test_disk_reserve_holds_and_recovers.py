"""``[mirror] min_free`` on a real small disk (an 8 MiB tmpfs), for both kinds of server: the
downloads that would eat into the reserve are not started, the pass ends cleanly (state written,
every file at a final path whole and the server's, no removal, exit 1 with one line saying
what waits), the failure is alerted once, and the next pass carries on when room appears.
With ``[retention] make_room`` the oldest set-aside items are pruned first, and reported."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ppsync.config import MonitorConfig, load_config
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.models import RunReport
from ppsync.service.monitor import Alerts
from ppsync.state import State
from tests.conftest import config_file, mirrored_files, tmpfs
from tests.kinds import Library
from tests.test_retention_prunes_only_what_expired import Clock, aside

MiB = 1024 * 1024


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 8 MiB filesystem (tmpfs). Needs root to mount."""
    with tmpfs(tmp_path / "tiny", "8m") as disk:
        yield disk


def free(path: Path) -> int:
    info = os.statvfs(path)
    return info.f_bavail * info.f_frsize


def run(lib: Library, tmp_path: Path, target: Path, clock: Clock,
        **sections: dict[str, Any]) -> RunReport:
    config = config_file(tmp_path / "ppsync.toml", lib.server_section(), target, sections)
    return run_sync(load_config(config, {}), PassOptions(clock=clock))


def assert_every_final_file_is_the_servers(lib: Library, target: Path,
                                           left_server: frozenset[str] = frozenset()) -> None:
    """Whole and verified at every final path (but those of ``left_server``, still kept);
    nothing in flight outside partial/."""
    server = lib.hashes()
    for path, body in mirrored_files(target).items():
        if path not in left_server:
            assert server[path] == hashlib.sha1(body).hexdigest(), path
    assert not [p for p in target.rglob("*.part") if p.parent.name != "partial"]


def test_downloads_stop_at_the_reserve_and_the_next_pass_goes_on_when_room_appears(
        lib: Library, tmp_path: Path, tiny_disk: Path) -> None:
    target = tiny_disk / "mirror"
    target.mkdir()
    filler = tiny_disk / "someone-elses-file"  # what else the NAS keeps on the disk
    filler.write_bytes(b"\0" * (2 * MiB))
    keep = lib.add("2024/KEEP.jpg", b"k" * 1000)
    gone = lib.add("2024/GONE.jpg", b"g" * 1000)
    clock = Clock()
    sections: dict[str, dict[str, Any]] = {"mirror": {"min_free": "2MiB", "delete": "mirror"}}
    assert run(lib, tmp_path, target, clock, **sections).exit_code == 0
    assert keep and (target / lib.path("2024/GONE.jpg")).exists()

    photos = {f"2024/V{n}.mp4": os.urandom(MiB) for n in range(5)}
    for name, body in photos.items():
        lib.add(name, body)
    lib.remove(gone)  # would be removed by a clean full walk: not by this one
    notes = tmp_path / "notifications"
    script = tmp_path / "notify.py"
    script.write_text("import os, sys\n"
                      f"with open({str(notes)!r}, 'a') as out:\n"
                      "    out.write(os.environ['PPSYNC_EVENT'] + ' ' + "
                      "os.environ['PPSYNC_EXIT_CODE'] + '\\n')\n")
    alerts = Alerts(MonitorConfig(notify_command=f"{sys.executable} {script}"))
    report = run(lib, tmp_path, target, clock, **sections)
    alerts.pass_finished(report)
    assert report.exit_code == 1 and report.error_type == "DiskFull"
    assert report.error.startswith("disk nearly full: ") and " free, 2.0 MiB reserved " in \
        report.error and f"{report.waiting_for_room} files " in report.error
    assert 1 <= report.waiting_for_room <= 4 and report.downloaded == 5 - report.waiting_for_room
    assert report.waiting_bytes == report.waiting_for_room * MiB
    assert free(target) >= 2 * MiB  # the reserve held
    assert (target / lib.path("2024/GONE.jpg")).exists()  # nothing removed on its strength
    assert_every_final_file_is_the_servers(lib, target, frozenset({lib.path("2024/GONE.jpg")}))
    state = State.open(target / ".ppsync" / "state.db")
    try:  # the state was written: what landed is recorded
        assert state.count_active() == 2 + report.downloaded
        assert state.last_runs(1)[0]["exit_code"] == 1
    finally:
        state.close()

    again = run(lib, tmp_path, target, clock, **sections)  # still no room: the same, no alert
    alerts.pass_finished(again)
    assert again.exit_code == 1 and again.downloaded == 0
    assert again.waiting_for_room == report.waiting_for_room
    assert notes.read_text() == "failure 1\n"  # the failure alerted once

    filler.unlink()  # room appears
    clock.day(1)
    last = run(lib, tmp_path, target, clock, **sections)
    alerts.pass_finished(last)
    assert last.exit_code == 0 and last.downloaded == report.waiting_for_room
    assert last.waiting_for_room == 0 and last.deleted == 1
    assert_every_final_file_is_the_servers(lib, target)
    assert {lib.path(n) for n in photos} <= set(mirrored_files(target))
    assert free(target) >= 2 * MiB
    assert notes.read_text() == "failure 1\nrecovery 0\n"  # and its recovery


def test_make_room_prunes_the_oldest_set_aside_items_to_keep_the_reserve(
        lib: Library, tmp_path: Path, tiny_disk: Path) -> None:
    target = tiny_disk / "mirror"
    target.mkdir()
    (tiny_disk / "someone-elses-file").write_bytes(b"\0" * (MiB + MiB // 4))
    keys = [lib.add(f"2024/P{n}.mp4", os.urandom(MiB)) for n in range(4)]
    clock = Clock()
    sections: dict[str, dict[str, Any]] = {
        "mirror": {"min_free": "2MiB", "delete": "trash", "max_delete_percent": 100},
        "retention": {"make_room": True}}
    assert run(lib, tmp_path, target, clock, **sections).exit_code == 0
    clock.day(3)
    lib.remove(keys[1])
    assert run(lib, tmp_path, target, clock, **sections).trashed == 1
    clock.day(5)
    lib.remove(keys[0])
    assert run(lib, tmp_path, target, clock, **sections).trashed == 1
    oldest, newest = (f"trash/{lib.path(f'2024/P{n}.mp4')}" for n in (1, 0))
    assert set(aside(target)) == {oldest, newest}

    clock.day(6)
    lib.add("2024/NEW.mp4", os.urandom(MiB))  # fits only once something set aside goes
    report = run(lib, tmp_path, target, clock, **sections)
    assert report.exit_code == 0 and report.downloaded == 1
    assert (report.pruned, report.pruned_bytes) == (1, MiB)
    assert set(aside(target)) == {newest}  # the oldest went, and only it
    assert free(target) >= 2 * MiB
    assert_every_final_file_is_the_servers(lib, target)
    assert lib.path("2024/NEW.mp4") in mirrored_files(target)


def test_the_reserve_is_off_at_zero_and_measured_against_the_disk_in_percent(
        lib: Library, tmp_path: Path, tiny_disk: Path) -> None:
    target = tiny_disk / "mirror"
    target.mkdir()
    lib.add("2024/A.mp4", os.urandom(3 * MiB))
    lib.add("2024/B.mp4", os.urandom(3 * MiB))
    clock = Clock()
    waits = run(lib, tmp_path, target, clock, mirror={"min_free": "50%"})  # 4 MiB of 8
    assert waits.exit_code == 1 and waits.downloaded == 1 and waits.waiting_for_room == 1
    assert free(target) >= 4 * MiB
    off = run(lib, tmp_path, target, clock, mirror={"min_free": 0})  # as before: all of it
    assert off.exit_code == 0 and off.downloaded == 1
    assert_every_final_file_is_the_servers(lib, target)
