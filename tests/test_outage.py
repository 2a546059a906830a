"""A server restart in the middle of a pass (issue 10, item 5).

Restarting or upgrading PhotoPrism takes ~8 s on a small library and minutes on a big one:
connections are refused meanwhile, transfers in flight are cut, and afterwards the download
token is refused until an authenticated request loads a session (§h, §c). ppsync waits out such
an outage for ``server.outage_wait`` (a few seconds here), then carries on where the pass was.
Immich restarts the same way (without the download token); each test runs against both kinds
(``lib``, ``tests/kinds.py``) unless it says why not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import pytest

from ppsync.config import load_config
from ppsync.mirror.sync import run_sync
from ppsync.models import RunReport
from tests.conftest import ConfigFactory, mirrored_files
from tests.fake_photoprism import FakePhotoPrism
from tests.kinds import Library
from tests.kinds_photoprism import PhotoPrismLibrary
from tests.test_faults import wait_for_partial

Sync = Callable[..., RunReport]


def photos(lib: Library, n: int) -> dict[str, bytes]:
    files = {}
    for i in range(n):
        content = os.urandom(2_000)
        lib.add(f"d/{i}.jpg", content)
        files[lib.path(f"d/{i}.jpg")] = content
    return files


def in_thread(run: Callable[[], RunReport]) -> Future[RunReport]:
    future: Future[RunReport] = Future()

    def target() -> None:
        try:
            future.set_result(run())
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=target, daemon=True).start()
    return future


def session_reads(server: FakePhotoPrism) -> int:
    return len([r for r in server.requests
                if r.method == "GET" and r.path.rstrip("/").endswith("/session")])


@pytest.mark.parametrize("proxy_status", [0, 502, 503, 504],
                         ids=["refused", "proxy-502", "proxy-503", "proxy-504"])
def test_restart_mid_walk_is_waited_out(lib: Library, target: Path, lib_sync: Sync,
                                        proxy_status: int) -> None:
    files = photos(lib, 12)
    lib.restart_at_listing_request(3, 1.5, proxy_status)  # the third listing page
    started = time.monotonic()
    report = lib_sync(mirror={"page_size": 2}, server={"outage_wait": "10s"})
    assert report.exit_code == 0, report
    assert time.monotonic() - started >= 1.4  # it really waited for the server
    assert mirrored_files(target) == files
    assert report.walk_complete


# PhotoPrism-only: only its fake can drop packets (a connect that times out); the wait itself is
# the one servers/http.py gives both kinds, which the refused and proxy restarts above cover.
def test_a_host_that_drops_packets_mid_walk_is_waited_out(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    files = {}
    for i in range(8):
        files[f"d/{i}.jpg"] = os.urandom(2_000)
        server.add_photo([(f"d/{i}.jpg", files[f"d/{i}.jpg"])])
    server.faults.go_down_path_contains = "/api/v1/photos"
    server.faults.go_down_at_request = 2
    server.faults.go_down_seconds = 2.0
    server.faults.go_down_blackhole = True  # connects time out (ConnectTimeout), not refused
    started = time.monotonic()
    report = sync(mirror={"page_size": 2},
                  server={"outage_wait": "20s", "timeout": 1.0, "retries": 1})
    assert report.exit_code == 0, report
    assert time.monotonic() - started >= 1.9  # it waited, past the one ordinary retry
    assert mirrored_files(target) == files


def test_restart_mid_download_resumes_with_range_and_a_refreshed_token(
    lib: Library, target: Path, lib_config: ConfigFactory
) -> None:
    content = os.urandom(3 * 1024 * 1024)
    lib.add("big/video.mp4", content)
    lib.set_download_rate(1024 * 1024)  # ~3 s for the file
    settings = load_config(lib_config(server={"outage_wait": "20s"}), {})
    lib.reset_counters()
    pass_ = in_thread(lambda: run_sync(settings))
    wait_for_partial(target / ".ppsync" / "partial", 1024 * 1024)
    held = lib.bytes_served()
    lib.go_down(2.0)  # the transfer is cut; connections are refused for 2 s
    lib.set_download_rate(0)
    report = pass_.result(timeout=60)
    assert report.exit_code == 0, report
    assert (target / lib.path("big/video.mp4")).read_bytes() == content
    resumed = lib.download_ranges()[1:]
    assert resumed and all(r.startswith("bytes=") and not r.startswith("bytes=0-")
                           for r in resumed)
    assert lib.bytes_served() <= len(content) + 256 * 1024  # not again from the first byte
    assert held > 0
    if isinstance(lib, PhotoPrismLibrary):  # its download token came back through a search
        assert session_reads(lib.fake) == 0


# PhotoPrism-only: each restart forgets its download tokens (§h), which must be refreshed.
def test_two_restarts_during_one_download_each_refresh_the_token(
    server: FakePhotoPrism, target: Path, make_config: ConfigFactory
) -> None:
    content = os.urandom(4 * 1024 * 1024)
    server.add_photo([("big/video.mp4", content)])
    server.faults.download_rate = 1024 * 1024  # ~4 s for the file
    settings = load_config(make_config(server={"outage_wait": "20s"}), {})
    pass_ = in_thread(lambda: run_sync(settings))
    partial = target / ".ppsync" / "partial"
    wait_for_partial(partial, 512 * 1024)
    server.go_down(0.5)
    server.wait_up()
    wait_for_partial(partial, 2 * 1024 * 1024)  # the token was refreshed, bytes flow again
    server.go_down(0.5)  # a second restart during the same file
    report = pass_.result(timeout=60)
    assert report.exit_code == 0, report
    assert (target / "big" / "video.mp4").read_bytes() == content
    rejected = [r for r in server.requests if "/dl/" in r.path]
    assert len(rejected) >= 3  # the first request and one resume after each restart


def test_outage_longer_than_the_budget_exits_3_with_a_clear_error(
    lib: Library, target: Path, lib_sync: Sync
) -> None:
    photos(lib, 6)
    lib.restart_at_listing_request(2, 30)
    started = time.monotonic()
    report = lib_sync(mirror={"page_size": 2}, server={"outage_wait": "1s"})
    elapsed = time.monotonic() - started
    assert report.exit_code == 3, report
    assert "cannot reach" in report.error
    assert "server.outage_wait" in report.error
    assert 1.0 <= elapsed < 10


def test_proxy_outage_longer_than_the_budget_exits_3(
    lib: Library, target: Path, lib_sync: Sync
) -> None:
    photos(lib, 6)
    lib.restart_at_listing_request(2, 30, 503)
    report = lib_sync(mirror={"page_size": 2}, server={"outage_wait": "1s"})
    assert report.exit_code == 3, report
    assert "kept answering HTTP 503" in report.error and "server.outage_wait" in report.error


def test_server_down_at_the_start_fails_fast(
    lib: Library, target: Path, lib_sync: Sync
) -> None:
    # Never reached: a wrong URL or a server that is not up yet is reported at once.
    photos(lib, 1)
    lib.go_down(30)
    started = time.monotonic()
    report = lib_sync(server={"outage_wait": "1m", "retries": 1})
    assert report.exit_code == 3 and "cannot reach" in report.error
    # not the minute of outage_wait (a loaded machine takes seconds; the budget takes 60)
    assert time.monotonic() - started < 30


def test_sigterm_during_the_wait_ends_a_one_shot_sync_promptly(
    lib: Library, target: Path, lib_config: ConfigFactory
) -> None:
    photos(lib, 6)
    lib.restart_at_listing_request(2, 60)
    config = lib_config(mirror={"page_size": 2}, server={"outage_wait": "2m"})
    proc = subprocess.Popen([sys.executable, "-m", "ppsync", "--config", str(config), "sync"],
                            env={"PATH": os.environ.get("PATH", "")},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err_lines, reader = _collect(proc)
    # In the wait: the server went down at the second page and ppsync said it is waiting.
    _wait_for(lambda: lib.is_down() and any(WAITING in line for line in err_lines))
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    proc.wait(timeout=20)
    reader.join(timeout=10)
    err = "".join(err_lines)
    assert proc.returncode == 130, err
    assert time.monotonic() - started < 5
    assert "Traceback" not in err


def test_sigterm_during_the_wait_stops_the_daemon_promptly(
    lib: Library, target: Path, lib_config: ConfigFactory
) -> None:
    content = os.urandom(2 * 1024 * 1024)
    lib.add("big.mp4", content)
    lib.set_download_rate(512 * 1024)
    config = lib_config(schedule={"interval": "1h"}, server={"outage_wait": "2m"})
    proc = subprocess.Popen([sys.executable, "-m", "ppsync", "--config", str(config), "daemon"],
                            env={"PATH": os.environ.get("PATH", "")},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err_lines, reader = _collect(proc)
    try:
        wait_for_partial(target / ".ppsync" / "partial", 256 * 1024)
        lib.go_down(60)
        # the download and the pass are waiting for the server, as the log says
        _wait_for(lambda: any(WAITING in line for line in err_lines))
    finally:
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        proc.wait(timeout=30)
    reader.join(timeout=10)
    err = "".join(err_lines)
    assert proc.returncode == 0, err
    assert time.monotonic() - started < 8
    assert list((target / ".ppsync" / "partial").glob("*.part"))  # kept for resuming
    assert WAITING in err


WAITING = "waiting for it to come back"


def _collect(proc: subprocess.Popen[str]) -> tuple[list[str], threading.Thread]:
    """The process's stderr lines as they come (read by a thread, which ends at the end of
    the output), so that a test can wait for what the process says instead of guessing how
    long it takes to say it."""
    lines: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


def _wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
