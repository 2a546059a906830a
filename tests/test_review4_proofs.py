"""Review 4, findings 2 and 3: proof by content counts distinct photos and needs several (one
shared photo is not proof), and a copy is taken back from .ppsync/trash only from inside the
target (taking back moves the file)."""

from __future__ import annotations

from pathlib import Path

from ppsync.config import load_config
from ppsync.mirror.sync import run_sync
from tests.conftest import ConfigFactory
from tests.kinds import Library


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
