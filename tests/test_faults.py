"""Invariant 1 and 4 under faults: 5xx, 429, timeouts, resets, truncated and corrupted bodies.
No wrong file ever reaches a final path; retries finish the job; what cannot be fixed reaches
the exit code and the report. A process stopped mid-download resumes with Range. Each runs
against both kinds of server (``lib``, ``tests/kinds.py``) unless it says why not."""

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
from tests.kinds import Library

Sync = Callable[..., RunReport]


def some_photos(lib: Library, n: int = 6, size: int = 20_000) -> dict[str, bytes]:
    """``n`` random photos; returns their bytes by where they land in the mirror."""
    files = {}
    for i in range(n):
        content = os.urandom(size)
        lib.add(f"d/{i}.jpg", content)
        files[lib.path(f"d/{i}.jpg")] = content
    return files


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_transient_statuses_are_retried_until_done(
    lib: Library, target: Path, lib_sync: Sync, status: int
) -> None:
    files = some_photos(lib)
    lib.fail_next(3, status)
    report = lib_sync()
    assert report.exit_code == 0, report
    assert mirrored_files(target) == files


def test_failing_listing_pages_are_retried(lib: Library, target: Path,
                                          lib_sync: Sync) -> None:
    files = some_photos(lib)
    lib.fail_listing(2)
    report = lib_sync(mirror={"page_size": 2})
    assert report.exit_code == 0 and report.walk_complete, report
    assert mirrored_files(target) == files
    assert lib.listing_requests() >= 2 + len(files) // 2


@pytest.mark.parametrize("fault", ["truncate_downloads", "corrupt_downloads",
                                   "reset_connections"])
def test_broken_downloads_are_retried_and_verified(
    lib: Library, target: Path, lib_sync: Sync, fault: str
) -> None:
    files = some_photos(lib)
    # The faults hit whichever downloads come first, possibly all the same file: a corruption
    # uses up a whole-file attempt, so fewer of them than VERIFY_ATTEMPTS.
    {"truncate_downloads": lambda: lib.truncate_next_downloads(3),
     "corrupt_downloads": lambda: lib.corrupt_next_downloads(VERIFY_ATTEMPTS - 1),
     "reset_connections": lambda: lib.reset_next_downloads(3)}[fault]()
    report = lib_sync()
    assert report.exit_code == 0, report
    assert mirrored_files(target) == files


def test_permanently_corrupt_file_never_reaches_its_final_path(
    lib: Library, target: Path, lib_sync: Sync
) -> None:
    files = some_photos(lib, n=2)
    bad_body = os.urandom(20_000)
    bad = lib.add("d/bad.jpg", bad_body)
    bad_name = lib.path("d/bad.jpg")
    lib.corrupt_always(bad)
    report = lib_sync()
    assert report.exit_code == 1
    assert [f.path for f in report.failures] == [bad_name]
    assert "SHA-1" in report.failures[0].reason
    assert not (target / bad_name).exists()
    assert not list((target / ".ppsync" / "partial").iterdir())
    assert mirrored_files(target) == files
    # Once the server serves the right bytes, the next run completes the mirror.
    lib.corrupt_always(None)
    assert lib_sync().exit_code == 0
    assert mirrored_files(target) == files | {bad_name: bad_body}


def test_server_that_keeps_failing_reaches_the_exit_code(
    lib: Library, target: Path, lib_sync: Sync
) -> None:
    some_photos(lib, n=2)
    lib.fail_downloads(10_000, 503)
    report = lib_sync()
    assert report.exit_code == 1
    assert report.failed == 2
    assert all("503" in f.reason for f in report.failures)
    assert mirrored_files(target) == {}


def test_slow_server_times_out_and_is_retried(lib: Library, target: Path,
                                              lib_sync: Sync) -> None:
    files = some_photos(lib, n=2)
    lib.set_download_delay(1.5)
    report = lib_sync(server={"timeout": 0.5, "retries": 1})
    assert report.exit_code in (1, 3)
    # whatever is at a final path is a complete, verified file
    assert all(files[name] == data for name, data in mirrored_files(target).items())
    lib.set_download_delay(0)
    assert lib_sync().exit_code == 0
    assert mirrored_files(target) == files


def test_unreachable_server_exits_3_with_a_clear_message(
    lib: Library, lib_config: ConfigFactory
) -> None:
    from tests.conftest import run_cli

    config = lib_config(server={"url": "http://127.0.0.1:9", "retries": 1})
    result = run_cli(config, "sync")
    assert result.returncode == 3
    assert "cannot reach" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_malformed_listing_is_a_clear_error_and_deletes_nothing(
    lib: Library, target: Path, lib_sync: Sync
) -> None:
    files = some_photos(lib, n=3)
    assert lib_sync(mirror={"delete": "mirror"}).exit_code == 0
    lib.malformed_listing()
    report = lib_sync(mirror={"delete": "mirror", "page_size": 2})
    assert report.exit_code == 3
    where = {"photoprism": "listing photos", "immich": "search/metadata (timeline)"}[lib.kind]
    assert where in report.error and "did not answer with JSON" in report.error, report.error
    assert report.deleted == 0
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
    lib: Library, target: Path, lib_config: ConfigFactory
) -> None:
    # systemd stopping ppsync-once.service, `docker stop` or a NAS job's time limit: SIGTERM.
    content = os.urandom(3 * 1024 * 1024)
    lib.add("big/video.mp4", content)
    final = target / lib.path("big/video.mp4")
    # ~12 s for the file: longer than the 1 s a stop gives downloads in flight to finish.
    lib.set_download_rate(256 * 1024)
    config = lib_config()
    proc = subprocess.Popen([sys.executable, "-m", "ppsync", "--config", str(config), "sync"],
                            env={"PATH": os.environ.get("PATH", "")},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial_dir = target / ".ppsync" / "partial"
    wait_for_partial(partial_dir, 256 * 1024)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not final.exists()  # nothing half-written at a final path
    assert list(partial_dir.glob("*.part"))  # kept for resuming
    status = subprocess.run([sys.executable, "-m", "ppsync", "--config", str(config), "status",
                             "--json"], capture_output=True, text=True, timeout=30)
    last = json.loads(status.stdout)["runs"][0]
    assert last["finished"] and last["exit_code"] == 130 and "interrupted" in last["error"]

    lib.set_download_rate(0)
    lib.reset_counters()
    result = subprocess.run([sys.executable, "-m", "ppsync", "--config", str(config), "sync"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert final.read_bytes() == content
    assert all(r.startswith("bytes=") and r != "bytes=0-" for r in lib.download_ranges())


# PhotoPrism-only: its download route gzips originals when asked (the trap that Accept-Encoding:
# identity avoids); Immich's sendFile never compresses an original.
def test_gzip_server_still_gives_byte_exact_files(tmp_path: Path) -> None:
    from ppsync.config import load_config
    from ppsync.mirror.sync import run_sync
    from tests.conftest import PASSWORD, write_config

    with FakePhotoPrism(password=PASSWORD, gzip_downloads=True) as server:
        files = {}
        for i in range(3):
            files[f"d/{i}.jpg"] = os.urandom(20_000)
            server.add_photo([(f"d/{i}.jpg", files[f"d/{i}.jpg"])])
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
