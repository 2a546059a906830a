"""A stop is prompt whatever the link: SIGTERM ends ``sync`` and ``daemon`` within a couple of
seconds even while a download crawls at 5 KB/s or hangs with no byte at all, the exit code is
the usual one, and the next run resumes what was in flight with a Range request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ConfigFactory, run_cli
from tests.kinds import Library

# Generous for a loaded 2-core machine; the old 5 s grace (and a 60 s read timeout on a hung
# link) do not fit in it. The target is 2 s, measured by the benchmark, not here.
STOP_BOUND = 4.5


def _wait(condition: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _partial_bytes(target: Path) -> int:
    partial = target / ".ppsync" / "partial"
    return sum(p.stat().st_size for p in partial.glob("*.part")) if partial.is_dir() else 0


@pytest.mark.parametrize("command, exit_code", [("sync", 130), ("daemon", 0)])
@pytest.mark.parametrize("link", ["5 KB/s", "hung", "hung listing"])
def test_sigterm_ends_the_run_promptly_and_the_next_run_resumes(
    lib: Library, target: Path, lib_config: ConfigFactory, command: str,
    exit_code: int, link: str,
) -> None:
    content = os.urandom(2 * 1024 * 1024)
    lib.add("big/video.mp4", content)
    final = target / lib.path("big/video.mp4")
    if link == "hung":
        lib.set_download_delay(120)  # the answer never starts within the test
    elif link == "hung listing":
        lib.seed(60, size=64)  # a second page, which hangs
    else:
        lib.set_download_rate(5 * 1024)
    config = lib_config(server={"timeout": 60})
    if link == "hung listing":
        lib.set_listing_delay(120)
    proc = subprocess.Popen([sys.executable, "-m", "ppsync", "--config", str(config), command],
                            env={"PATH": os.environ.get("PATH", "")},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if link == "hung":
        _wait(lambda: lib.download_count() > 0)
        time.sleep(0.3)  # the request is out; its thread now blocks reading the answer
    elif link == "hung listing":
        _wait(lambda: lib.listing_requests() > 0)
        time.sleep(0.3)
    else:
        _wait(lambda: _partial_bytes(target) > 4096)
    stopped = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=90)
    took = time.monotonic() - stopped
    assert proc.returncode == exit_code, err
    assert took < STOP_BOUND, f"{command} took {took:.1f} s to stop on a {link} link"
    assert "Traceback" not in err
    assert not final.exists() or link == "hung listing"
    held = _partial_bytes(target)
    assert held > 0 or link.startswith("hung")  # what arrived stays for the next run

    lib.set_download_rate(0)
    lib.set_download_delay(0)
    lib.set_listing_delay(0)
    lib.reset_counters()
    result = run_cli(config, "sync", timeout=60)
    assert result.returncode == 0, result.stderr
    assert final.read_bytes() == content
    if held:
        assert lib.download_ranges() == [f"bytes={held}-"]
