"""Invariant 2 and 3: nothing deleted on an incomplete listing or past the limits; nothing
written outside the target; a missing or unmounted target stops the run; one run per target."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from ppsync.config import load_config
from ppsync.errors import LockHeld, SafetyStop
from ppsync.lock import TargetLock
from ppsync.mirror.sync import run_sync
from ppsync.models import RunReport
from tests.conftest import ConfigFactory, mirrored_files, run_cli
from tests.fake_photoprism import FakePhotoPrism

Sync = Callable[..., RunReport]


def ten_photos(server: FakePhotoPrism) -> list[str]:
    return [server.add_photo([(f"p{n}.jpg", f"c{n}".encode())]).uid for n in range(10)]


@pytest.mark.parametrize("policy", ["keep", "trash", "mirror"])
def test_empty_listing_never_deletes(server: FakePhotoPrism, target: Path, sync: Sync,
                                     policy: str) -> None:
    ten_photos(server)
    assert sync(mirror={"delete": policy}).exit_code == 0
    server.faults.empty_listing = True
    report = sync(mirror={"delete": policy, "max_delete_percent": 100, "max_delete": 1000})
    assert report.exit_code == 4 and report.safety_stop
    assert len(mirrored_files(target)) == 10
    assert report.trashed == report.deleted == report.forgotten == 0


@pytest.mark.parametrize("policy", ["trash", "mirror"])
def test_truncated_listing_never_deletes(server: FakePhotoPrism, target: Path, sync: Sync,
                                         policy: str) -> None:
    ten_photos(server)
    assert sync(mirror={"delete": policy}).exit_code == 0
    server.faults.listing_limit_rows = 6  # the server stops listing early; counts stay true
    report = sync(mirror={"delete": policy, "max_delete_percent": 100})
    assert report.exit_code == 4
    assert "incomplete" in report.safety_stop
    assert len(mirrored_files(target)) == 10


def test_library_changing_during_walk_postpones_deletions(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    uids = ten_photos(server)
    assert sync(mirror={"delete": "mirror"}).exit_code == 0
    server.delete_photo(uids[0])
    server.faults.count_drift = 1  # counts differ between before and after the walk
    report = sync(mirror={"delete": "mirror"})
    assert report.exit_code == 4 and report.deleted == 0
    assert (target / "p0.jpg").exists()


def test_a_star_and_a_new_album_during_a_walk_do_not_postpone_deletions(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    uids = ten_photos(server)
    assert sync(mirror={"delete": "mirror"}).exit_code == 0
    server.delete_photo(uids[0])

    def star_and_album_after_the_first_page(query: dict[str, str]) -> None:
        if query.get("offset") == "0" and server.faults.after_search:
            server.faults.after_search = None
            server.like_photo(uids[5])  # count.favorites moves
            server.add_album("Holiday", photo_uids=[uids[6]])  # count.albums moves

    server.faults.after_search = star_and_album_after_the_first_page
    report = sync(mirror={"delete": "mirror", "page_size": 3})
    assert server.faults.after_search is None  # it did run mid-walk
    assert report.exit_code == 0, report.safety_stop
    assert report.deleted == 1 and not (target / "p0.jpg").exists()
    assert len(mirrored_files(target)) == 9


def test_max_delete_stops_the_run_and_removes_nothing(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    uids = ten_photos(server)
    assert sync(mirror={"delete": "mirror"}).exit_code == 0
    for uid in uids[:3]:
        server.delete_photo(uid)
    report = sync(mirror={"delete": "mirror", "max_delete": 2})
    assert report.exit_code == 4 and "max_delete" in report.safety_stop
    assert len(mirrored_files(target)) == 10
    report = sync(mirror={"delete": "mirror", "max_delete": 3})
    assert report.exit_code == 0 and report.deleted == 3
    assert len(mirrored_files(target)) == 7


def test_sharp_shrink_stops_even_within_max_delete(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    uids = ten_photos(server)
    assert sync(mirror={"delete": "trash"}).exit_code == 0
    for uid in uids[:6]:
        server.delete_photo(uid)
    report = sync(mirror={"delete": "trash", "max_delete": 100})
    assert report.exit_code == 4 and "max_delete_percent" in report.safety_stop
    assert len(mirrored_files(target)) == 10


def test_missing_target_is_a_safety_stop_and_is_never_created(
    make_config: ConfigFactory, tmp_path: Path
) -> None:
    missing = tmp_path / "usb" / "mirror"
    config = make_config(mirror={"target": str(missing)})
    result = run_cli(config, "sync")
    assert result.returncode == 4
    assert "does not exist" in result.stderr
    assert not (tmp_path / "usb").exists()


def test_require_mount_refuses_a_plain_folder(make_config: ConfigFactory) -> None:
    settings = load_config(make_config(mirror={"require_mount": True}), {})
    with pytest.raises(SafetyStop, match="mount point"):
        run_sync(settings)


def test_state_outside_target_with_empty_target_stops(
    server: FakePhotoPrism, target: Path, tmp_path: Path, sync: Sync
) -> None:
    ten_photos(server)
    state = tmp_path / "state.db"
    assert sync(mirror={"state": str(state)}).exit_code == 0
    for entry in target.iterdir():  # the disk "is swapped for an empty one"
        if entry.name != ".ppsync":
            entry.unlink()
    with pytest.raises(SafetyStop, match="mounted"):
        sync(mirror={"state": str(state)})


def test_hostile_names_are_refused_and_nothing_leaves_the_target(
    server: FakePhotoPrism, target: Path, tmp_path: Path, sync: Sync
) -> None:
    good = server.add_photo([("good.jpg", b"good")])
    hostile = ["../escape.jpg", "/tmp/absolute.jpg", "a/../../escape2.jpg", "nul\x00.jpg",
               "x" * 300 + ".jpg", ".ppsync/state.db"]
    for n, name in enumerate(hostile):
        photo = server.add_photo([(f"placeholder{n}.jpg", f"h{n}".encode())])
        server.set_file_name_raw(photo.files[0].uid, name)
    before = set(tmp_path.rglob("*"))
    report = sync()
    assert report.exit_code == 1
    assert report.failed == len(hostile)
    assert mirrored_files(target) == {"good.jpg": b"good"}
    created = {p for p in set(tmp_path.rglob("*")) - before if target not in p.parents
               and p != target and p.name != "ppsync.toml"}
    assert created == set()
    assert not Path("/tmp/absolute.jpg").exists()
    assert good.files[0].uid


def test_symlinked_folder_leading_out_is_never_written_through(
    server: FakePhotoPrism, target: Path, tmp_path: Path, sync: Sync
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (target / "2024").symlink_to(outside, target_is_directory=True)
    inside = target / "inside"
    inside.mkdir()
    (target / "alias").symlink_to(inside, target_is_directory=True)
    server.add_photo([("2024/a.jpg", b"a")])
    server.add_photo([("alias/b.jpg", b"b")])
    report = sync()
    assert report.exit_code == 1 and report.failed == 1
    assert list(outside.iterdir()) == []
    assert (inside / "b.jpg").read_bytes() == b"b"


def test_symlink_at_final_path_is_replaced_not_written_through(
    server: FakePhotoPrism, target: Path, tmp_path: Path, sync: Sync
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"do not touch")
    (target / "a.jpg").symlink_to(victim)
    server.add_photo([("a.jpg", b"photo")])
    assert sync().exit_code == 0
    assert victim.read_bytes() == b"do not touch"
    assert not (target / "a.jpg").is_symlink()
    assert (target / "a.jpg").read_bytes() == b"photo"


def test_second_run_on_the_same_target_exits_5(
    server: FakePhotoPrism, target: Path, make_config: ConfigFactory
) -> None:
    server.add_photo([("a.jpg", b"a")])
    config = make_config()
    (target / ".ppsync").mkdir()
    with TargetLock(target / ".ppsync" / "lock"):
        result = run_cli(config, "sync")
        assert result.returncode == 5
        assert "another ppsync run" in result.stderr
        with pytest.raises(LockHeld):
            run_sync(load_config(config, {}))
    assert run_cli(config, "sync").returncode == 0


def test_state_database_is_private(server: FakePhotoPrism, target: Path, sync: Sync) -> None:
    server.add_photo([("a.jpg", b"a")])
    assert sync().exit_code == 0
    for name in ("state.db", "lock"):
        mode = os.stat(target / ".ppsync" / name).st_mode & 0o777
        assert mode == 0o600, (name, oct(mode))
