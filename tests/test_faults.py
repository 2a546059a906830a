"""Invariant 1 and 4 under faults: 5xx, 429, timeouts, resets, truncated and corrupted bodies.
No wrong file ever reaches a final path; retries finish the job; what cannot be fixed reaches
the exit code and the report. A process killed mid-download resumes with Range."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ppsync.mirror.downloader import VERIFY_ATTEMPTS, PartFile
from ppsync.models import RunReport
from tests.conftest import ConfigFactory, mirrored_files
from tests.fake_photoprism import FakePhotoPrism

Sync = Callable[..., RunReport]


def some_photos(server: FakePhotoPrism, n: int = 6, size: int = 20_000) -> dict[str, bytes]:
    files = {}
    for i in range(n):
        content = os.urandom(size)
        server.add_photo([(f"d/{i}.jpg", content)])
        files[f"d/{i}.jpg"] = content
    return files


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_transient_statuses_are_retried_until_done(
    server: FakePhotoPrism, target: Path, sync: Sync, status: int
) -> None:
    files = some_photos(server)
    server.faults.fail_status = status
    server.faults.fail_next_requests = 3
    report = sync()
    assert report.exit_code == 0, report
    assert mirrored_files(target) == files


def test_failing_listing_pages_are_retried(server: FakePhotoPrism, target: Path,
                                          sync: Sync) -> None:
    files = some_photos(server)
    server.faults.fail_path_contains = "/photos"
    server.faults.fail_next_requests = 2
    assert sync(mirror={"page_size": 2}).exit_code == 0
    assert mirrored_files(target) == files


@pytest.mark.parametrize("fault", ["truncate_downloads", "corrupt_downloads",
                                   "reset_connections"])
def test_broken_downloads_are_retried_and_verified(
    server: FakePhotoPrism, target: Path, sync: Sync, fault: str
) -> None:
    files = some_photos(server)
    # The faults hit whichever downloads come first, possibly all the same file: a corruption
    # uses up a whole-file attempt, so fewer of them than VERIFY_ATTEMPTS.
    setattr(server.faults, fault, VERIFY_ATTEMPTS - 1 if fault == "corrupt_downloads" else 3)
    report = sync()
    assert report.exit_code == 0, report
    assert mirrored_files(target) == files


def test_permanently_corrupt_file_never_reaches_its_final_path(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    files = some_photos(server, n=3)
    bad = server.files(root="/")[0]
    server.faults.corrupt_hash = bad.sha1
    report = sync()
    assert report.exit_code == 1
    assert [f.path for f in report.failures] == [bad.name]
    assert "SHA-1" in report.failures[0].reason
    assert not (target / bad.name).exists()
    assert not list((target / ".ppsync" / "partial").iterdir())
    expected = {k: v for k, v in files.items() if k != bad.name}
    assert mirrored_files(target) == expected
    # Once the server serves the right bytes, the next run completes the mirror.
    server.faults.corrupt_hash = ""
    assert sync().exit_code == 0
    assert mirrored_files(target) == files


def test_server_that_keeps_failing_reaches_the_exit_code(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    some_photos(server, n=2)
    server.faults.fail_path_contains = "/dl/"
    server.faults.fail_status = 503
    server.faults.fail_next_requests = 10_000
    report = sync()
    assert report.exit_code == 1
    assert report.failed == 2
    assert all("503" in f.reason for f in report.failures)
    assert mirrored_files(target) == {}


def test_slow_server_times_out_and_is_retried(server: FakePhotoPrism, target: Path,
                                              sync: Sync) -> None:
    files = some_photos(server, n=2)
    server.faults.download_delay = 1.5
    report = sync(server={"timeout": 0.5, "retries": 1})
    assert report.exit_code in (1, 3)
    # whatever is at a final path is a complete, verified file
    assert all(files[name] == data for name, data in mirrored_files(target).items())
    server.faults.download_delay = 0
    assert sync().exit_code == 0
    assert mirrored_files(target) == files


def test_unreachable_server_exits_3_with_a_clear_message(
    make_config: ConfigFactory, tmp_path: Path
) -> None:
    from tests.conftest import run_cli

    config = make_config(server={"url": "http://127.0.0.1:9", "retries": 1})
    result = run_cli(config, "sync")
    assert result.returncode == 3
    assert "cannot reach" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_malformed_listing_is_a_clear_error_and_deletes_nothing(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    files = some_photos(server, n=3)
    assert sync(mirror={"delete": "mirror"}).exit_code == 0
    server.faults.malformed_listing = True
    report = sync(mirror={"delete": "mirror"})
    assert report.exit_code == 3
    assert "listing photos" in report.error
    assert mirrored_files(target) == files


def wait_for_partial(partial_dir: Path, size: int, timeout: float = 30) -> None:
    """Until a download in flight holds more than ``size`` bytes in ``partial_dir``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        parts = list(partial_dir.glob("*.part")) if partial_dir.exists() else []
        if parts and parts[0].stat().st_size > size:
            return
        time.sleep(0.05)


