"""No traceback, anywhere: a state folder or file owned by another uid, a mirror this uid may
not write, a secret it may not read give one line naming the path, the uid and what to do,
from every command the image runs (daemon, sync, status, health). The daemon stays up and says
it again at every pass (a fix on the host is picked up without a restart).

The commands run as another uid than the folders' owner (``tests.other_user``), over real
folders, against either kind of fake server."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import config_file
from tests.kinds import Library
from tests.other_user import (
    AS_ROOT,
    RUNNABLE,
    RUNNER,
    Started,
    give,
    run_as,
    take_away,
    world_dir,
)

UID = f"uid {RUNNER[0]}"
pytestmark = pytest.mark.skipif(not RUNNABLE, reason=f"uid {RUNNER[0]} cannot start this Python")


@pytest.fixture
def box() -> Iterator[Path]:
    with world_dir() as path:
        yield path


def _setup(box: Path, server: dict[str, Any], **sections: dict[str, Any]
           ) -> tuple[Path, Path, Path]:
    """A mirror and a state folder the runner owns, and a config it can read."""
    mirror, state = box / "mirror", box / "state"
    for folder in (mirror, state):
        folder.mkdir()
        give(folder)
    config = config_file(box / "ppsync.toml", server, mirror,
                         {"mirror": {"state": str(state / "state.db")},
                          "log": {"level": "info", "format": "json"}, **sections})
    config.chmod(0o644)
    return mirror, state, config


def _one_line(result_stderr: str, *words: str) -> None:
    assert "Traceback" not in result_stderr, result_stderr
    assert all(word in result_stderr for word in words), result_stderr


def _first_pass_ok(config: Path, lib: Library) -> None:
    lib.add("a.jpg", b"a" * 100)
    result = run_as(config, "sync")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("owned_by_other", ["folder", "file"])
def test_a_state_owned_by_another_uid_is_one_line_from_every_command(
    box: Path, lib: Library, owned_by_other: str
) -> None:
    mirror, state, config = _setup(box, lib.server_section())
    _first_pass_ok(config, lib)
    # A named volume made for another PUID: the folder (0700) or the database file (0600) is
    # another user's.
    for leftover in state.glob("state.db-*"):
        leftover.unlink()
    if owned_by_other == "folder":
        take_away(state, 0o700)
        refused = state / "state.db"
    else:
        take_away(state / "state.db", 0o600)
        refused = state / "state.db"
    for command, code in (("sync", 2), ("status", 2), ("health", 1)):
        result = run_as(config, command)
        assert result.returncode == code, (command, result.stdout, result.stderr)
        said = result.stderr + result.stdout
        _one_line(said, str(refused.parent if owned_by_other == "folder" else refused), UID,
                  "permission denied")
        assert "chown" in said and "PUID=0" not in said  # never the advice to run as root
    daemon = Started(config)
    try:
        line = daemon.wait_for(lambda line: "pass stopped" in line)
        assert "permission denied" in line and UID in line and str(state) in line
        daemon.wait_for(lambda line: '"ppsync running"' in line or "ppsync running" in line)
    finally:
        code = daemon.stop()
    assert code == 0
    _one_line("".join(daemon.lines))
    assert mirror.is_dir()


def test_a_mirror_this_uid_may_not_write_is_one_line(box: Path, lib: Library) -> None:
    mirror, _state, config = _setup(box, lib.server_section())
    take_away(mirror, 0o755)
    lib.add("a.jpg", b"a" * 100)
    result = run_as(config, "sync")
    assert result.returncode == 2, result.stderr
    _one_line(result.stderr, str(mirror), UID, "permission denied", "chown")
    assert not (mirror / ".ppsync").exists()
    status = run_as(config, "status")
    assert status.returncode == 0 and "Traceback" not in status.stderr
    health = run_as(config, "health")
    assert health.returncode == 1 and "Traceback" not in health.stderr + health.stdout
    daemon = Started(config)
    try:
        first = json.loads(daemon.wait_for(lambda line: "ppsync running" in line))
        assert first["user"] == f"{UID} gid {RUNNER[1]}"
        assert first["mirror"].endswith("read-only PROBLEM"), first
        # The refused sync was recorded where the state lives (outside the mirror).
        assert first["state"].endswith("read-write"), first
        line = daemon.wait_for(lambda line: "pass stopped" in line)
        assert str(mirror) in line and UID in line and "permission denied" in line
    finally:
        assert daemon.stop() == 0
    _one_line("".join(daemon.lines))
    # The first log line is the access summary, before anything else the daemon says.
    assert "ppsync running" in next(line for line in daemon.lines if line.startswith("{"))


def test_an_unreadable_secret_is_one_line_and_status_and_health_still_work(
    box: Path, lib: Library
) -> None:
    section = lib.server_section()
    name = "api_key" if "api_key" in section else "password"
    secret = box / "secret"
    secret.write_text(section.pop(name))
    _setup(box, {**section, f"{name}_file": str(secret)})
    config = box / "ppsync.toml"
    give(secret)
    _first_pass_ok(config, lib)
    take_away(secret, 0o600)
    for command in ("sync", "daemon"):
        result = run_as(config, command, timeout=60)
        assert result.returncode == 2, (command, result.stderr)
        _one_line(result.stderr, f"{name}_file", str(secret), UID, "permission denied")
        assert f"make it readable for {UID}" in result.stderr  # a secret needs no writing
        assert "PUID=0" not in result.stderr
    # status and health read only the state: the secret is not needed.
    assert run_as(config, "status").returncode == 0
    health = run_as(config, "health")
    assert health.returncode == 0, health.stdout


@pytest.mark.skipif(not AS_ROOT, reason="needs root to hand the state to another uid")
def test_the_daemon_picks_up_a_fixed_owner_without_a_restart(box: Path, lib: Library) -> None:
    _mirror, state, config = _setup(box, lib.server_section(), schedule={"interval": "1s"})
    lib.add("a.jpg", b"a" * 100)
    take_away(state, 0o700)
    daemon = Started(config)
    try:
        daemon.wait_for(lambda line: "pass stopped" in line and "permission denied" in line)
        os.chown(state, *RUNNER)  # the user fixes the owner on the host
        daemon.wait_for(lambda line: "run finished" in line, timeout=90)
    finally:
        assert daemon.stop() == 0
    assert (box / "mirror" / lib.path("a.jpg")).read_bytes() == b"a" * 100


def test_a_config_file_this_uid_may_not_read_is_one_line(box: Path, lib: Library) -> None:
    _mirror, _state, config = _setup(box, lib.server_section())
    take_away(config, 0o600)
    for command in ("daemon", "sync", "status", "health"):
        result = run_as(config, command, timeout=60)
        assert result.returncode == 2, (command, result.stderr)
        _one_line(result.stderr, str(config), UID, "permission denied")
