"""PUID, PGID and UMASK at run time: the image's entry point (``docker/entrypoint.sh``) starts as
root only long enough to take them, hands ppsync's /state to that user, and runs ppsync as
them with ``setpriv``; it refuses 0 and bad values in one line, keeps working when the engine
already chose the user (``--user``), and a stop still works through it when it is PID 1.

The script runs here as the container runs it (as root, no engine needed), against this
checkout's ``ppsync`` (``PPSYNC_BIN``) and either kind of fake server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import config_file
from tests.kinds import Library
from tests.other_user import world_dir

ROOT = Path(__file__).resolve().parents[1]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
PUID, PGID = 4242, 4243

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="the entry point drops root to PUID: needs root and setpriv")


# The image's /opt/ppsync/bin/ppsync is this interpreter with ``-m ppsync`` as the first
# arguments (a wrapper script would add a shebang exec that some sandboxes refuse to uid 4242).
PPSYNC = ["-m", "ppsync"]


def _runner_can_exec_python_from_a_shell() -> bool:
    """Can uid PUID start this interpreter from a shell (as under ``--user``)? Not when it
    lives where that uid may not go (a pyenv under /root)."""
    probe = ["setpriv", f"--reuid={PUID}", f"--regid={PGID}", "--clear-groups", "sh", "-c",
             f'exec "{sys.executable}" -c pass']
    return subprocess.run(probe, capture_output=True).returncode == 0


@pytest.fixture
def box() -> Iterator[Path]:
    with world_dir() as path:
        yield path


def _env(box: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PPSYNC_BIN": sys.executable,
            "PPSYNC_MIRROR__STATE": str(box / "state" / "state.db"), **extra}


def _setup(box: Path, lib: Library, **sections: dict[str, Any]) -> Path:
    """A mirror owned by PUID:PGID, a /state as a new named volume has it (the image's: root,
    open to all), and a config anyone may read."""
    mirror = box / "mirror"
    mirror.mkdir()
    os.chown(mirror, PUID, PGID)
    state = box / "state"
    state.mkdir()
    state.chmod(0o1777)
    config = config_file(box / "ppsync.toml", lib.server_section(), mirror,
                         {"log": {"level": "info", "format": "json"}, **sections})
    config.chmod(0o644)
    return config


def _entry(box: Path, *args: str, env: dict[str, str], drop: list[str] | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*(drop or []), str(ENTRYPOINT), *PPSYNC, *args], env=env, cwd=box,
                          capture_output=True, text=True, timeout=timeout)


def _events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_puid_pgid_and_umask_at_run_time(box: Path, lib: Library) -> None:
    config = _setup(box, lib, schedule={"interval": "1h"})
    lib.add("a.jpg", b"a" * 300)
    env = _env(box, PUID=str(PUID), PGID=f"0{PGID}", UMASK="027")
    proc = subprocess.Popen([str(ENTRYPOINT), *PPSYNC, "--config", str(config), "daemon"], env=env,
                            cwd=box, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append(line)
        if "run finished" in line:
            break
    proc.terminate()
    lines.append(proc.communicate(timeout=30)[1])
    assert proc.returncode == 0, lines
    text = "".join(lines)
    assert "Traceback" not in text
    # The state folder was handed over (a new named volume belongs to root, open to all).
    assert f"handing it to PUID:PGID {PUID}:{PGID}" in lines[0]
    state = box / "state"
    assert (state.stat().st_uid, state.stat().st_gid) == (PUID, PGID)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    first = _events(text)[0]  # ppsync's first line: who runs it, what it can do
    assert first["event"] == "ppsync running"
    assert first["user"] == f"uid {PUID} gid {PGID}" and first["umask"] == "0027"
    assert first["mirror"].endswith("read-write") and "PROBLEM" not in json.dumps(first)
    placed = box / "mirror" / lib.path("a.jpg")
    assert placed.read_bytes() == b"a" * 300
    assert (placed.stat().st_uid, placed.stat().st_gid) == (PUID, PGID)
    assert stat.S_IMODE(placed.stat().st_mode) == 0o640  # UMASK 027
    db = state / "state.db"
    assert (db.stat().st_uid, stat.S_IMODE(db.stat().st_mode)) == (PUID, 0o600)
    # A later start with the same PUID leaves the folder alone; status and health (docker
    # exec, the HEALTHCHECK) go through the entry point as PUID, so no root-owned journal.
    for command in ("status", "health"):
        result = _entry(box, "--config", str(config), command, env=env)
        assert result.returncode == 0, result.stderr
        assert "handing it" not in result.stderr
    assert all(p.stat().st_uid == PUID for p in state.iterdir())


@pytest.mark.parametrize(("puid", "pgid", "umask", "message"), [
    ("0", "100", "", "PUID=0 would run ppsync as root"),
    ("000", "100", "", "PUID=0 would run ppsync as root"),
    ("1026", "0", "", "PGID=0 would run ppsync in the root group"),
    ("abc", "100", "", "PUID must be a user ID number, not 'abc'"),
    ("1026", "-1", "", "PGID must be a group ID number, not '-1'"),
    ("1026", "100", "0999", "UMASK must be an octal mask like 022 or 0027, not '0999'"),
])
def test_root_and_bad_values_are_refused_in_one_line(
    box: Path, lib: Library, puid: str, pgid: str, umask: str, message: str
) -> None:
    config = _setup(box, lib)
    result = _entry(box, "--config", str(config), "sync",
                    env=_env(box, PUID=puid, PGID=pgid, UMASK=umask))
    assert result.returncode == 2
    assert result.stderr.strip() == f"ppsync: {message}" or (
        result.stderr.startswith(f"ppsync: {message}") and result.stderr.count("\n") == 1)
    assert not any((box / "mirror").iterdir()) and not any((box / "state").iterdir())
    # Nothing was handed over either.
    assert (box / "state").stat().st_uid == 0


@pytest.mark.skipif(not _runner_can_exec_python_from_a_shell(),
                    reason=f"uid {PUID} cannot run this interpreter from a shell here")
def test_started_as_another_user_it_runs_as_that_user(box: Path, lib: Library) -> None:
    """``--user 4242:4243``: the engine chose; PUID/PGID cannot change it, and it says so.
    A new named volume (the image's open /state) works for that user."""
    config = _setup(box, lib)
    lib.add("a.jpg", b"a" * 300)
    drop = ["setpriv", f"--reuid={PUID}", f"--regid={PGID}", "--clear-groups"]
    result = _entry(box, "--config", str(config), "sync", drop=drop,
                    env=_env(box, PUID="1026", PGID="100"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("ppsync: PUID=1026 PGID=100 ignored: the container runs "
                                    f"as uid {PUID} gid {PGID} (--user)")
    placed = box / "mirror" / lib.path("a.jpg")
    assert placed.stat().st_uid == PUID
    assert (box / "state" / "state.db").stat().st_uid == PUID
    # Without PUID/PGID it says nothing about them.
    quiet = _entry(box, "--config", str(config), "status", drop=drop, env=_env(box))
    assert quiet.returncode == 0 and "ignored" not in quiet.stderr


def _unshare() -> list[str]:
    return ["unshare", "--pid", "--fork", "--kill-child"]


@pytest.mark.skipif(subprocess.run(["unshare", "--pid", "--fork", "true"],
                                   capture_output=True).returncode != 0,
                    reason="no PID namespaces here")
def test_a_stop_through_the_entry_point_as_pid_1_is_not_lost(box: Path, lib: Library) -> None:
    """The entry point is PID 1 for a moment and then execs ppsync (the same PID): a SIGTERM
    while ppsync waits for its secret (a FIFO) ends it within 2 s."""
    section = lib.server_section()
    name = "api_key" if "api_key" in section else "password"
    section.pop(name)
    secret = box / "secret"
    os.mkfifo(secret)
    os.chown(secret, PUID, PGID)
    mirror = box / "mirror"
    mirror.mkdir()
    os.chown(mirror, PUID, PGID)
    (box / "state").mkdir(mode=0o1777)
    config = config_file(box / "ppsync.toml", {**section, f"{name}_file": str(secret)},
                         mirror, {})
    config.chmod(0o644)
    outer = subprocess.Popen([*_unshare(), str(ENTRYPOINT), *PPSYNC, "--config", str(config),
                              "daemon"],
                             env=_env(box, PUID=str(PUID), PGID=str(PGID)), cwd=box,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    writer: list[int] = []
    opener = threading.Thread(target=lambda: writer.append(os.open(secret, os.O_WRONLY)),
                              daemon=True)
    opener.start()
    opener.join(timeout=60)
    assert writer, "ppsync never read its secret"
    children = Path(f"/proc/{outer.pid}/task/{outer.pid}/children").read_text().split()
    pid = int(children[0])
    assert Path(f"/proc/{pid}/status").read_text().count(f"Uid:\t{PUID}\t") == 1
    sent = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    try:
        _, err = outer.communicate(timeout=10)
    finally:
        os.close(writer[0])
        if outer.poll() is None:
            outer.kill()
    took = time.monotonic() - sent
    assert took < 2.0 and outer.returncode == 0, (took, err)
    assert "stopped before it started" in err and "Traceback" not in err