def test_sigterm_ends_a_one_shot_sync_as_interrupted_and_the_next_run_resumes(
    server: FakePhotoPrism, target: Path, make_config: ConfigFactory
) -> None:
    # systemd stopping ppsync-once.service, `docker stop` or a NAS job's time limit: SIGTERM.
    content = os.urandom(3 * 1024 * 1024)
    server.add_photo([("big/video.mp4", content)])
    # ~12 s for the file: longer than the 1 s a stop gives downloads in flight to finish.
    server.faults.download_rate = 256 * 1024
    config = make_config()
    proc = subprocess.Popen([sys.executable, "-m", "ppsync", "--config", str(config), "sync"],
                            env={"PATH": os.environ.get("PATH", "")},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial_dir = target / ".ppsync" / "partial"
    wait_for_partial(partial_dir, 256 * 1024)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not (target / "big" / "video.mp4").exists()  # nothing half-written at a final path
    assert list(partial_dir.glob("*.part"))  # kept for resuming
    status = subprocess.run([sys.executable, "-m", "ppsync", "--config", str(config), "status",
                             "--json"], capture_output=True, text=True, timeout=30)
    last = json.loads(status.stdout)["runs"][0]
    assert last["finished"] and last["exit_code"] == 130 and "interrupted" in last["error"]

    server.faults.download_rate = 0
    result = subprocess.run([sys.executable, "-m", "ppsync", "--config", str(config), "sync"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (target / "big" / "video.mp4").read_bytes() == content


def test_gzip_server_still_gives_byte_exact_files(tmp_path: Path) -> None:
    from ppsync.config import load_config
    from ppsync.mirror.sync import run_sync
    from tests.conftest import PASSWORD, write_config

    with FakePhotoPrism(password=PASSWORD, gzip_downloads=True) as server:
        files = some_photos(server, n=3)
        target = tmp_path / "m"
        target.mkdir()
        config = write_config(tmp_path / "c.toml", {
            "server": {"url": server.url, "password": PASSWORD, "retry_backoff": 0.01},
            "mirror": {"target": str(target)}, "log": {"format": "json"}})
        assert run_sync(load_config(config, {})).exit_code == 0
        assert mirrored_files(target) == files
        dl = [r for r in server.requests if "/dl/" in r.path]
        assert all(r.headers.get("accept-encoding") == "identity" for r in dl)


def test_a_partial_download_on_a_full_disk_is_removed_without_raising(small_disk: Path) -> None:
    # Small odd-sized chunks leave a buffered tail when the disk fills, so closing fails again.
    # That second failure must not keep the partial (and its space) on the disk.
    part = PartFile(small_disk / "x.part", expected_size=4 * 1024 * 1024)
    with pytest.raises(OSError) as raised:
        while True:
            part.write(b"y" * 1000)
    assert raised.value.errno == errno.ENOSPC
    part.discard()
    assert not (small_disk / "x.part").exists()
    assert os.statvfs(small_disk).f_bfree > 0
