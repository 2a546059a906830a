"""The rolling scrub, for both kinds of server, over simulated months in one process: passes
run with a clock the test moves (``PassOptions.clock``), never a sleep. Damage injected on the
mirror's disk (a flipped byte, a truncation, a deletion, a same-size rewrite) is found within
one cycle of ``[scrub] every`` and repaired from the server, the damaged copy kept in
``.ppsync/damaged/``; damage to a file the server no longer has is kept as it is and reported
on every pass (exit 1) until the user acts; every file is re-read once per cycle; a stop ends
the scrub promptly and the next pass resumes where it stopped."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from ppsync.config import Settings, load_config
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.models import RunReport
from ppsync.state import State
from tests.conftest import config_file, mirrored_files
from tests.kinds import Library

DAY = 86400.0
START = 1_900_000_000.0  # 2030: far from the real clock, so only the test's clock counts


class Clock:
    """The wall clock the scrub plans by, moved by the test."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def settings(lib: Library, tmp_path: Path, target: Path, **sections: dict[str, Any]) -> Settings:
    sections.setdefault("schedule", {"interval": "1d", "full_every": "3650d"})
    sections.setdefault("scrub", {"every": "30d", "max_rate": 0})
    return load_config(config_file(tmp_path / "ppsync.toml", lib.server_section(), target,
                                   sections), {})


def a_pass(config: Settings, clock: Clock, stop: threading.Event | None = None) -> RunReport:
    """One pass as the daemon runs it between full walks: a change pass, then the scrub."""
    return run_sync(config, PassOptions(changes_only=True, clock=clock,
                                        stop=stop or threading.Event()))


def verified_times(target: Path) -> dict[str, float]:
    state = State.open(target / ".ppsync" / "state.db")
    try:
        return {str(row[0]): float(row[1]) for row in
                state.db.execute("SELECT f.path, v.verified_at FROM verified v JOIN files f "
                                 "ON f.file_uid = v.file_uid")}
    finally:
        state.close()


def age_library(lib: Library) -> None:
    """Make the library's last changes an hour old, as between passes of a daemon: a change
    pass lists again what changed in the 5 minutes before the last one began (its margin),
    and would then see a deleted or truncated copy itself."""
    fake: Any = lib.fake  # type: ignore[attr-defined]
    hour = timedelta(hours=1)
    if lib.kind == "immich":
        with fake.lib.lock:
            for asset in fake.lib.assets.values():
                asset.updated_at -= hour
    else:
        with fake._lock:
            for photo in fake._photos.values():
                photo.updated_at -= hour
            fake._invalidate()


def gone_for_good(lib: Library, key: str) -> None:
    """The photo leaves the server with its bytes (Immich's trash still serves them)."""
    if lib.kind == "immich":
        lib.user.purge(key)  # type: ignore[attr-defined]
    else:
        lib.remove(key)


