"""Review 4, findings 2 and 3: proof by content counts distinct photos and needs several (one
shared photo is not proof), and a copy is taken back from .ppsync/trash only from inside the
target (taking back moves the file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ppsync.config import load_config
from ppsync.mirror.sync import run_sync
from tests.conftest import ConfigFactory, mirrored_files
from tests.kinds import Library


@pytest.mark.parametrize("kind", ["photoprism", "immich"])
def test_one_shared_photo_does_not_prove_a_small_mirrors_server(
        tmp_path: Path, target: Path, kind: str) -> None:
    from ppsync.errors import SafetyStop
    from tests.kinds import library
    from tests.test_identity import bound_to, settings
    from tests.test_review3_fixes import MIRROR, _forget_identity

    with library(kind) as own, library(kind) as other:
        for n in range(2):
            own.add(f"2024/{n}.jpg", bytes([n + 1]) * 300)
        assert run_sync(settings(own, tmp_path, target, mirror=MIRROR)).exit_code == 0
        before = mirrored_files(target)
        _forget_identity(target)
        other.add("2024/shared.jpg", bytes([1]) * 300)  # a family member's copy of one photo
        other.add("2024/theirs.jpg", b"t" * 300)
        other.add("2024/theirs2.jpg", b"u" * 300)
        try:
            report = run_sync(settings(other, tmp_path, target, mirror=MIRROR))
            refused = report.exit_code == 4
        except SafetyStop:
            refused = True
        assert refused
        assert other.download_count() == 0 and mirrored_files(target) == before
        assert bound_to(target) is None

def test_a_shared_photo_listed_twice_counts_once(tmp_path: Path, target: Path) -> None:
    from ppsync.errors import SafetyStop
    from tests.kinds import library
    from tests.test_identity import bound_to, settings
    from tests.test_review3_fixes import MIRROR, _forget_identity

    with library("photoprism") as own, library("photoprism") as other:
        for n in range(3):
            own.add(f"2024/{n}.jpg", bytes([n + 1]) * 300)
        assert run_sync(settings(own, tmp_path, target, mirror=MIRROR)).exit_code == 0
        before = mirrored_files(target)
        _forget_identity(target)
        other.add("2024/shared.jpg", bytes([1]) * 300)  # one photo they share with the mirror,
        other.add("phone/shared.jpg", bytes([1]) * 300)  # in two of their folders
        other.add("2024/theirs.jpg", b"t" * 300)
        try:
            report = run_sync(settings(other, tmp_path, target, mirror=MIRROR))
            refused = report.exit_code == 4
        except SafetyStop:
            refused = True
        assert refused
        assert other.download_count() == 0 and mirrored_files(target) == before
        assert bound_to(target) is None

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
