"""Shared fixtures: a fake PhotoPrism on loopback and a config that points a mirror at it;
``server_kind``/``lib``: a fake of each kind of server in turn (``tests/kinds.py``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ppsync.config import Settings, load_config
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.models import RunReport
from tests.fake_immich import FakeImmich
from tests.fake_photoprism import FakePhotoPrism
from tests.kinds import KINDS, Library, library

PASSWORD = "insecure-pw"


@pytest.fixture
def server() -> Iterator[FakePhotoPrism]:
    with FakePhotoPrism(password=PASSWORD) as fake:
        yield fake


@pytest.fixture(params=KINDS)
def server_kind(request: pytest.FixtureRequest) -> str:
    """Each kind of server in turn: a test that takes it runs once per kind."""
    return str(request.param)


@pytest.fixture
def lib(server_kind: str) -> Iterator[Library]:
    """A fake server of ``server_kind`` behind the one ``tests.kinds.Library`` interface."""
    with library(server_kind) as fake:
        yield fake


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A real filesystem of ``size`` (tmpfs syntax: "1m") mounted on a new ``folder``, for
    running out of space; the test skips where it cannot be mounted (needs root)."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                              str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB filesystem (tmpfs), for running out of space. Needs root to mount."""
    with tmpfs(tmp_path / "small", "1m") as small:
        yield small


@pytest.fixture
def casefold_disk(tmp_path: Path) -> Iterator[Path]:
    """A real case-insensitive, case-preserving folder (as on exFAT or an SMB share), served
    by ``tests/casefold_fs.py`` over FUSE. Needs /dev/fuse, libfuse2 and mfusepy."""
    backing, mountpoint = tmp_path / "casefold-backing", tmp_path / "casefold"
    backing.mkdir()
    mountpoint.mkdir()
    if not Path("/dev/fuse").exists() or not shutil.which("fusermount"):
        pytest.skip("FUSE is not available here")
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("casefold_fs.py")), str(backing),
         str(mountpoint)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not os.path.ismount(mountpoint):
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.skip(f"cannot mount a FUSE filesystem here: {server.stderr.read()!r}"
                        if server.stderr else "cannot mount a FUSE filesystem here")
        time.sleep(0.05)
    try:
        yield mountpoint
    finally:
        subprocess.run(["fusermount", "-u", "-z", str(mountpoint)], capture_output=True)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "mirror"
    path.mkdir()
    return path


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, sections: dict[str, dict[str, Any]]) -> Path:
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {toml_value(value)}" for key, value in values.items())
    path.write_text("\n".join(lines) + "\n")
    return path


ConfigFactory = Callable[..., Path]


def config_file(path: Path, server: dict[str, Any], target: Path,
                sections: dict[str, dict[str, Any]]) -> Path:
    """A config for ``server`` (its section) and ``target``, as the tests run it: short retry
    backoffs and outage waits, debug JSON logs; ``sections`` override these defaults."""
    merged: dict[str, dict[str, Any]] = {
        "server": {**server, "timeout": 10, "retries": 4, "retry_backoff": 0.01,
                   "outage_wait": "2s"},
        "mirror": {"target": str(target), "workers": 4, "page_size": 50},
        "log": {"level": "debug", "format": "json"},
    }
    for name, values in sections.items():
        merged.setdefault(name, {}).update(values)
    return write_config(path, merged)


@pytest.fixture
def make_config(tmp_path: Path, server: FakePhotoPrism, target: Path) -> ConfigFactory:
    """Write a config for ``server`` and ``target``; keyword sections override defaults."""

    def factory(**sections: dict[str, Any]) -> Path:
        return config_file(tmp_path / "ppsync.toml", {"url": server.url, "username": "admin",
                                                      "password": PASSWORD}, target, sections)

    return factory


@pytest.fixture
def lib_config(tmp_path: Path, lib: Library, target: Path) -> ConfigFactory:
    """``make_config`` for ``lib``, the fake server of ``server_kind``."""

    def factory(**sections: dict[str, Any]) -> Path:
        return config_file(tmp_path / "ppsync.toml", lib.server_section(), target, sections)

    return factory


@pytest.fixture
def lib_sync(lib_config: ConfigFactory) -> Callable[..., RunReport]:
    """``sync`` for ``lib``: one real pass in-process (``changes=True``: a change pass)."""

    def run(changes: bool = False, **sections: dict[str, Any]) -> RunReport:
        settings: Settings = load_config(lib_config(**sections), {})
        return run_sync(settings, PassOptions(changes_only=changes))

    return run


@pytest.fixture
def sync(make_config: ConfigFactory) -> Callable[..., RunReport]:
    """Run one real sync pass in-process with the given config overrides."""

    def run(**sections: dict[str, Any]) -> RunReport:
        settings: Settings = load_config(make_config(**sections), {})
        return run_sync(settings)

    return run


def run_cli(config: Path, *args: str, timeout: float = 120,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real ``ppsync`` command line in a subprocess."""
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ppsync", "--config", str(config), *args],
        capture_output=True, text=True, env=full_env, timeout=timeout,
    )


def mirrored_files(target: Path) -> dict[str, bytes]:
    """Every regular file in the mirror outside .ppsync, by relative path."""
    found = {}
    for path in target.rglob("*"):
        rel = path.relative_to(target).as_posix()
        if path.is_file() and not rel.startswith(".ppsync"):
            found[rel] = path.read_bytes()
    return found


@contextlib.contextmanager
def admin_http(fake: FakePhotoPrism) -> Iterator[httpx.Client]:
    """An httpx client logged in to ``fake`` as admin, for doing by hand what a user (or
    PhotoPrism's UI) would do: a rescan, a star."""
    with httpx.Client(base_url=fake.url, timeout=10) as client:
        answer = client.post("/api/v1/session", json={"username": "admin", "password": PASSWORD})
        answer.raise_for_status()
        client.headers["X-Auth-Token"] = answer.json()["access_token"]
        yield client


# The fake Immich per generation, for the fidelity tests (tests/test_fake_immich*.py).
@pytest.fixture(params=["v1.135", "v2.5", "v3"])
def im(request: pytest.FixtureRequest) -> Iterator[FakeImmich]:
    with FakeImmich(generation=request.param) as fake:
        yield fake


@pytest.fixture
def v1() -> Iterator[FakeImmich]:
    with FakeImmich(generation="v1.135") as fake:
        yield fake


@pytest.fixture
def v2() -> Iterator[FakeImmich]:
    with FakeImmich(generation="v2.5") as fake:
        yield fake


@pytest.fixture
def v3() -> Iterator[FakeImmich]:
    with FakeImmich(generation="v3") as fake:
        yield fake