def test_damage_is_found_within_one_cycle_and_repaired(
        lib: Library, tmp_path: Path, target: Path) -> None:
    contents = {f"2024/S_{n}.jpg": f"scrub {n} ".encode() * (300 + 40 * n) for n in range(12)}
    for name, body in contents.items():
        lib.add(name, body)
    config, clock = settings(lib, tmp_path, target), Clock()
    first = a_pass(config, clock)
    assert first.exit_code == 0 and first.downloaded == 12
    age_library(lib)
    # 12 files, one day between passes, every 30 days: at least one file a pass.
    assert first.scrubbed == 1
    paths = {name: target / lib.path(name) for name in contents}
    flipped, cut, deleted, rewritten = (paths[f"2024/S_{n}.jpg"] for n in (3, 5, 7, 9))
    body = bytearray(flipped.read_bytes())
    body[17] ^= 0x01
    flipped.write_bytes(bytes(body))
    cut.write_bytes(cut.read_bytes()[:100])
    deleted.unlink()
    rewritten.write_bytes(b"x" * rewritten.stat().st_size)  # same size, other bytes
    downloads_before = lib.download_count()

    found: dict[str, int] = {"damaged": 0, "repaired": 0, "scrubbed": first.scrubbed}
    days = 0
    while found["repaired"] < 4 and days < 30:
        clock.now += DAY
        days += 1
        report = a_pass(config, clock)
        assert report.exit_code == 0, report.failures
        assert report.downloaded == 0  # the change pass had nothing: the scrub repaired
        for key in found:
            found[key] += getattr(report, key)
    assert found["damaged"] == found["repaired"] == 4, found
    assert days <= 30  # within one cycle of `every`
    assert lib.download_count() - downloads_before == 4
    assert mirrored_files(target) == {lib.path(n): b for n, b in contents.items()}
    damaged = target / ".ppsync" / "damaged"
    kept = {p.relative_to(damaged).as_posix().rsplit("~", 1)[0]: p.read_bytes()
            for p in damaged.rglob("*") if p.is_file()}
    assert kept == {lib.path("2024/S_3.jpg"): bytes(body),
                    lib.path("2024/S_5.jpg"): contents["2024/S_5.jpg"][:100],
                    lib.path("2024/S_9.jpg"): b"x" * len(contents["2024/S_9.jpg"])}

    # The cycle: by 30 days after the first pass every file has been re-read.
    while days < 30:
        clock.now += DAY
        days += 1
        a_pass(config, clock)
    assert all(t > START for t in verified_times(target).values())
    last = a_pass(config, clock)
    assert last.scrub_cycle_done_at > START and 0.0 < last.scrub_progress <= 1.0


def test_damage_to_a_file_the_server_lost_is_kept_and_reported_until_the_user_acts(
        lib: Library, tmp_path: Path, target: Path) -> None:
    good, lost = b"kept photo " * 200, b"lost photo " * 300
    lib.add("2024/K_1.jpg", good)
    lost_key = lib.add("2024/K_2.jpg", lost)
    config = settings(lib, tmp_path, target, scrub={"every": "1d", "max_rate": 0})
    clock = Clock()
    assert a_pass(config, clock).exit_code == 0
    age_library(lib)
    gone_for_good(lib, lost_key)  # between full walks: the mirror still tracks it
    path = target / lib.path("2024/K_2.jpg")
    broken = bytearray(lost)
    broken[5] ^= 0xFF
    path.write_bytes(bytes(broken))
    for _ in range(3):  # every pass says it again, and never touches the file
        clock.now += DAY
        report = a_pass(config, clock)
        assert report.exit_code == 1
        assert report.damaged_kept == 1 and report.repaired == 0
        assert [f.path for f in report.failures] == [lib.path("2024/K_2.jpg")]
        assert "no longer has" in report.failures[0].reason
        assert path.read_bytes() == bytes(broken)
        assert not (target / ".ppsync" / "damaged").exists()
    path.write_bytes(lost)  # the user puts a good copy back (from another backup)
    clock.now += DAY
    report = a_pass(config, clock)
    assert report.exit_code == 0 and not report.failures and report.damaged == 0


def test_a_stop_ends_the_scrub_promptly_and_the_next_pass_resumes(
        lib: Library, tmp_path: Path, target: Path) -> None:
    for n in range(10):
        lib.add(f"2024/R_{n}.jpg", bytes([n]) * 400_000)
    clock = Clock()
    # 1 MB a second: a slice of all ten files takes about 4 s.
    config = settings(lib, tmp_path, target, scrub={"every": "30d", "max_rate": 1_000_000})
    assert a_pass(config, clock).exit_code == 0  # reads one file
    clock.now += 30 * DAY  # every file is due now
    stop = threading.Event()
    stopped_at: list[float] = []

    def stop_once_some_are_recorded() -> None:
        while not stop.wait(0.05):
            if any(t == clock.now for t in verified_times(target).values()):
                stopped_at.append(time.monotonic())
                stop.set()

    watcher = threading.Thread(target=stop_once_some_are_recorded)
    watcher.start()
    try:
        report = a_pass(config, clock, stop)
        ended_at = time.monotonic()
    finally:
        stop.set()
        watcher.join()
    assert 0 < report.scrubbed < 10  # the slice was cut short
    assert ended_at - stopped_at[0] < 2.0
    read = sum(t == clock.now for t in verified_times(target).values())
    assert read == report.scrubbed  # what it read is recorded
    resumed = a_pass(config, clock)  # the same moment: only what it had left is due
    assert resumed.scrubbed == 10 - read
    assert all(t == clock.now for t in verified_times(target).values())


