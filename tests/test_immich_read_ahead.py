"""The Immich walk reads its next search page ahead, on a worker thread, while the engine plans
the current one (``servers.read_ahead``). A stop still ends a run at once while that page hangs,
and a walk whose pages shift under it still lists every asset."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import run_cli, write_config
from tests.fake_immich import FakeImmich, ImmichUser
from tests.test_prompt_stop import STOP_BOUND, _wait

TAKEN = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeImmich]:
    with FakeImmich(generation="v2.5") as server:
        yield server


def _config(tmp_path: Path, fake: FakeImmich, target: Path) -> Path:
    target.mkdir()
    return write_config(tmp_path / "ppsync.toml", {
        "server": {"kind": "immich", "url": fake.url, "api_key": fake.add_key(("all",)),
                   "timeout": 60, "retries": 2, "retry_backoff": 0.01},
        "mirror": {"target": str(target), "workers": 2, "page_size": 10},
        "log": {"level": "debug", "format": "json"}})


@pytest.mark.parametrize("command, exit_code", [("sync", 130), ("daemon", 0)])
def test_a_stop_ends_the_run_while_the_page_read_ahead_hangs(
        fake: FakeImmich, tmp_path: Path, command: str, exit_code: int) -> None:
    ImmichUser(fake).seed(25, start=TAKEN)
    target = tmp_path / "mirror"
    config = _config(tmp_path, fake, target)
    fake.faults.listing_delay = 120  # every search page hangs, the first one too
    proc = subprocess.Popen([sys.executable, "-m", "ppsync", "--config", str(config), command],
                            env={"PATH": os.environ.get("PATH", "")},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait(lambda: len(fake.requests_to("/search/metadata", "POST")) > 0)
    time.sleep(0.3)  # the worker thread now blocks reading the answer
    stopped = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=90)
    took = time.monotonic() - stopped
    assert proc.returncode == exit_code, err
    assert took < STOP_BOUND, f"{command} took {took:.1f} s to stop on a hung listing"
    assert "Traceback" not in err

    fake.faults.listing_delay = 0
    result = run_cli(config, "sync", timeout=60)
    assert result.returncode == 0, result.stderr
    assert len([p for p in target.rglob("*.jpg")]) == 25


def test_pages_read_ahead_still_list_every_asset_when_uploads_shift_them(
        fake: FakeImmich, tmp_path: Path) -> None:
    """Uploads land while the walk runs (each new photo is the oldest, so it shifts every
    later page by one): the walk sees duplicates, drops them, and a second pass mirrors the
    rest; nothing is listed twice, nothing removed."""
    user = ImmichUser(fake)
    user.seed(45, start=TAKEN)
    target = tmp_path / "mirror"
    config = _config(tmp_path, fake, target)
    fake.faults.listing_delay = 0.05  # time for the uploads to land between pages
    proc = subprocess.Popen([sys.executable, "-m", "ppsync", "--config", str(config), "sync"],
                            env={"PATH": os.environ.get("PATH", "")},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait(lambda: len(fake.requests_to("/search/metadata", "POST")) > 0)
    for n in range(3):
        user.upload(f"EARLY_{n}.jpg", os.urandom(64), taken=TAKEN - timedelta(days=n + 1))
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    fake.faults.listing_delay = 0
    assert run_cli(config, "sync", "--full", timeout=60).returncode == 0
    names = sorted(p.name for p in target.rglob("*.jpg"))
    assert len(names) == 48 and len(set(names)) == 48
