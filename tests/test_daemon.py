"""The daemon as a user runs it: a real subprocess with signals, an sd_notify socket, a ping
receiver, the metrics endpoint; change passes; health; bad schedules; a vanished target."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ppsync.config import load_config
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.models import RunReport
from ppsync.servers import open_server
from ppsync.service.daemon import _trigger
from tests.conftest import ConfigFactory, mirrored_files, run_cli
from tests.fake_photoprism import FakePhotoPrism
from tests.kinds import LATER, Library
from tests.test_client_credentials import NARROW, client_config

Sync = Callable[..., RunReport]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Receiver:
    """A loopback HTTP server that records every request (ping URLs, webhooks)."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, str, bytes]] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                hits.append((self.command, self.path, self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _record

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def paths(self) -> list[str]:
        return [path for _, path, _ in self.hits]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


class NotifySocket:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[str] = []

    def drain(self) -> list[str]:
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except TimeoutError:
                return self.messages

    def wait_for(self, prefix: str, count: int = 1, timeout: float = 60) -> None:
        """Until ``count`` messages starting with ``prefix`` have arrived: the daemon says
        ``STATUS=last pass ...`` once a pass is over (logged, recorded, alerted) and
        ``STOPPING=1`` once it took a signal, so a test waits for that, not for a guessed time
        that a busy machine overruns."""
        wait_for(lambda: sum(m.startswith(prefix) for m in self.drain()) >= count, timeout)

    def count(self, prefix: str) -> int:
        return sum(m.startswith(prefix) for m in self.drain())


