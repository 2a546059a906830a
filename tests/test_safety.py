"""Invariant 2 and 3: nothing deleted on an incomplete listing or past the limits; nothing
written outside the target, nor moved out of it or into it from outside through a symlink in
.ppsync/trash; a missing or unmounted target stops the run, even when unplugged mid-pass with
its bare mount point left behind; one run per target.
Each runs against both kinds of server (``lib``, ``tests/kinds.py``) unless it says why not."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ppsync.config import load_config
from ppsync.errors import LockHeld, SafetyStop
from ppsync.lock import TargetLock
from ppsync.mirror.sync import run_sync
from ppsync.models import RunReport
from tests.conftest import ConfigFactory, mirrored_files, run_cli
from tests.fake_photoprism import FakePhotoPrism
from tests.kinds import TAKEN, Library

Sync = Callable[..., RunReport]


def ten_photos(lib: Library) -> list[str]:
    return [lib.add(f"p{n}.jpg", f"c{n}".encode()) for n in range(10)]


@pytest.mark.parametrize("policy", ["keep", "trash", "mirror"])
def test_empty_listing_never_deletes(lib: Library, target: Path, lib_sync: Sync,
                                     policy: str) -> None:
    ten_photos(lib)
    assert lib_sync(mirror={"delete": policy}).exit_code == 0
    lib.empty_listing()
    report = lib_sync(mirror={"delete": policy, "max_delete_percent": 100, "max_delete": 1000})
    assert report.exit_code == 4 and report.safety_stop
    assert len(mirrored_files(target)) == 10
    assert report.trashed == report.deleted == report.forgotten == 0


@pytest.mark.parametrize("policy", ["trash", "mirror"])
def test_truncated_listing_never_deletes(lib: Library, target: Path, lib_sync: Sync,
                                         policy: str) -> None:
    ten_photos(lib)
    assert lib_sync(mirror={"delete": policy}).exit_code == 0
    lib.limit_listing(6)  # the server stops listing early; its counts stay true
    report = lib_sync(mirror={"delete": policy, "max_delete_percent": 100})
    assert report.exit_code == 4
    assert "incomplete" in report.safety_stop  # the server's own totals say the walk is short
    assert len(mirrored_files(target)) == 10
    assert report.trashed == report.deleted == report.forgotten == 0


# PhotoPrism-only: count_drift moves PhotoPrism's own totals (/config counts) between before and
# after the walk; the test below changes a library mid-walk on both kinds.
def test_library_changing_during_walk_postpones_deletions(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    uids = [server.add_photo([(f"p{n}.jpg", f"c{n}".encode())]).uid for n in range(10)]
    assert sync(mirror={"delete": "mirror"}).exit_code == 0
    server.delete_photo(uids[0])
    server.faults.count_drift = 1  # counts differ between before and after the walk
    report = sync(mirror={"delete": "mirror"})
    assert report.exit_code == 4 and report.deleted == 0
    assert (target / "p0.jpg").exists()


@pytest.mark.parametrize("include_archived", [False, True])
def test_a_removal_mid_walk_that_shifts_the_pages_postpones_deletions(
    lib: Library, target: Path, lib_sync: Sync, include_archived: bool
) -> None:
    # Offset paging: a photo of the first page leaving mid-walk shifts every later row one place
    # back, so one photo that is still there is never listed. Nothing may go on such a walk.
    # Taken one minute apart: PhotoPrism lists the newest added first, Immich the oldest taken,
    # so p8 is on PhotoPrism's first page and p0 on Immich's.
    keys = [lib.add(f"p{n}.jpg", f"c{n}".encode(), TAKEN + timedelta(minutes=n))
            for n in range(10)]
    mirror = {"delete": "mirror", "page_size": 3, "include_archived": include_archived}
    assert lib_sync(mirror=mirror).exit_code == 0
    lib.remove(keys[9])
    lib.during_walk(lambda: [lib.remove(keys[n]) for n in (0, 8)])
    report = lib_sync(mirror=mirror)
    assert report.exit_code == 4 and report.safety_stop, report
    assert report.deleted == 0 and len(mirrored_files(target)) == 10
    report = lib_sync(mirror=mirror)  # the next, quiet walk removes all three
    assert report.exit_code == 0 and report.deleted == 3
    assert len(mirrored_files(target)) == 7


def test_a_star_and_a_new_album_during_a_walk_do_not_postpone_deletions(
    lib: Library, target: Path, lib_sync: Sync
) -> None:
    keys = ten_photos(lib)
    assert lib_sync(mirror={"delete": "mirror"}).exit_code == 0
    lib.remove(keys[0])

    def star_and_album() -> None:
        lib.favourite(keys[5])  # PhotoPrism's count.favorites moves; Immich's updatedAt
        lib.album("Holiday", [keys[6]])  # count.albums moves

    lib.during_walk(star_and_album)
    report = lib_sync(mirror={"delete": "mirror", "page_size": 3})
    assert report.exit_code == 0, report.safety_stop
    assert report.deleted == 1 and not (target / lib.path("p0.jpg")).exists()
    assert len(mirrored_files(target)) == 9


def test_max_delete_stops_the_run_and_removes_nothing(
    lib: Library, target: Path, lib_sync: Sync
) -> None:
    keys = ten_photos(lib)
    assert lib_sync(mirror={"delete": "mirror"}).exit_code == 0
    for key in keys[:3]:
        lib.remove(key)
    report = lib_sync(mirror={"delete": "mirror", "max_delete": 2})
    assert report.exit_code == 4 and "max_delete" in report.safety_stop
    assert len(mirrored_files(target)) == 10
    report = lib_sync(mirror={"delete": "mirror", "max_delete": 3})
    assert report.exit_code == 0 and report.deleted == 3
    assert len(mirrored_files(target)) == 7


def test_sharp_shrink_stops_even_within_max_delete(
    lib: Library, target: Path, lib_sync: Sync
) -> None:
    keys = ten_photos(lib)
    assert lib_sync(mirror={"delete": "trash"}).exit_code == 0
    for key in keys[:6]:
        lib.remove(key)
    report = lib_sync(mirror={"delete": "trash", "max_delete": 100})
    assert report.exit_code == 4 and "max_delete_percent" in report.safety_stop
    assert len(mirrored_files(target)) == 10


def test_missing_target_is_a_safety_stop_and_is_never_created(
    lib: Library, lib_config: ConfigFactory, tmp_path: Path
) -> None:
    missing = tmp_path / "usb" / "mirror"
    config = lib_config(mirror={"target": str(missing)})
    result = run_cli(config, "sync")
    assert result.returncode == 4
    assert "does not exist" in result.stderr
    assert not (tmp_path / "usb").exists()


@pytest.mark.parametrize("moment", ["listing", "download"])
def test_a_target_unplugged_mid_pass_is_a_safety_stop(
    lib: Library, target: Path, tmp_path: Path, lib_config: ConfigFactory, moment: str
) -> None:
    # The USB disk goes away while a pass runs: what the pass then fails at is the disk, and
    # the pass ends as the safety stop the next one would be (exit 4), never as file failures;
    # the target is never created again on the root disk, and no record is dropped.
    keys = [lib.add(f"p{n}.jpg", f"c{n}".encode()) for n in range(3)]
    settings = load_config(lib_config(mirror={"delete": "mirror"}), {})
    assert run_sync(settings).exit_code == 0
    lib.remove(keys[0])
    if moment == "listing":
        lib.set_listing_delay(1.0)
    else:
        (target / lib.path("p1.jpg")).unlink()
        lib.set_download_delay(1.0)
    parked = tmp_path / "unplugged"
    threading.Timer(0.4, target.rename, (parked,)).start()
    report = run_sync(settings)
    assert report.exit_code == 4, report
    assert "target" in report.safety_stop and "during the pass" in report.safety_stop
    assert report.deleted == 0 and not target.exists()
    parked.rename(target)
    lib.set_listing_delay(0)
    lib.set_download_delay(0)
    report = run_sync(settings)  # plugged in again: the pass the disk interrupted is done
    assert report.exit_code == 0 and report.deleted == 1
    assert set(mirrored_files(target)) == {lib.path("p1.jpg"), lib.path("p2.jpg")}


def test_require_mount_refuses_a_plain_folder(lib: Library, lib_config: ConfigFactory) -> None:
    settings = load_config(lib_config(mirror={"require_mount": True}), {})
    with pytest.raises(SafetyStop, match="mount point"):
        run_sync(settings)


def test_state_outside_target_with_empty_target_stops(
    lib: Library, target: Path, tmp_path: Path, lib_sync: Sync
) -> None:
    ten_photos(lib)
    state = tmp_path / "state.db"
    assert lib_sync(mirror={"state": str(state)}).exit_code == 0
    for entry in target.rglob("*"):  # the disk "is swapped for an empty one"
        if entry.is_file() and ".ppsync" not in entry.parts:
            entry.unlink()
    for entry in sorted(target.rglob("*"), reverse=True):
        if entry.is_dir() and ".ppsync" not in entry.parts:
            entry.rmdir()
    with pytest.raises(SafetyStop, match="mounted"):
        lib_sync(mirror={"state": str(state)})


HOSTILE = ["../escape.jpg", "/tmp/absolute.jpg", "a/../../escape2.jpg", "nul\x00.jpg",
           "x" * 300 + ".jpg", ".ppsync/state.db", "..", "../../.ppsync/x.jpg"]


def test_hostile_names_are_refused_and_nothing_leaves_the_target(
    lib: Library, target: Path, tmp_path: Path, lib_sync: Sync
) -> None:
    lib.add("good.jpg", b"good")
    hostile = [name for name in HOSTILE if lib.accepts_name(name)]
    for n, name in enumerate(hostile):
        lib.add_named(name, f"h{n}".encode())
    before = set(tmp_path.rglob("*"))
    report = lib_sync()
    assert report.exit_code == 1
    assert report.failed == len(hostile)
    assert mirrored_files(target) == {lib.path("good.jpg"): b"good"}
    created = {p for p in set(tmp_path.rglob("*")) - before if target not in p.parents
               and p != target and p.name != "ppsync.toml"}
    assert created == set()
    assert not Path("/tmp/absolute.jpg").exists()


def test_symlinked_folder_leading_out_is_never_written_through(
    lib: Library, target: Path, tmp_path: Path, lib_sync: Sync
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    inside = target / "inside"
    inside.mkdir()
    earlier = datetime(2023, 3, 1, 12, tzinfo=UTC)
    a_path, b_path = lib.path("2024/a.jpg"), lib.path("alias/b.jpg", earlier)
    (target / a_path.split("/")[0]).symlink_to(outside, target_is_directory=True)
    alias, b_rest = b_path.split("/", 1)
    (target / alias).symlink_to(inside, target_is_directory=True)
    lib.add("2024/a.jpg", b"a")
    lib.add("alias/b.jpg", b"b", earlier)
    report = lib_sync()
    assert report.exit_code == 1 and report.failed == 1
    assert list(outside.iterdir()) == []
    assert (inside / b_rest).read_bytes() == b"b"


def test_symlink_at_final_path_is_replaced_not_written_through(
    lib: Library, target: Path, tmp_path: Path, lib_sync: Sync
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"do not touch")
    final = target / lib.path("a.jpg")
    final.parent.mkdir(parents=True, exist_ok=True)
    final.symlink_to(victim)
    lib.add("a.jpg", b"photo")
    assert lib_sync().exit_code == 0
    assert victim.read_bytes() == b"do not touch"
    assert not final.is_symlink()
    assert final.read_bytes() == b"photo"


def test_second_run_on_the_same_target_exits_5(
    lib: Library, target: Path, lib_config: ConfigFactory
) -> None:
    lib.add("a.jpg", b"a")
    config = lib_config()
    (target / ".ppsync").mkdir()
    with TargetLock(target / ".ppsync" / "lock"):
        result = run_cli(config, "sync")
        assert result.returncode == 5
        assert "another ppsync run" in result.stderr
        with pytest.raises(LockHeld):
            run_sync(load_config(config, {}))
    assert run_cli(config, "sync").returncode == 0


def test_state_database_is_private(lib: Library, target: Path, lib_sync: Sync) -> None:
    lib.add("a.jpg", b"a")
    assert lib_sync().exit_code == 0
    for name in ("state.db", "lock"):
        mode = os.stat(target / ".ppsync" / name).st_mode & 0o777
        assert mode == 0o600, (name, oct(mode))


def test_a_target_unplugged_mid_pass_leaving_an_empty_mount_point_gets_nothing_written(
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


def test_take_back_never_moves_a_file_from_outside_the_target(
    lib: Library, target: Path, tmp_path: Path, lib_config: ConfigFactory
) -> None:
    keys = [lib.add(f"2024/05/f{n}.jpg", f"c{n}".encode() * 500) for n in range(2)]
    rel = lib.path("2024/05/f0.jpg")
    mirror = {"delete": "trash", "include_archived": False}
    settings = load_config(lib_config(mirror=mirror), {})
    assert run_sync(settings).exit_code == 0
    lib.archive(keys[0])
    assert run_sync(settings).trashed == 1
    trash = target / ".ppsync" / "trash"
    top = rel.split("/")[0]
    # The user's own photo folder (outside the target) holds the same original; the trash's
    # top folder now leads there (moved away to free space and linked, say).
    outside = tmp_path / "my-photos"
    (outside / rel).parent.mkdir(parents=True)
    (outside / rel).write_bytes(b"c0" * 500)
    (trash / top).rename(tmp_path / "old-trash")
    (trash / top).symlink_to(outside / top)
    lib.unarchive(keys[0])
    assert run_sync(settings).exit_code == 0
    assert (target / rel).read_bytes() == b"c0" * 500
    assert (outside / rel).exists()  # the user's file outside the target stays where it was


def test_a_removal_never_moves_a_photo_out_through_a_symlink_in_the_trash(
    lib: Library, target: Path, tmp_path: Path, lib_config: ConfigFactory
) -> None:
    keys = [lib.add(f"2024/05/g{n}.jpg", f"g{n}".encode() * 500) for n in range(3)]
    rel = lib.path("2024/05/g0.jpg")
    settings = load_config(lib_config(mirror={"delete": "trash", "max_delete_percent": 100}),
                           {})
    assert run_sync(settings).exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    trash = target / ".ppsync" / "trash"
    trash.mkdir(parents=True, exist_ok=True)
    (trash / rel.split("/")[0]).symlink_to(elsewhere)  # a link the user made in the trash
    lib.remove(keys[0])
    report = run_sync(settings)
    assert report.exit_code == 1 and report.trashed == 0, report
    assert "symlink" in report.failures[0].reason
    assert not any(elsewhere.rglob("*"))  # nothing moved, no folder made, outside the target
    assert (target / rel).read_bytes() == b"g0" * 500  # the copy stays where it was
