"""A mirror on a case-insensitive disk (exFAT, FAT32, an SMB share), where ``IMG.JPG`` and
``img.jpg`` are one file. The server's names are case-sensitive; the mirror must never let one
original overwrite, displace or delete another because their names differ only in case.

The target is a real case-insensitive filesystem (FUSE, ``tests/casefold_fs.py``). Each test runs
against both kinds of server (``lib``, ``tests/kinds.py``) unless it says why not.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.conftest import ConfigFactory, run_cli
from tests.fake_photoprism import FakePhotoPrism
from tests.kinds import Library


def _content_on_disk(target: Path) -> dict[str, bytes]:
    return {p.relative_to(target).as_posix(): p.read_bytes() for p in target.rglob("*")
            if p.is_file() and ".ppsync" not in p.parts}


def _kept_aside(target: Path) -> list[Path]:
    return [p for p in (target / ".ppsync" / "replaced").rglob("*") if p.is_file()]


def test_two_names_that_differ_only_in_case_never_overwrite_each_other(
        lib: Library, casefold_disk: Path, lib_config: ConfigFactory) -> None:
    bodies = {"2024/IMG_0001.JPG": b"the first photo",
              "2024/img_0001.jpg": b"another photo, same name in lower case"}
    first = lib.add("2024/IMG_0001.JPG", bodies["2024/IMG_0001.JPG"])
    lib.add("2024/img_0001.jpg", bodies["2024/img_0001.jpg"])
    by_path = {lib.path(name): body for name, body in bodies.items()}
    config = lib_config(mirror={"target": str(casefold_disk)})
    for _ in range(2):  # and the second run is as calm as the first: no churn
        result = run_cli(config, "sync")
        on_disk = _content_on_disk(casefold_disk)
        if lib.kind == "photoprism":
            # The server's own paths are never renamed: the second one cannot be placed.
            assert result.returncode == 1, result.stdout + result.stderr
            assert "differ only in case" in result.stdout
            assert len(on_disk) == 1
            (name, content), = on_disk.items()
            assert hashlib.sha1(content).digest() == hashlib.sha1(by_path[name]).digest()
        else:
            # Names ppsync makes from the layout: the later key takes a collision suffix, as
            # two names equal in every case would.
            assert result.returncode == 0, result.stdout + result.stderr
            assert sorted(on_disk.values()) == sorted(bodies.values())
        assert not _kept_aside(casefold_disk)
    assert run_cli(config, "sync").stdout.count("downloaded 0") == 1
    lib.remove(first)
    assert run_cli(config, "sync").returncode == 0  # the collision is gone: all is mirrored
    on_disk = _content_on_disk(casefold_disk)
    if lib.kind == "photoprism":
        assert on_disk == {"2024/img_0001.jpg": b"another photo, same name in lower case"}
    else:  # both were mirrored; the default policy (keep) leaves the removed one in place
        assert sorted(on_disk.values()) == sorted(bodies.values())


def test_the_state_can_live_on_such_a_disk(
        lib: Library, casefold_disk: Path, lib_config: ConfigFactory) -> None:
    # The default state path is inside the target. This disk is FUSE, as mergerfs, sshfs and
    # rclone mounts are: SQLite's WAL shared memory does not work there (SIGBUS), so the state
    # falls back to the rollback journal.
    lib.add("x.jpg", b"x")
    config = lib_config(mirror={"target": str(casefold_disk)})
    for _ in range(2):
        result = run_cli(config, "sync")
        assert result.returncode == 0, result.stdout + result.stderr
    assert (casefold_disk / ".ppsync" / "state.db").exists()
    assert not (casefold_disk / ".ppsync" / "state.db-wal").exists()
    assert run_cli(config, "status").returncode == 0


# PhotoPrism-only: Immich never renames a file (its original name is fixed at upload).
def test_a_rename_that_only_changes_case_renames_in_place(
        server: FakePhotoPrism, casefold_disk: Path, make_config: ConfigFactory) -> None:
    photo = server.add_photo([("trip/dsc_0042.jpg", b"beach")])
    config = make_config(mirror={"target": str(casefold_disk)})
    assert run_cli(config, "sync").returncode == 0
    server.rename_file(photo.files[0].uid, "trip/DSC_0042.JPG")
    result = run_cli(config, "sync")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _content_on_disk(casefold_disk) == {"trip/DSC_0042.JPG": b"beach"}
    assert "moved 1" in result.stdout and "downloaded 0" in result.stdout
    assert not _kept_aside(casefold_disk)
    assert run_cli(config, "sync").returncode == 0


@pytest.mark.parametrize("policy", ["trash", "mirror"])
def test_removing_a_file_never_removes_the_new_one_that_took_its_name(
        lib: Library, casefold_disk: Path, lib_config: ConfigFactory, policy: str) -> None:
    old = lib.add("a/PHOTO.JPG", b"old photo, about to leave the server")
    lib.add("b/stays.jpg", b"a photo that stays")
    lib.add("b/stays-too.jpg", b"another photo that stays")
    config = lib_config(mirror={"target": str(casefold_disk), "delete": policy})
    assert run_cli(config, "sync").returncode == 0
    lib.remove(old)
    lib.add("a/photo.jpg", b"new photo under the same name in lower case")
    result = run_cli(config, "sync")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _content_on_disk(casefold_disk) == {
        lib.path("a/photo.jpg"): b"new photo under the same name in lower case",
        lib.path("b/stays.jpg"): b"a photo that stays",
        lib.path("b/stays-too.jpg"): b"another photo that stays"}
    # The old content is not lost silently: it is where the policy says (or kept aside).
    elsewhere = [p.read_bytes() for p in (casefold_disk / ".ppsync").rglob("*") if p.is_file()]
    if policy == "trash":
        assert b"old photo, about to leave the server" in elsewhere
    assert run_cli(config, "sync").returncode == 0
    assert _content_on_disk(casefold_disk)[lib.path("a/photo.jpg")] == (
        b"new photo under the same name in lower case")