def start_daemon(config: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ppsync", "--config", str(config), "daemon"],
        env={"PATH": os.environ.get("PATH", ""), **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def stop(proc: subprocess.Popen[str], timeout: float = 15) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


# --- change passes -----------------------------------------------------------------------------


def test_change_pass_sees_new_photos_moves_and_edits(
    lib: Library, target: Path, lib_config: ConfigFactory
) -> None:
    a = lib.add("a.jpg", b"a1")
    b = lib.add("b.jpg", b"b1")
    settings = load_config(lib_config(), {})
    assert run_sync(settings).exit_code == 0
    photos = open_server(settings.server)
    photos.open()
    try:
        lib.reset_counters()
        quiet = run_sync(settings, PassOptions(changes_only=True, server=photos))
        assert quiet.command == "change" and quiet.exit_code == 0
        assert lib.listing_requests() == lib.quiet_listing_requests
        assert lib.request_count() <= lib.quiet_listing_requests + 2

        time.sleep(1.1)  # PhotoPrism's timestamps have one-second resolution, like MySQL's
        lib.add("new/c.jpg", b"c1")
        lib.move(b, "renamed/b.jpg", LATER)
        lib.replace(a, b"a2-edited")
        report = run_sync(settings, PassOptions(changes_only=True, server=photos))
    finally:
        photos.close()
    assert report.exit_code == 0, report
    assert report.moved == 1 and report.downloaded == 2
    assert mirrored_files(target) == {lib.path("a.jpg"): b"a2-edited",
                                      lib.path("renamed/b.jpg", LATER): b"b1",
                                      lib.path("new/c.jpg"): b"c1"}


# PhotoPrism-only: a file added to an existing photo (its photo/file split).
def test_change_pass_sees_a_file_added_to_a_photo(
    server: FakePhotoPrism, target: Path, make_config: ConfigFactory
) -> None:
    a = server.add_photo([("a.jpg", b"a1")])
    settings = load_config(make_config(), {})
    assert run_sync(settings).exit_code == 0
    time.sleep(1.1)  # the fake's timestamps have one-second resolution, like MySQL's
    server.add_file(a.uid, "a.mov", b"a-live")
    report = run_sync(settings, PassOptions(changes_only=True))
    assert report.exit_code == 0 and report.downloaded == 1
    assert mirrored_files(target) == {"a.jpg": b"a1", "a.mov": b"a-live"}


def test_change_pass_never_removes(lib: Library, target: Path,
                                   lib_config: ConfigFactory) -> None:
    a = lib.add("a.jpg", b"a")
    lib.add("b.jpg", b"b")
    settings = load_config(lib_config(mirror={"delete": "mirror"}), {})
    assert run_sync(settings).exit_code == 0
    lib.remove(a)
    report = run_sync(settings, PassOptions(changes_only=True))
    assert report.exit_code == 0 and report.deleted == 0
    assert (target / lib.path("a.jpg")).exists()
    assert run_sync(settings).deleted == 1  # the next full walk removes it
    assert not (target / lib.path("a.jpg")).exists()


# --- the daemon process ------------------------------------------------------------------------


def test_daemon_syncs_notifies_systemd_and_stops_cleanly(
    server: FakePhotoPrism, target: Path, tmp_path: Path, make_config: ConfigFactory,
    receiver: Receiver
) -> None:
    server.add_photo([("a.jpg", b"first")])
    port = free_port()
    config = make_config(schedule={"interval": "1s", "full_every": "1h"},
                         monitor={"listen": f"127.0.0.1:{port}", "ping_url":
                                  f"{receiver.url}/ping/uuid"})
    sock = NotifySocket(tmp_path / "notify.sock")
    proc = start_daemon(config, {"NOTIFY_SOCKET": str(sock.path), "WATCHDOG_USEC": "1000000"})
    try:
        wait_for(lambda: (target / "a.jpg").exists())
        server.add_photo([("b.jpg", b"second")])
        wait_for(lambda: (target / "b.jpg").exists())  # picked up by a later change pass
        wait_for(lambda: "/ping/uuid" in receiver.paths())
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        assert "ppsync_mirror_files" in metrics and "ppsync_files_downloaded_total" in metrics
        health = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz")
        assert health.status == 200
    finally:
        code, err = stop(proc)
    assert code == 0, err
    messages = sock.drain()
    assert "READY=1" in messages
    assert any(m.startswith("STATUS=last pass") for m in messages)
    assert "WATCHDOG=1" in messages
    assert "/ping/uuid/start" in receiver.paths()
    assert any(json.loads(line).get("command") == "change" for line in err.splitlines()
               if line.startswith("{"))


def test_sigterm_mid_download_exits_promptly_and_resumes(
    lib: Library, target: Path, lib_config: ConfigFactory
) -> None:
    content = os.urandom(4 * 1024 * 1024)
    lib.add("big.mp4", content)
    final = target / lib.path("big.mp4")
    lib.set_download_rate(512 * 1024)  # ~8 s
    config = lib_config(schedule={"interval": "1h"})
    proc = start_daemon(config)
    partial = target / ".ppsync" / "partial"
    wait_for(lambda: partial.exists() and any(p.stat().st_size > 256 * 1024
                                              for p in partial.glob("*.part")))
    started = time.monotonic()
    code, err = stop(proc)
    assert code == 0, err
    assert time.monotonic() - started < 10
    assert not final.exists()
    held = [p.stat().st_size for p in partial.glob("*.part")]
    assert held  # kept for resuming
    lib.set_download_rate(0)
    lib.reset_counters()
    assert run_cli(config, "sync").returncode == 0
    assert final.read_bytes() == content
    assert lib.download_ranges() == [f"bytes={held[0]}-"]


def test_sync_during_a_daemon_pass_exits_5(server: FakePhotoPrism, target: Path,
                                           make_config: ConfigFactory) -> None:
    server.add_photo([("big.mp4", os.urandom(2 * 1024 * 1024))])
    server.faults.download_rate = 256 * 1024
    config = make_config(schedule={"interval": "1h"})
    proc = start_daemon(config)
    try:
        wait_for(lambda: any((target / ".ppsync" / "partial").glob("*.part")))
        result = run_cli(config, "sync")
        assert result.returncode == 5, result.stderr
    finally:
        stop(proc)


def test_unreachable_server_at_start_keeps_daemon_alive(
    make_config: ConfigFactory, tmp_path: Path
) -> None:
    config = make_config(server={"url": f"http://127.0.0.1:{free_port()}", "retries": 0},
                         schedule={"interval": "1s"})
    sock = NotifySocket(tmp_path / "notify.sock")
    proc = start_daemon(config, {"NOTIFY_SOCKET": str(sock.path)})
    sock.wait_for("STATUS=last pass")  # the first attempt is over, however slow the start
    time.sleep(3)  # retries 2 s and 4 s later at most, if the backoff holds: 1 to 3 attempts
    assert proc.poll() is None  # still running, trying again with backoff
    code, err = stop(proc)
    assert code == 0
    assert "READY=1" not in sock.drain()
    attempts = [line for line in err.splitlines() if "cannot reach" in line]
    assert 1 <= len(attempts) <= 3  # backoff: 1 s, 2 s, 4 s... not one per second
    assert run_cli(config, "health").returncode == 1


def test_vanished_target_stops_passes_alerts_and_recovers(
    lib: Library, target: Path, tmp_path: Path, lib_config: ConfigFactory
) -> None:
    # A pass the unplugging lands in ends as a safety stop too (exit 4, not 1): the first alert
    # says what happened whenever the disk goes (test_safety: ..._unplugged_mid_pass_...).
    lib.add("a.jpg", b"a")
    log = tmp_path / "alerts.log"
    config = lib_config(
        schedule={"interval": "1s", "full_every": "1s"},
        monitor={"notify_command": f"sh -c 'echo $PPSYNC_EVENT $PPSYNC_EXIT_CODE >> {log}'"})
    proc = start_daemon(config)
    try:
        wait_for(lambda: (target / lib.path("a.jpg")).exists())
        parked = tmp_path / "unplugged"
        target.rename(parked)  # the USB disk is unplugged
        wait_for(lambda: log.exists() and "failure 4" in log.read_text())
        assert not target.exists()  # never recreated on the root disk
        parked.rename(target)
        wait_for(lambda: "recovery 0" in log.read_text())
    finally:
        code, _ = stop(proc)
    assert code == 0
    assert log.read_text().splitlines() == ["failure 4", "recovery 0"]


def test_daemon_applies_a_deletion_on_its_next_full_walk(
    lib: Library, target: Path, tmp_path: Path, lib_config: ConfigFactory
) -> None:
    # One daemon process keeps its session across passes: each full walk must be judged
    # against library totals read around that walk, not the ones from login time.
    gone_key = lib.add("gone.jpg", b"gone")
    lib.add("stays.jpg", b"stays")
    gone, stays = target / lib.path("gone.jpg"), target / lib.path("stays.jpg")
    config = lib_config(schedule={"interval": "1s", "full_every": "1s"},
                        mirror={"delete": "trash"})
    sock = NotifySocket(tmp_path / "notify.sock")
    proc = start_daemon(config, {"NOTIFY_SOCKET": str(sock.path)})
    try:
        wait_for(lambda: gone.exists() and stays.exists())
        lib.remove(gone_key)
        wait_for(lambda: not gone.exists())
        # The pass that removed it may still be recording; then two more full walks of the
        # quiet library, counted as they end rather than guessed from the clock.
        sock.wait_for("STATUS=last pass", sock.count("STATUS=last pass") + 3)
    finally:
        code, err = stop(proc)
    assert code == 0, err
    trashed = [p for p in (target / ".ppsync" / "trash").rglob("gone.jpg")]
    assert len(trashed) == 1 and trashed[0].read_bytes() == b"gone"
    assert stays.read_bytes() == b"stays"
    runs = json.loads(run_cli(config, "status", "--json", "--limit", "100").stdout)["runs"]
    finished = [r for r in runs if r["finished"] and r["exit_code"] != 130]
    assert len(finished) >= 3
    assert next(r for r in finished if r["trashed"] == 1)["exit_code"] == 0
    assert all(r["exit_code"] == 0 and not r.get("safety_stop") for r in finished), [
        (r["run_id"], r["exit_code"], r.get("safety_stop")) for r in finished]


def _log_events(stderr: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_first_start_retries_within_seconds_until_the_server_is_up(
    server: FakePhotoPrism, target: Path, tmp_path: Path, make_config: ConfigFactory
) -> None:
    # Compose starts ppsync next to a PhotoPrism that is still migrating its database.
    server.add_photo([("a.jpg", b"a")])
    server.faults.fail_status, server.faults.fail_next_requests = 503, 10**6
    config = make_config(server={"retries": 0}, schedule={"interval": "1h"})
    sock = NotifySocket(tmp_path / "notify.sock")
    proc = start_daemon(config, {"NOTIFY_SOCKET": str(sock.path)})
    try:
        sock.wait_for("STATUS=last pass", 2)  # two attempts failed, each followed by a retry
        assert proc.poll() is None
        server.faults.fail_next_requests = 0  # PhotoPrism is up
        wait_for(lambda: (target / "a.jpg").exists(), timeout=20)  # not an hour later
    finally:
        code, err = stop(proc)
    assert code == 0, err
    retries = [e for e in _log_events(err) if e["event"] == "the server is not reachable yet; "
               "trying again soon"]
    assert retries and all(float(str(e["seconds"])) <= 60 for e in retries)
    assert all("next_attempt" in e for e in retries)
    assert [float(str(e["seconds"])) for e in retries] == sorted(
        float(str(e["seconds"])) for e in retries)  # growing


def test_first_start_retries_keep_the_client_and_its_session(
    server: FakePhotoPrism, target: Path, make_config: ConfigFactory
) -> None:
    # A client logs in at once, then the library fails (500) for a while: each fast retry
    # reuses the token instead of opening a new server session that is never logged out.
    server.add_photo([("a.jpg", b"a")])
    server.faults.fail_status, server.faults.fail_path_contains = 500, "/api/v1/photos"
    server.faults.fail_next_requests = 10**6
    config = client_config(make_config, server.add_client(NARROW),
                           server={"retries": 0}, schedule={"interval": "1h"})
    proc = start_daemon(config)
    try:
        wait_for(lambda: server.faults.fail_next_requests <= 10**6 - 3, timeout=20)  # 3 passes
        server.faults.fail_next_requests = 0
        wait_for(lambda: (target / "a.jpg").exists(), timeout=20)
    finally:
        code, err = stop(proc)
    assert code == 0, err
    assert len(server.requests_to("/oauth/token", "POST")) == 1
    assert any(e["event"] == "the server is not reachable yet; trying again soon"
               for e in _log_events(err))


def test_unreadable_answers_at_start_back_off_an_interval(
    server: FakePhotoPrism, target: Path, tmp_path: Path, make_config: ConfigFactory
) -> None:
    # The server is up but answers something ppsync cannot read: retrying within seconds
    # would not help, and it is not "not reachable yet".
    server.add_photo([("a.jpg", b"a")])
    server.faults.malformed_listing = True
    config = make_config(schedule={"interval": "1h"})
    sock = NotifySocket(tmp_path / "notify.sock")
    proc = start_daemon(config, {"NOTIFY_SOCKET": str(sock.path)})
    try:
        sock.wait_for("STATUS=last pass")  # the pass failed and its backoff is logged
        time.sleep(3)  # a retry within seconds (the first retry is 2 s) would come meanwhile
    finally:
        code, err = stop(proc)
    assert code == 0, err
    events = [e["event"] for e in _log_events(err)]
    assert "the server is not reachable yet; trying again soon" not in events
    backoff = [e for e in _log_events(err) if e["event"] == "backing off after a server error"]
    assert backoff and backoff[0]["seconds"] == 3600
    assert server.login_attempts == 1


@pytest.mark.parametrize("schedule", [{"interval": "60s"}, {"cron": "*/5 * * * *"}])
def test_jitter_is_waited_once_by_the_pass_not_also_by_the_schedule(
    make_config: ConfigFactory, schedule: dict[str, str]
) -> None:
    settings = load_config(make_config(schedule={**schedule, "jitter": "30s"}), {})
    trigger, now = _trigger(settings), datetime.now(UTC)
    assert len({trigger.get_next_fire_time(None, now) for _ in range(20)}) == 1


def test_auth_failure_at_start_still_backs_off_a_whole_interval(
    server: FakePhotoPrism, target: Path, tmp_path: Path, make_config: ConfigFactory
) -> None:
    server.add_photo([("a.jpg", b"a")])
    config = make_config(server={"password": "wrong"}, schedule={"interval": "1h"})
    sock = NotifySocket(tmp_path / "notify.sock")
    proc = start_daemon(config, {"NOTIFY_SOCKET": str(sock.path)})
    try:
        sock.wait_for("STATUS=last pass")  # the login was refused and the backoff logged
        time.sleep(4)  # a retry within seconds (the first retry is 2 s) would come meanwhile
    finally:
        code, err = stop(proc)
    assert code == 0, err
    assert server.login_attempts == 1  # PhotoPrism's login limiter is never hammered
    backoff = [e for e in _log_events(err) if e["event"] == "backing off after a server error"]
    assert backoff and backoff[0]["seconds"] == 3600


@pytest.mark.parametrize("zone_key, zone", [(None, "Europe/Berlin"),
                                            ("America/New_York", "America/New_York")])
def test_cron_follows_the_local_time_zone_and_says_which(
    server: FakePhotoPrism, target: Path, make_config: ConfigFactory, zone_key: str | None,
    zone: str
) -> None:
    from zoneinfo import ZoneInfo

    server.add_photo([("a.jpg", b"a")])
    schedule = {"cron": "30 3 * * *", **({"timezone": zone_key} if zone_key else {})}
    config = make_config(schedule=schedule, log={"level": "info"})
    proc = start_daemon(config, {"TZ": "Europe/Berlin"})
    try:
        wait_for(lambda: (target / "a.jpg").exists())
        time.sleep(0.5)
    finally:
        code, err = stop(proc)
    assert code == 0, err
    events = _log_events(err)
    started = next(e for e in events if e["event"] == "daemon started")
    assert started["timezone"] == zone and started["schedule"] == "cron 30 3 * * *"
    nxt = datetime.fromisoformat(str(started["next_scheduled"])).astimezone(ZoneInfo(zone))
    assert (nxt.hour, nxt.minute) == (3, 30)
    # APScheduler's two lines per pass ("Running job", "executed successfully") are debug.
    assert not [e for e in events if "job" in str(e["event"]).lower()], events


def test_unknown_time_zones_are_config_errors(make_config: ConfigFactory) -> None:
    bad_key = run_cli(make_config(schedule={"cron": "0 3 * * *", "timezone": "Mars/Base"}),
                      "daemon")
    assert bad_key.returncode == 2 and "schedule.timezone" in bad_key.stderr
    bad_tz = run_cli(make_config(schedule={"cron": "0 3 * * *"}), "daemon",
                     env={"TZ": "Nowhere/Foo"})
    assert bad_tz.returncode == 2 and "TZ" in bad_tz.stderr
    assert "Traceback" not in bad_key.stderr + bad_tz.stderr


# --- health, schedules -------------------------------------------------------------------------


def test_health_reflects_the_last_pass(server: FakePhotoPrism, target: Path,
                                       make_config: ConfigFactory) -> None:
    server.add_photo([("a.jpg", b"a")])
    config = make_config(schedule={"interval": "1s"})
    assert run_cli(config, "health").returncode == 1  # no pass yet
    assert run_cli(config, "sync").returncode == 0
    result = run_cli(config, "health")
    assert result.returncode == 0 and "healthy" in result.stdout
    time.sleep(3.5)  # older than 3 x the interval
    stale = run_cli(config, "health")
    assert stale.returncode == 1 and "more than 3 x" in stale.stdout
    server.faults.corrupt_hash = server.add_photo([("b.jpg", b"b")]).files[0].sha1
    assert run_cli(config, "sync").returncode == 1
    failed = run_cli(config, "health")
    assert failed.returncode == 1 and "exit 1" in failed.stdout


@pytest.mark.parametrize("schedule, message", [
    ({"interval": "15"}, "schedule.interval"),
    ({"interval": "soon"}, "schedule.interval"),
    ({"cron": "every day"}, "schedule.cron"),
    ({"interval": "15m", "cron": "0 * * * *"}, "either interval or cron"),
    ({"full_every": "-1h"}, "schedule.full_every"),
])
def test_bad_schedules_are_config_errors(make_config: ConfigFactory,
                                         schedule: dict[str, str], message: str) -> None:
    result = run_cli(make_config(schedule=schedule), "daemon")
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("big_first", [True, False], ids=["big-first", "small-first"])
def test_full_disk_fails_the_pass_cleanly(server: FakePhotoPrism, small_disk: Path,
                                          make_config: ConfigFactory, big_first: bool) -> None:
    # Both orders: the pass must stop with a clear message and give the space back whether
    # the disk fills on the first download or after one has already landed.
    # The listing is newest first: the photo added last is downloaded first.
    if big_first:
        server.add_photo([("fits.jpg", b"x" * 1000)])
    big = server.add_photo([("too-big.mp4", os.urandom(3 * 1024 * 1024))])
    if not big_first:
        server.add_photo([("fits.jpg", b"x" * 1000)])
    # min_free = 0: no disk reserve, so the disk does fill (test_disk_reserve_* keep one).
    config = make_config(mirror={"target": str(small_disk), "workers": 1, "min_free": 0})
    result = run_cli(config, "sync")
    assert result.returncode == 1
    assert "no space left on the mirror's disk" in result.stdout
    assert "Traceback" not in result.stderr
    assert not (small_disk / "too-big.mp4").exists()
    assert not list((small_disk / ".ppsync" / "partial").glob("*.part"))  # space given back
    server.delete_photo(big.uid)
    assert run_cli(config, "sync").returncode == 0  # works again once there is space
    assert (small_disk / "fits.jpg").read_bytes() == b"x" * 1000


def test_sighup_reloads_config_and_webhook_notifies(
    server: FakePhotoPrism, target: Path, make_config: ConfigFactory, receiver: Receiver
) -> None:
    server.add_photo([("a.jpg", b"a")])
    config = make_config(schedule={"interval": "1s", "full_every": "1s"})
    proc = start_daemon(config)
    try:
        wait_for(lambda: (target / "a.jpg").exists())
        assert receiver.hits == []
        make_config(schedule={"interval": "1s", "full_every": "1s"},
                    monitor={"ping_url": f"{receiver.url}/hc", "notify_url":
                             f"{receiver.url}/hook"})
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "/hc/start" in receiver.paths())
        server.faults.corrupt_hash = server.add_photo([("bad.jpg", b"bad")]).files[0].sha1
        wait_for(lambda: "/hook" in receiver.paths())
        wait_for(lambda: "/hc/fail" in receiver.paths())
    finally:
        code, err = stop(proc)
    assert code == 0, err
    hook = next(json.loads(body) for _, path, body in receiver.hits if path == "/hook")
    assert hook["event"] == "failure" and hook["exit_code"] == 1 and "bad.jpg" in hook["summary"]
    assert "config reloaded" in err


def test_second_sigint_exits_at_once(server: FakePhotoPrism, target: Path, tmp_path: Path,
                                     make_config: ConfigFactory) -> None:
    server.add_photo([("big.mp4", os.urandom(4 * 1024 * 1024))])
    server.faults.download_rate = 256 * 1024  # ~16 s
    sock = NotifySocket(tmp_path / "notify.sock")
    proc = start_daemon(make_config(schedule={"interval": "1h"}),
                        {"NOTIFY_SOCKET": str(sock.path)})
    wait_for(lambda: any((target / ".ppsync" / "partial").glob("*.part")))
    proc.send_signal(signal.SIGINT)
    # The first Ctrl-C handled (two signals before Python's handler runs count as one)
    sock.wait_for("STOPPING=1")
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=10)
    assert proc.returncode == 130
    assert time.monotonic() - started < 2
    assert not (target / "big.mp4").exists()
