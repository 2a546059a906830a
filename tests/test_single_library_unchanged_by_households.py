"""The upgrade to households changes nothing for one library: a config without [libraries], its
state and its mirror work as before and say what they said; and moving that config's sections
into [libraries.NAME] keeps the mirror and its state (nothing downloaded again)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ConfigFactory, mirrored_files, run_cli
from tests.kinds import Library


def test_a_single_library_config_says_what_it_said(lib: Library, target: Path,
                                                   lib_config: ConfigFactory) -> None:
    lib.add("a.jpg", b"first")
    config = lib_config()
    first = run_cli(config, "sync")
    assert first.returncode == 0, first.stderr
    assert "librar" not in first.stdout  # no block header, no "libraries:" line
    status = run_cli(config, "status", "--json")
    data = json.loads(status.stdout)
    assert set(data) == {"mirror", "set_aside", "runs"} and data["mirror"]["files"] == 1
    health = run_cli(config, "health")
    assert health.returncode == 0 and health.stdout.startswith("healthy: ")
    records = [json.loads(line) for line in first.stderr.splitlines() if line.startswith("{")]
    assert records and not any("library" in record for record in records)


def test_moving_a_config_into_libraries_keeps_its_mirror_and_state(
        lib: Library, target: Path, tmp_path: Path, lib_config: ConfigFactory) -> None:
    lib.add("a.jpg", b"first")
    lib.add("b.jpg", b"second")
    config = lib_config()
    assert run_cli(config, "sync").returncode == 0
    before = mirrored_files(target)
    state = target / ".ppsync" / "state.db"
    assert state.is_file()
    # The same sections, now the library "me" of a household.
    text = config.read_text()
    for section in ("server", "mirror"):
        text = text.replace(f"[{section}]", f"[libraries.me.{section}]")
    config.write_text(text)
    lib.reset_counters()
    again = run_cli(config, "sync", "--library", "me")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "library me:" in again.stdout
    assert lib.download_count() == 0  # adopted from its state, not downloaded again
    assert mirrored_files(target) == before
    runs = json.loads(run_cli(config, "status", "--json").stdout)["libraries"]["me"]["runs"]
    assert len(runs) == 2  # the same state: the run before the move is still there
