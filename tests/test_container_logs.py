"""Logs a container can live with: a daemon's per-file lines are debug (counts at info), the
zone is named right when it comes from a mounted /etc/localtime, no "notifying" without a
notifier, repeated identical failures are one row of ``status``, and a one-off command beside
the daemon does not decide the daemon's health. Either kind of server, passes in sequence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import config_file, run_cli
from tests.kinds import Library
from tests.other_user import Started

INFO = {"level": "info", "format": "json"}


def _events(lines: list[str] | str) -> list[dict[str, Any]]:
    text = lines if isinstance(lines, str) else "".join(lines)
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _config(tmp_path: Path, server: dict[str, Any], target: Path, name: str = "ppsync.toml",
            **sections: dict[str, Any]) -> Path:
    return config_file(tmp_path / name, server, target,
                       {"log": INFO, "mirror": {"state": str(tmp_path / "state.db")},
                        **sections})


def test_a_daemon_logs_counts_not_one_line_per_file(lib: Library, tmp_path: Path,
                                                    target: Path) -> None:
    lib.seed(12, size=256)
    config = _config(tmp_path, lib.server_section(), target, schedule={"interval": "1h"})
    daemon = Started(config, as_runner=False)
    try:
        daemon.wait_for(lambda line: "run finished" in line)
    finally:
        assert daemon.stop() == 0
    events = _events(daemon.lines)
    assert not [e for e in events if e["event"] == "downloaded"]
    finished = next(e for e in events if e["event"] == "run finished")
    assert finished["downloaded"] == 12 and finished["level"] == "info"
    # At debug the lines are there, as debug.
    lib.seed(3, size=256)
    debug = _config(tmp_path, lib.server_section(), target, schedule={"interval": "1h"},
                    log={"level": "debug", "format": "json"})
    daemon = Started(debug, as_runner=False)
    try:
        daemon.wait_for(lambda line: "run finished" in line)
    finally:
        assert daemon.stop() == 0
    per_file = [e for e in _events(daemon.lines) if e["event"] == "downloaded"]
    assert len(per_file) == 3 and {e["level"] for e in per_file} == {"debug"}
    # A one-shot sync on a terminal or in a timer's journal still lists each file at info.
    lib.seed(2, size=256)
    once = run_cli(config, "sync")
    assert once.returncode == 0, once.stderr
    assert len([e for e in _events(once.stderr) if e["event"] == "downloaded"]) == 2


@pytest.mark.parametrize("notifier", [False, True])
def test_notifying_is_said_only_when_something_is_notified(
    lib: Library, tmp_path: Path, target: Path, notifier: bool
) -> None:
    marker = tmp_path / "notified"
    monitor = {"notify_command": f"touch {marker}"} if notifier else {}
    config = _config(tmp_path, lib.refused_section(), target, schedule={"interval": "1h"},
                     monitor=monitor)
    daemon = Started(config, as_runner=False)
    try:
        daemon.wait_for(lambda line: "pass stopped" in line or "run failed" in line
                        or "backing off" in line)
        if notifier:
            daemon.wait_for(lambda line: "notifying" in line)
    finally:
        assert daemon.stop() == 0
    said = any(e["event"] == "notifying" for e in _events(daemon.lines))
    assert said is notifier
    assert marker.exists() is notifier


def test_repeated_identical_failures_are_one_row_of_status(lib: Library, tmp_path: Path,
                                                           target: Path) -> None:
    lib.add("a.jpg", b"a" * 64)
    good = _config(tmp_path, lib.server_section(), target)
    bad = _config(tmp_path, lib.refused_section(), target, name="refused.toml")
    for _ in range(4):
        assert run_cli(bad, "sync").returncode == 3
    assert run_cli(good, "sync").returncode == 0
    for _ in range(3):
        assert run_cli(bad, "sync").returncode == 3
    status = run_cli(good, "status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    rows = lines[next(i for i, line in enumerate(lines) if line.lstrip().startswith("run ")) + 1:]
    assert len(rows) == 3, status.stdout  # 3 failures, 1 success, 4 failures
    assert "failed 3 times since" in rows[0] and "(runs 6-8)" in rows[0]
    assert "failed 4 times since" in rows[2] and "(runs 1-4)" in rows[2]
    assert "failed" not in rows[1]
    # --limit counts rows; --json keeps every run.
    limited = run_cli(good, "status", "--limit", "2").stdout.splitlines()
    assert len(limited) - next(i for i, line in enumerate(limited)
                               if line.lstrip().startswith("run ")) - 1 == 2
    runs = json.loads(run_cli(good, "status", "--json", "--limit", "50").stdout)["runs"]
    assert len(runs) == 8


def test_a_one_off_command_beside_the_daemon_does_not_decide_its_health(
    lib: Library, tmp_path: Path, target: Path
) -> None:
    lib.add("a.jpg", b"a" * 64)
    config = _config(tmp_path, lib.server_section(), target, schedule={"interval": "1h"})
    daemon = Started(config, as_runner=False)
    try:
        daemon.wait_for(lambda line: "run finished" in line)
        assert run_cli(config, "health").returncode == 0
        # `docker run --rm ... ppsync sync` with the wrong password, beside the daemon.
        one_off = _config(tmp_path, lib.refused_section(), target, name="one-off.toml")
        assert run_cli(one_off, "sync").returncode == 3
        health = run_cli(config, "health")
        assert health.returncode == 0, health.stdout
        newest = json.loads(run_cli(config, "status", "--json").stdout)["runs"][0]
        assert newest["exit_code"] == 3 and newest["origin"] == "command"  # still shown
    finally:
        assert daemon.stop() == 0
    # Without any daemon pass in the state, a one-off's failure decides (the timer's case).
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    mirror = fresh / "mirror"
    mirror.mkdir()
    timer = config_file(fresh / "ppsync.toml", lib.server_section(), mirror, {"log": INFO})
    assert run_cli(timer, "sync").returncode == 0
    refused = config_file(fresh / "refused.toml", lib.refused_section(), mirror, {"log": INFO})
    assert run_cli(refused, "sync").returncode == 3
    assert run_cli(timer, "health").returncode == 1


def _mount_namespaces_allowed() -> bool:
    flags = [] if os.geteuid() == 0 else ["--map-root-user"]
    try:
        return subprocess.run(["unshare", "--mount", *flags, "true"], capture_output=True,
                              timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not _mount_namespaces_allowed() or
                    not Path("/usr/share/zoneinfo/Pacific/Chatham").is_file(),
                    reason="needs mount namespaces (unshare --mount) and tzdata")
def test_the_zone_from_a_mounted_etc_localtime_is_named_right(tmp_path: Path,
                                                              target: Path) -> None:
    """``-v /etc/localtime:/etc/localtime:ro`` with no TZ: the image's link still says Etc/UTC,
    the data is the host's; the log names the host's zone."""
    config = _config(tmp_path, {"url": "http://127.0.0.1:9", "username": "u", "password": "p"},
                     target, schedule={"cron": "30 3 * * *"})
    flags = [] if os.geteuid() == 0 else ["--map-root-user"]
    script = ("mount --bind /usr/share/zoneinfo/Pacific/Chatham /etc/localtime && "
              f'exec "{sys.executable}" -m ppsync --config "{config}" daemon')
    proc = subprocess.Popen(["unshare", "--mount", *flags, "sh", "-c", script],
                            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append(line)
        if "daemon started" in line:
            break
    proc.terminate()
    rest = proc.communicate(timeout=30)[1]
    started = next(e for e in _events(lines) if e["event"] == "daemon started")
    assert started["timezone"].startswith("Pacific/Chatham"), [*lines, rest]
    assert "+12:45" in started["next_scheduled"] or "+13:45" in started["next_scheduled"]
