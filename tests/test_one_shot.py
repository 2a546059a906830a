"""A one-shot ``ppsync sync`` follows the daemon's rule: a change pass (one request when nothing
changed) while the last complete full walk is younger than ``[schedule] full_every``, a full walk
otherwise; ``--full`` forces one. Only a full walk may delete. Sequences of runs on one state."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.conftest import ConfigFactory, run_cli
from tests.kinds import Library


def _last_run(config: Path) -> dict[str, object]:
    result = run_cli(config, "status", "--json")
    assert result.returncode == 0, result.stderr
    run: dict[str, object] = json.loads(result.stdout)["runs"][0]
    return run


def test_a_one_shot_sync_is_a_change_pass_until_full_every_and_only_full_walks_delete(
    lib: Library, target: Path, lib_config: ConfigFactory
) -> None:
    gone = lib.add("gone.jpg", b"gone")
    lib.add("kept.jpg", b"kept")
    config = lib_config(mirror={"delete": "mirror"}, schedule={"full_every": "1h"})
    first = run_cli(config, "sync")
    assert first.returncode == 0, first.stderr
    assert _last_run(config)["command"] == "sync"  # no full walk yet: a full walk

    lib.reset_counters()
    quiet = run_cli(config, "sync")
    assert quiet.returncode == 0, quiet.stderr
    assert _last_run(config)["command"] == "change"
    assert lib.listing_requests() == lib.quiet_listing_requests  # one search, no walk

    time.sleep(1.1)  # PhotoPrism's timestamps have one-second resolution, like MySQL's
    lib.add("new/fresh.jpg", b"fresh")
    lib.remove(gone)
    changed = run_cli(config, "sync")
    assert changed.returncode == 0, changed.stderr
    assert _last_run(config)["command"] == "change"
    assert (target / lib.path("new/fresh.jpg")).read_bytes() == b"fresh"  # picked up
    assert (target / lib.path("gone.jpg")).exists()  # a change pass never deletes

    plan = run_cli(config, "plan", "--full")
    assert plan.returncode == 0, plan.stderr
    assert "gone.jpg" in plan.stdout and (target / lib.path("gone.jpg")).exists()

    full = run_cli(config, "sync", "--full")
    assert full.returncode == 0, full.stderr
    assert _last_run(config)["command"] == "sync"
    assert not (target / lib.path("gone.jpg")).exists()  # the full walk applied the deletion
    assert (target / lib.path("kept.jpg")).read_bytes() == b"kept"


def test_a_one_shot_sync_walks_everything_once_full_every_has_passed(
    lib: Library, target: Path, lib_config: ConfigFactory
) -> None:
    gone = lib.add("gone.jpg", b"gone")
    lib.add("kept.jpg", b"kept")
    config = lib_config(mirror={"delete": "mirror"}, schedule={"full_every": "2s"})
    assert run_cli(config, "sync").returncode == 0
    lib.remove(gone)
    time.sleep(2.1)  # the last full walk is now older than full_every
    result = run_cli(config, "sync")
    assert result.returncode == 0, result.stderr
    assert _last_run(config)["command"] == "sync"
    assert not (target / lib.path("gone.jpg")).exists()
