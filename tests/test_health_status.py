"""What ``status`` and ``health`` see: passes refused before the state opens, runs cut short by
SIGKILL, a first pass that takes hours, and no server credentials needed to read the state."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from tests.conftest import ConfigFactory, run_cli
from tests.fake_photoprism import FakePhotoPrism
from tests.test_daemon import free_port, start_daemon, stop, wait_for


def runs(config: Path) -> list[dict[str, Any]]:
    result = run_cli(config, "status", "--json", "--limit", "100")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout)["runs"])


def test_a_missing_target_is_recorded_where_the_state_lives_outside_it(
    server: FakePhotoPrism, target: Path, tmp_path: Path, make_config: ConfigFactory
) -> None:
    # The Docker image keeps its state on /state; /mirror is a bind mount that can be missing.
    server.add_photo([("a.jpg", b"a")])
    (tmp_path / "state").mkdir()
    config = make_config(mirror={"state": str(tmp_path / "state" / "state.db")})
    assert run_cli(config, "sync").returncode == 0
    parked = tmp_path / "unplugged"
    target.rename(parked)
    assert run_cli(config, "sync").returncode == 4
    newest = runs(config)[0]
    assert newest["exit_code"] == 4 and "does not exist" in newest["safety_stop"]
    assert newest["finished"] and newest["error_type"] == "SafetyStop"
    health = run_cli(config, "health")
    assert health.returncode == 1 and "does not exist" in health.stdout
    assert not target.exists()  # still never created
    # An empty folder where the disk should be, with a state that knows files: recorded too.
    target.mkdir()
    assert run_cli(config, "sync").returncode == 4
    assert "is empty: is the disk mounted?" in runs(config)[0]["safety_stop"]
    shutil.rmtree(target)
    parked.rename(target)
    assert run_cli(config, "sync").returncode == 0
    assert run_cli(config, "health").returncode == 0


def test_health_says_the_target_is_missing_when_the_state_is_inside_it(
    make_config: ConfigFactory, target: Path
) -> None:
    config = make_config()
    target.rmdir()
    health = run_cli(config, "health")
    assert health.returncode == 1 and "does not exist or is not mounted" in health.stdout


def test_a_login_that_fails_is_recorded_for_status_and_health(
    make_config: ConfigFactory, tmp_path: Path
) -> None:
    config = make_config(server={"url": f"http://127.0.0.1:{free_port()}", "retries": 0},
                         schedule={"interval": "1h"})
    proc = start_daemon(config)
    try:
        wait_for(lambda: (tmp_path / "mirror" / ".ppsync" / "state.db").exists()
                 and run_cli(config, "status", "--json").stdout.count('"exit_code": 3') > 0)
    finally:
        stop(proc)
    newest = runs(config)[0]
    assert newest["error_type"] == "ServerUnreachable" and "cannot reach" in newest["error"]
    health = run_cli(config, "health")
    assert health.returncode == 1 and "cannot reach" in health.stdout


def test_a_run_cut_by_sigkill_is_marked_crashed_on_the_next_start(
    server: FakePhotoPrism, target: Path, make_config: ConfigFactory
) -> None:
    content = os.urandom(2 * 1024 * 1024)
    server.add_photo([("big.mp4", content)])
    server.faults.download_rate = 256 * 1024
    config = make_config(schedule={"interval": "1h"})
    proc = start_daemon(config)
    wait_for(lambda: any((target / ".ppsync" / "partial").glob("*.part")))
    proc.kill()
    proc.wait()
    killed = runs(config)[0]
    assert not killed["finished"]
    # Its process is gone: not a running pass (that would count as healthy).
    health = run_cli(config, "health")
    assert health.returncode == 1 and "no pass has finished yet" in health.stdout
    server.faults.download_rate = 0
    proc = start_daemon(config)
    try:
        # The state asserted below, not a file: the file is at its path before the pass that
        # put it there is recorded as finished (a busy machine shows the gap).
        wait_for(lambda: (target / "big.mp4").exists() and any(
            r["finished"] and not r.get("crashed") and r["exit_code"] == 0
            for r in runs(config) if r["run_id"] != killed["run_id"]))
    finally:
        code, err = stop(proc)
    assert code == 0, err
    after = {r["run_id"]: r for r in runs(config)}
    crashed = after[killed["run_id"]]
    assert crashed["finished"] and crashed["crashed"] and crashed["exit_code"] is None
    assert "crashed" in crashed["error"]
    text = run_cli(config, "status").stdout
    assert "crashed: the run ended without finishing" in text
    assert "(running" not in text
    assert run_cli(config, "health").returncode == 0


def test_a_one_shot_sync_marks_a_killed_run_crashed(
    server: FakePhotoPrism, target: Path, make_config: ConfigFactory
) -> None:
    server.add_photo([("big.mp4", os.urandom(1024 * 1024))])
    server.faults.download_rate = 256 * 1024
    config = make_config()
    proc = start_daemon(config)
    wait_for(lambda: any((target / ".ppsync" / "partial").glob("*.part")))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    server.faults.download_rate = 0
    assert run_cli(config, "sync").returncode == 0
    oldest = runs(config)[-1]
    assert oldest["crashed"] and oldest["finished"]


def test_health_is_good_while_a_long_first_pass_runs(
    server: FakePhotoPrism, target: Path, make_config: ConfigFactory
) -> None:
    # A first sync of a big library takes hours: a container health check must not call that
    # unhealthy (an "autoheal" container would restart it in the middle).
    server.add_photo([("big.mp4", os.urandom(3 * 1024 * 1024))])
    server.faults.download_rate = 256 * 1024
    config = make_config(schedule={"interval": "1s"})
    proc = start_daemon(config)
    try:
        wait_for(lambda: any((target / ".ppsync" / "partial").glob("*.part")))
        time.sleep(3.5)  # longer than 3 x the interval, still the first pass
        health = run_cli(config, "health")
        assert health.returncode == 0, health.stdout
        assert "first pass (run 1) running" in health.stdout
    finally:
        proc.kill()
        proc.wait()
    gone = run_cli(config, "health")
    assert gone.returncode == 1  # the daemon is gone: nothing is running any more


def test_status_and_health_need_no_server_credentials(
    server: FakePhotoPrism, target: Path, tmp_path: Path, make_config: ConfigFactory
) -> None:
    server.add_photo([("a.jpg", b"a")])
    config = make_config(server={"password": "", "password_file": str(tmp_path / "secret")})
    (tmp_path / "secret").write_text("insecure-pw")
    assert run_cli(config, "sync").returncode == 0
    (tmp_path / "secret").unlink()  # e.g. a systemd credential only the service can read
    assert run_cli(config, "sync").returncode == 2
    status = run_cli(config, "status")
    assert status.returncode == 0 and "mirror: 1 files" in status.stdout, status.stderr
    health = run_cli(config, "health")
    assert health.returncode == 0 and health.stdout.startswith("healthy"), health.stderr