def test_every_zero_turns_the_scrub_off(lib: Library, tmp_path: Path, target: Path) -> None:
    lib.add("2024/O_1.jpg", b"off " * 100)
    config = settings(lib, tmp_path, target, scrub={"every": "0"})
    clock = Clock()
    assert a_pass(config, clock).exit_code == 0
    (target / lib.path("2024/O_1.jpg")).write_bytes(b"rot " * 100)
    clock.now += 40 * DAY
    report = a_pass(config, clock)
    assert report.exit_code == 0 and report.scrubbed == 0 and report.damaged == 0


def test_hashing_matches_hashlib(tmp_path: Path) -> None:
    from ppsync.mirror.scrub import Throttle, hash_file

    data = bytes(range(256)) * 9000
    (tmp_path / "f").write_bytes(data)
    stop = threading.Event()
    assert hash_file(tmp_path / "f", Throttle(0, stop), stop) == (
        hashlib.sha1(data).hexdigest(), len(data))


def test_sigterm_to_a_one_shot_sync_ends_its_scrub_within_2_s(
        lib: Library, tmp_path: Path, target: Path) -> None:
    import signal
    import subprocess
    import sys

    for n in range(10):
        lib.add(f"2024/T_{n}.jpg", bytes([n + 1]) * 400_000)
    sections: dict[str, dict[str, Any]] = {"scrub": {"every": "1s", "max_rate": 1_000_000}}
    path = config_file(tmp_path / "ppsync.toml", lib.server_section(), target, sections)
    assert run_sync(load_config(path, {})).exit_code == 0  # every file is due at every pass
    started = time.time()
    child = subprocess.Popen([sys.executable, "-m", "ppsync", "--config", str(path), "sync"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not any(t > started for t in verified_times(target).values()):
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)  # polling for the state the test waits for, not a guessed time
        child.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        assert child.wait(timeout=10) == 130
        assert time.monotonic() - signalled < 2.0
    finally:
        if child.poll() is None:
            child.kill()
    read = [p for p, t in verified_times(target).items() if t > started]
    assert 0 < len(read) < 10  # what it verified before the signal is kept


def test_damage_shows_in_the_metrics_and_raises_an_alert_even_when_repaired(
        tmp_path: Path) -> None:
    from prometheus_client import generate_latest

    from ppsync.config import MonitorConfig
    from ppsync.service.monitor import Alerts, Metrics

    report = RunReport(command="change", exit_code=0, scrubbed=35, scrubbed_bytes=110_000_000,
                       damaged=2, repaired=2, scrub_progress=0.25,
                       scrub_cycle_done_at=START)
    metrics = Metrics()
    metrics.record(report, 100, 1000)
    text = generate_latest(metrics.registry).decode()
    for line in ("ppsync_scrub_files_checked_total 35.0", "ppsync_scrub_files_damaged_total 2.0",
                 "ppsync_scrub_bytes_checked_total 1.1e+08",
                 "ppsync_scrub_files_repaired_total 2.0", "ppsync_scrub_cycle_progress 0.25",
                 "ppsync_scrub_last_cycle_timestamp_seconds 1.9e+09"):
        assert line in text, line
    events = tmp_path / "events"
    alerts = Alerts(MonitorConfig(notify_command=f"sh -c 'echo $PPSYNC_EVENT >> {events}'"))
    alerts.pass_finished(RunReport(command="change", exit_code=0))
    alerts.pass_finished(report)  # exit 0, all repaired: still news
    assert events.read_text().split() == ["damage"]
