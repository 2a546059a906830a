"""A state that survives, for both kinds of server: each successful full walk keeps a checked
copy of the state next to it (a few generations); a state SQLite reports damaged stops the run
with exit 2 and names the way back; ``ppsync state restore`` puts the newest good copy in place
and ``ppsync state fresh`` starts a new state; either way the next sync downloads nothing,
adopting by SHA-1 the files already at their paths (1,000 of them) and taking back from
``.ppsync/trash/`` what the lost state had set aside."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from ppsync.config import Settings, load_config
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.models import RunReport
from ppsync.state.backup import GENERATIONS, copies, problems_of
from tests.conftest import config_file, mirrored_files, run_cli
from tests.kinds import Library


def settings(lib: Library, tmp_path: Path, target: Path, **sections: dict[str, Any]) -> Settings:
    return load_config(config_file(tmp_path / "ppsync.toml", lib.server_section(), target,
                                   sections), {})


def sync(config: Settings, *, changes: bool = False) -> RunReport:
    return run_sync(config, PassOptions(changes_only=changes))


def wreck(state: Path) -> None:
    """What a bad sector does to the first page: SQLite no longer knows the file."""
    with state.open("r+b") as handle:
        handle.write(b"\xde\xad\xbe\xef" * 8)


def test_full_walks_keep_checked_copies_a_few_generations(
        lib: Library, tmp_path: Path, target: Path) -> None:
    lib.add("2024/C_1.jpg", b"copy " * 50)
    config = settings(lib, tmp_path, target)
    state = target / ".ppsync" / "state.db"
    assert sync(config).exit_code == 0
    assert len(copies(state)) == 1
    assert sync(config, changes=True).exit_code == 0  # a change pass keeps no copy
    assert len(copies(state)) == 1
    for _ in range(GENERATIONS + 2):
        assert sync(config).exit_code == 0
    kept = copies(state)
    assert len(kept) == GENERATIONS
    for copy in kept:
        assert copy.stat().st_mode & 0o777 == 0o600
        conn = sqlite3.connect(copy)
        try:
            assert problems_of(conn) == []
            assert conn.execute("SELECT COUNT(*) FROM files").fetchone()[0] == 1
        finally:
            conn.close()


def test_a_damaged_state_is_restored_from_its_newest_copy(
        lib: Library, tmp_path: Path, target: Path) -> None:
    for n in range(5):
        lib.add(f"2024/D_{n}.jpg", f"restore {n} ".encode() * 80)
    path = config_file(tmp_path / "ppsync.toml", lib.server_section(), target, {})
    config = load_config(path, {})
    assert sync(config).exit_code == 0  # the copy is kept here
    lib.add("2024/D_new.jpg", b"after the copy " * 40)
    assert sync(config, changes=True).downloaded == 1  # the copy does not know this one
    state = target / ".ppsync" / "state.db"
    wreck(state)

    refused = run_cli(path, "sync")
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr
    assert "is damaged" in refused.stderr and "configuration problem" not in refused.stderr
    assert "ppsync state restore" in refused.stderr and "ppsync state fresh" in refused.stderr

    restored = run_cli(path, "state", "restore")
    assert restored.returncode == 0, restored.stderr
    assert list(state.parent.glob("state.db.damaged-*"))  # never deleted
    assert run_cli(path, "state", "restore").returncode == 2  # a sound state is left alone

    before = lib.download_count()
    after = sync(config)
    assert after.exit_code == 0 and after.downloaded == 0 and after.adopted == 1
    assert lib.download_count() == before
    assert len(mirrored_files(target)) == 6


def test_a_fresh_state_adopts_1000_files_and_takes_back_what_was_set_aside(
        lib: Library, tmp_path: Path, target: Path) -> None:
    lib.seed(1000, 64)
    aside = lib.add("2024/T_1.jpg", b"set aside, then back " * 30)
    sections: dict[str, dict[str, Any]] = {
        "mirror": {"delete": "trash", "include_archived": False, "workers": 8}}
    path = config_file(tmp_path / "ppsync.toml", lib.server_section(), target, sections)
    config = load_config(path, {})
    first = sync(config)
    assert first.exit_code == 0 and first.downloaded == 1001
    lib.archive(aside)  # leaves the listing: the full walk moves it to .ppsync/trash/
    assert sync(config).trashed == 1
    state = target / ".ppsync" / "state.db"
    wreck(state)
    assert run_cli(path, "sync").returncode == 2

    fresh = run_cli(path, "state", "fresh")
    assert fresh.returncode == 0, fresh.stderr
    assert not state.exists() and list(state.parent.glob("state.db.damaged-*"))
    lib.unarchive(aside)  # back on the server: the copy kept in the trash comes back
    lib.reset_counters()
    before = lib.download_count()
    report = sync(config)
    assert report.exit_code == 0, report.failures
    assert report.downloaded == 0 and report.adopted == 1001
    assert lib.download_count() == before == 0
    assert (target / lib.path("2024/T_1.jpg")).read_bytes() == b"set aside, then back " * 30
    assert sync(config).downloaded == 0  # and the new state is complete


def test_damage_inside_the_state_is_found_by_the_scrubs_check_and_named(
        lib: Library, tmp_path: Path, target: Path) -> None:
    from tests.test_scrub_finds_and_repairs_damage import DAY, Clock

    for n in range(300):
        lib.add(f"2024/Q_{n}.jpg", f"check {n} ".encode() * 20)
    path = config_file(tmp_path / "ppsync.toml", lib.server_section(), target, {})
    config, clock = load_config(path, {}), Clock()
    assert run_sync(config, PassOptions(clock=clock)).exit_code == 0
    state = target / ".ppsync" / "state.db"
    pages = state.stat().st_size // 4096
    with state.open("r+b") as handle:  # bad sectors in the middle: the file still opens
        for page in range(pages // 2, pages // 2 + 3):
            handle.seek(page * 4096)
            handle.write(b"\x0d\x00\x00\xff\xff" + b"\x5a" * 59)
    clock.now += 2 * DAY  # the daily check is due
    report = run_sync(config, PassOptions(changes_only=True, clock=clock))
    assert report.exit_code == 2
    assert "is damaged" in report.error and "ppsync state restore" in report.error
    restored = run_cli(path, "state", "restore")
    assert restored.returncode == 0, restored.stderr
    clock.now += 2 * DAY
    again = run_sync(config, PassOptions(changes_only=True, clock=clock))
    assert again.exit_code == 0 and again.downloaded == 0
