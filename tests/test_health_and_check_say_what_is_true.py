"""Labels a person reads that say what is true (issue 21, item 5): ``health`` names a schedule
under a minute, and a pass that ended less than a minute ago, in seconds, not "0 min";
``check`` with an Immich API key that may not read its user, or a PhotoPrism token that may
not read its session, says so, instead of "logged in as ?"."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from ppsync.models import RunReport
from tests.conftest import ConfigFactory, run_cli, write_config
from tests.fake_immich import EMAIL, FakeImmich
from tests.fake_photoprism import FakePhotoPrism
from tests.kinds import Library


def age_last_pass(state_db: Path, seconds: float) -> None:
    """Make the finished passes ``seconds`` older, as if the daemon had stopped running them
    (what health is for); no waiting."""
    with sqlite3.connect(state_db) as conn:
        conn.execute("UPDATE runs SET finished_at = finished_at - ?, report = json_set(report, "
                     "'$.finished_at', json_extract(report, '$.finished_at') - ?)",
                     (seconds, seconds))
    conn.close()


@pytest.mark.parametrize(("interval", "limit"), [("10s", "30 s"), ("20s", "1 min"),
                                                 ("1h", "180 min")])
def test_health_names_three_times_the_schedule_as_a_person_would(
    lib: Library, lib_config: ConfigFactory, lib_sync: Callable[..., RunReport], target: Path,
    interval: str, limit: str
) -> None:
    lib.add("2024/a.jpg", b"a" * 100)
    assert lib_sync().exit_code == 0
    config = lib_config(schedule={"interval": interval})
    fresh = run_cli(config, "health")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    # Seconds ago, not "0 min ago" (the pass ended a moment before, however busy the machine).
    assert re.fullmatch(r"healthy: last pass \(run 1\) ended \d+ s ago with exit 0\n",
                        fresh.stdout), fresh.stdout
    # Older than three intervals (an hour's three are 3 h): unhealthy, saying the limit.
    age_last_pass(target / ".ppsync" / "state.db", 4 * 3600 if interval == "1h" else 100)
    stale = run_cli(config, "health")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert stale.stdout.rstrip().endswith(f"more than 3 x the schedule ({limit})"), stale.stdout
    assert "(0 min)" not in stale.stdout


def immich_config(tmp_path: Path, immich: FakeImmich, key: str, target: Path) -> Path:
    return write_config(tmp_path / "ppsync.toml", {
        "server": {"kind": "immich", "url": immich.url, "api_key": key, "retries": 0,
                   "outage_wait": "0s"},
        "mirror": {"target": str(target)}})


def test_check_says_an_immich_key_may_not_read_its_user_instead_of_a_question_mark(
    tmp_path: Path, target: Path
) -> None:
    with FakeImmich(generation="v2.5") as immich:
        narrow = immich.add_key(("asset.read", "asset.download", "album.read",
                                 "asset.statistics"))
        check = run_cli(immich_config(tmp_path, immich, narrow, target), "check")
        out = check.stdout + check.stderr
        assert "logged in with an API key that may not read its user (user.read)" in out, out
        assert "as ?" not in out and narrow not in out
        full = immich.add_key(("all",))
        check = run_cli(immich_config(tmp_path, immich, full, target), "check")
        assert check.returncode == 0, check.stdout + check.stderr
        assert f"logged in as {EMAIL} (api key)" in check.stdout


def test_check_says_a_narrow_photoprism_token_may_not_read_its_session(
    tmp_path: Path, target: Path
) -> None:
    with FakePhotoPrism(password="pw") as photoprism:
        token = photoprism.add_app_password("photos files")
        config = write_config(tmp_path / "ppsync.toml", {
            "server": {"url": photoprism.url, "token": token, "retries": 0},
            "mirror": {"target": str(target)}})
        check = run_cli(config, "check")
        assert check.returncode == 0, check.stdout + check.stderr
        assert ("logged in with a token that may not read its session (GET /session)"
                in check.stdout), check.stdout
        assert "?" not in check.stdout.splitlines()[1] and token not in check.stdout
