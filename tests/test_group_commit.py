"""Group commits keep the durability promise: a file is recorded in the state only after its
bytes and its name are on disk. SIGKILL at any moment of a run of many small files never leaves
a recorded file without its bytes, and the next run finishes the mirror."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ConfigFactory, mirrored_files, run_cli
from tests.kinds import Library
from tests.test_daemon import wait_for


def _recorded_files_are_on_disk(target: Path) -> int:
    """Check every active record against the disk; return how many there are."""
    if not (target / ".ppsync" / "state.db").exists():  # killed before the state was made
        return 0
    db = sqlite3.connect(f"file:{target / '.ppsync' / 'state.db'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT path, sha1, size FROM files WHERE status = 'active'").fetchall()
    except sqlite3.OperationalError:  # killed before the schema was written
        rows = []
    finally:
        db.close()
    for path, sha1, size in rows:
        data = (target / path).read_bytes()  # raises if the record names no file
        assert len(data) == size and hashlib.sha1(data).hexdigest() == sha1, path
    return len(rows)


def test_sigkill_at_any_point_never_leaves_a_recorded_file_without_its_bytes(
    lib: Library, target: Path, lib_config: ConfigFactory
) -> None:
    lib.seed(600, size=20 * 1024)
    lib.set_download_rate(2 * 1024 * 1024)  # ~2 s for the library over 4 connections
    config = lib_config(log={"level": "warning"}, mirror={"page_size": 200})
    recorded = []
    for delay in (0.1, 0.3, 0.5, 0.7, 0.9, 1.1, 1.3, 1.5):
        downloads = lib.download_count()
        proc = subprocess.Popen([sys.executable, "-m", "ppsync", "--config", str(config),
                                 "sync"], env={"PATH": os.environ.get("PATH", "")},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Killed a while after this run began downloading, not a guessed time after its start,
        # which a busy machine spends starting Python.
        wait_for(lambda d=downloads, p=proc: lib.download_count() > d or p.poll() is not None)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        recorded.append(_recorded_files_are_on_disk(target))
    assert any(0 < n < 600 for n in recorded)  # some kills landed mid-run, between commits

    lib.set_download_rate(0)
    result = run_cli(config, "sync", "--full")
    assert result.returncode == 0, result.stderr
    assert _recorded_files_are_on_disk(target) == 600
    assert len(mirrored_files(target)) == 600
