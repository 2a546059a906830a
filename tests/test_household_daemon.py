"""One daemon, three libraries of both kinds (Anna on Immich, Ben and Cleo on PhotoPrism), each
a fake server over loopback: one library fails in each way a library can (server down, key
revoked, disk missing, safety stop) while the others keep their schedule and stay correct;
/healthz, /metrics and the status page say which; alerts and log lines name the library; a big
first mirror does not starve the others' change passes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import mirrored_files, run_cli, toml_value
from tests.kinds import Library, library
from tests.test_daemon import free_port, wait_for

NAMES = ("anna", "ben", "cleo")
KINDS = {"anna": "immich", "ben": "photoprism", "cleo": "photoprism"}


@pytest.fixture
def household() -> Iterator[dict[str, Library]]:
    with ExitStack() as stack:
        yield {name: stack.enter_context(library(KINDS[name])) for name in NAMES}


def household_config(tmp_path: Path, libs: dict[str, Library], *,
                     top: dict[str, dict[str, Any]] | None = None,
                     own: dict[str, dict[str, dict[str, Any]]] | None = None) -> Path:
    """A [libraries] config: a target per library under tmp_path/photos, quick retries."""
    sections: dict[str, dict[str, Any]] = {
        "log": {"level": "debug", "format": "json"},
        "schedule": {"interval": "1s", "full_every": "1s"},
        **(top or {}),
    }
    for name, lib in libs.items():
        server = {**lib.server_section(), "timeout": 10, "retries": 1, "retry_backoff": 0.01,
                  "outage_wait": "1s"}
        sections[f"libraries.{name}.server"] = server
        sections[f"libraries.{name}.mirror"] = {"target": str(tmp_path / "photos" / name),
                                                "workers": 2, "page_size": 50}
        for section, values in ((own or {}).get(name) or {}).items():
            sections.setdefault(f"libraries.{name}.{section}", {}).update(values)
    (tmp_path / "photos").mkdir(exist_ok=True)
    for name in libs:
        (tmp_path / "photos" / name).mkdir(exist_ok=True)
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {toml_value(value)}" for key, value in values.items())
    path = tmp_path / "ppsync.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class Daemon:
    """``ppsync daemon`` in a subprocess, its log in a file: three libraries' debug lines
    would fill a pipe nobody reads until the end, and block the daemon's writes."""

    def __init__(self, config: Path) -> None:
        self.log = config.parent / "daemon.log"
        self._log = self.log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ppsync", "--config", str(config), "daemon"],
            env={"PATH": os.environ.get("PATH", "")}, stdout=self._log, stderr=self._log,
            text=True)

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self._log.close()
        return code, self.log.read_text()


def alert_lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def revoke_key(lib: Library) -> Callable[[], None]:
    """The member deletes the key ppsync uses in Immich's web UI; returns its undoing."""
    fake: Any = lib.fake
    secret = lib.server_section()["api_key"]
    with fake.auth.lock:
        key = fake.auth.keys.pop(secret)

    def restore() -> None:
        with fake.auth.lock:
            fake.auth.keys[secret] = key

    return restore


# The library that fails, and how: both kinds fail somewhere.
FAILURES = {"server down": ("ben", 3), "key revoked": ("anna", 3),
            "disk missing": ("cleo", 4), "safety stop": ("anna", 4)}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_one_library_failing_stops_no_other(household: dict[str, Library], tmp_path: Path,
                                            failure: str) -> None:
    failing, code = FAILURES[failure]
    alerts = tmp_path / "alerts.log"
    port = free_port()
    config = household_config(tmp_path, household, top={"monitor": {
        "listen": f"127.0.0.1:{port}",
        "notify_command": f"sh -c 'echo $PPSYNC_LIBRARY $PPSYNC_EVENT $PPSYNC_EXIT_CODE "
                          f">> {alerts}'"}})
    targets = {name: tmp_path / "photos" / name for name in NAMES}
    for name, lib in household.items():
        lib.add(f"a-{name}.jpg", f"first of {name}".encode())
    proc = Daemon(config)
    try:
        for name, lib in household.items():
            wait_for(lambda n=name, lb=lib: (targets[n] / lb.path(f"a-{n}.jpg")).exists(), 60)
        lib = household[failing]
        parked = tmp_path / "unplugged"
        undo: Callable[[], None]
        if failure == "server down":
            lib.go_down(20)
            undo = lambda: None  # noqa: E731  (it comes back by itself)
        elif failure == "key revoked":
            undo = revoke_key(lib)
        elif failure == "disk missing":
            targets[failing].rename(parked)
            undo = lambda: parked.rename(targets[failing])  # noqa: E731
        else:
            lib.empty_listing()
            undo = lambda: lib.empty_listing(False)  # noqa: E731
        wait_for(lambda: f"{failing} failure {code}" in alert_lines(alerts), 60)
        # The others keep their schedule: a new photo each is mirrored meanwhile.
        others = [name for name in NAMES if name != failing]
        for name in others:
            household[name].add(f"b-{name}.jpg", f"second of {name}".encode())
        for name in others:
            wait_for(lambda n=name: (targets[n] / household[n].path(f"b-{n}.jpg")).exists(), 60)
        status, body = get(f"http://127.0.0.1:{port}/healthz")
        assert status == 503 and f"library {failing}:" in body, body
        assert not any(f"library {name}:" in body for name in others), body
        _, metrics = get(f"http://127.0.0.1:{port}/metrics")
        samples = [line for line in metrics.splitlines() if line and not line.startswith("#")]
        assert samples and all('library="' in line for line in samples)
        assert f'ppsync_passes_total{{library="{failing}",result="exit{code}"}}' in metrics
        for name in others:
            assert f'ppsync_passes_total{{library="{name}",result="ok"}}' in metrics
        _, page = get(f"http://127.0.0.1:{port}/status.json")
        data = json.loads(page)
        assert list(data["libraries"]) == list(NAMES) and not data["healthy"]
        assert [name for name in NAMES if not data["libraries"][name]["healthy"]] == [failing]
        _, html = get(f"http://127.0.0.1:{port}/")
        assert all(f"<h1>library {name}</h1>" in html for name in NAMES)
        # The failing library recovers once its trouble ends, on its own.
        undo()
        lib.add(f"b-{failing}.jpg", f"second of {failing}".encode())
        wait_for(lambda: f"{failing} recovery 0" in alert_lines(alerts), 90)
        wait_for(lambda: (targets[failing] / lib.path(f"b-{failing}.jpg")).exists(), 30)
    finally:
        exit_code, err = proc.stop()
    assert exit_code == 0, err[-3000:]
    # Every library holds its own photos and nothing else; nothing was deleted anywhere.
    for name in NAMES:
        files = mirrored_files(targets[name])
        assert sorted(files) == sorted(household[name].path(f"{p}-{name}.jpg")
                                       for p in ("a", "b")), (name, sorted(files))
        assert files[household[name].path(f"a-{name}.jpg")] == f"first of {name}".encode()
    # Only the failing library alerted, and it said which it was.
    assert {line.split()[0] for line in alert_lines(alerts)} == {failing}
    # Every line about a pass names its library.
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    passes = [r for r in records if "run_id" in r]
    assert passes and all(r.get("library") in NAMES for r in passes)
    assert {r["library"] for r in passes} == set(NAMES)


def test_a_big_first_mirror_does_not_starve_the_others(household: dict[str, Library],
                                                       tmp_path: Path) -> None:
    """Ben's first mirror of 120 slow downloads holds one of the two slots; Anna's and Cleo's
    change passes take turns in the other and pick up new photos while Ben is still busy."""
    big = household["ben"]
    big.seed(120, 64)
    big.set_download_delay(0.15)  # 120 files / 2 workers: about 9 s at the least
    for name in ("anna", "cleo"):
        household[name].add(f"a-{name}.jpg", f"first of {name}".encode())
    config = household_config(tmp_path, household, top={"schedule": {
        "interval": "1s", "full_every": "1h", "passes_at_once": 2}})
    targets = {name: tmp_path / "photos" / name for name in NAMES}
    proc = Daemon(config)
    try:
        for name in ("anna", "cleo"):
            wait_for(lambda n=name: (targets[n] / household[n].path(f"a-{n}.jpg")).exists(), 60)
        for round_ in range(2):  # two rounds of change passes each, during Ben's first mirror
            for name in ("anna", "cleo"):
                household[name].add(f"r{round_}-{name}.jpg", f"{round_} {name}".encode())
            for name in ("anna", "cleo"):
                wait_for(lambda n=name, r=round_: (
                    targets[n] / household[n].path(f"r{r}-{n}.jpg")).exists(), 60)
        assert len(mirrored_files(targets["ben"])) < 120  # Ben's first mirror still running
        wait_for(lambda: len(mirrored_files(targets["ben"])) == 120, 120)
    finally:
        exit_code, err = proc.stop()
    assert exit_code == 0, err[-3000:]


def test_commands_over_several_libraries(household: dict[str, Library],
                                         tmp_path: Path) -> None:
    """sync, status, health over every library: one block each, the worst exit code, and the
    report names the library that gave it; --library narrows; restore migrates between two."""
    for name, lib in household.items():
        lib.add(f"a-{name}.jpg", f"first of {name}".encode())
    config = household_config(tmp_path, household)
    first = run_cli(config, "sync")
    assert first.returncode == 0, first.stderr
    assert [line for line in first.stdout.splitlines() if line.startswith("library ")] == \
        [f"library {name}:" for name in NAMES]
    assert first.stdout.splitlines()[-1].startswith("libraries: exit 0 (everything done)")
    household["ben"].go_down(60)
    second = run_cli(config, "sync")
    assert second.returncode == 3
    assert "libraries: exit 3 (cannot reach or authenticate to the server) from ben " \
           "[anna 0, ben 3, cleo 0]" in second.stdout
    only = run_cli(config, "sync", "--library", "anna", "--library", "cleo")
    assert only.returncode == 0 and "library ben:" not in only.stdout
    status = run_cli(config, "status")
    assert status.returncode == 0
    assert all(f"library {name}:" in status.stdout for name in NAMES)
    as_json = json.loads(run_cli(config, "status", "--json").stdout)
    assert list(as_json["libraries"]) == list(NAMES)
    assert as_json["libraries"]["anna"]["mirror"]["files"] == 1
    health = run_cli(config, "health")
    assert health.returncode == 1
    assert "libraries: exit 1 (unhealthy) from ben [anna 0, ben 1, cleo 0]" in health.stdout
    assert run_cli(config, "health", "--library", "anna").returncode == 0
    # Anna's Immich library migrated into Cleo's PhotoPrism: a dry run changes nothing, the
    # restore puts Anna's photo there, byte for byte.
    anna_sha1 = hashlib.sha1(b"first of anna").hexdigest()
    before = household["cleo"].hashes()
    plan = run_cli(config, "restore", "--library", "anna", "--to", "cleo", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert household["cleo"].hashes() == before
    done = run_cli(config, "restore", "--library", "anna", "--to", "cleo")
    assert done.returncode == 0, done.stdout + done.stderr
    assert anna_sha1 in household["cleo"].hashes().values()
    assert anna_sha1 not in household["ben"].hashes().values()


def test_a_library_waiting_out_its_jitter_holds_no_slot(household: dict[str, Library],
                                                        tmp_path: Path) -> None:
    """With one slot, Anna's jitter of up to 10 minutes is waited outside it: Ben's and Cleo's
    passes run meanwhile (held in the slot, they would wait minutes)."""
    del household["cleo"]
    for name, lib in household.items():
        lib.add(f"a-{name}.jpg", f"first of {name}".encode())
    config = household_config(tmp_path, household,
                              top={"schedule": {"interval": "1s", "full_every": "1h",
                                                "passes_at_once": 1}},
                              own={"anna": {"schedule": {"jitter": "10m"}}})
    target = tmp_path / "photos" / "ben"
    proc = Daemon(config)
    try:
        wait_for(lambda: (target / household["ben"].path("a-ben.jpg")).exists(), 60)
        household["ben"].add("b-ben.jpg", b"second of ben")
        wait_for(lambda: (target / household["ben"].path("b-ben.jpg")).exists(), 60)
    finally:
        exit_code, err = proc.stop()
    assert exit_code == 0, err[-3000:]


def test_a_new_key_and_a_reload_bring_a_revoked_library_back(household: dict[str, Library],
                                                              tmp_path: Path) -> None:
    """Anna's key is revoked; she makes a new one, the config gets it, SIGHUP: Anna's library
    recovers without a restart, and the others never stopped."""
    alerts = tmp_path / "alerts.log"
    notify = {"notify_command": f"sh -c 'echo $PPSYNC_LIBRARY $PPSYNC_EVENT >> {alerts}'"}
    config = household_config(tmp_path, household, top={"monitor": notify})
    anna = household["anna"]
    anna.add("a-anna.jpg", b"first of anna")
    proc = Daemon(config)
    try:
        wait_for(lambda: (tmp_path / "photos/anna" / anna.path("a-anna.jpg")).exists(), 60)
        old = anna.server_section()["api_key"]
        revoke_key(anna)
        wait_for(lambda: "anna failure" in alert_lines(alerts), 60)
        new = anna.fake.add_key(("all",))  # type: ignore[attr-defined]
        config.write_text(config.read_text().replace(old, new))
        anna.add("b-anna.jpg", b"second of anna")
        household["ben"].add("b-ben.jpg", b"second of ben")
        proc.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "anna recovery" in alert_lines(alerts), 60)
        wait_for(lambda: (tmp_path / "photos/anna" / anna.path("b-anna.jpg")).exists(), 30)
        wait_for(lambda: (tmp_path / "photos/ben" / household["ben"].path("b-ben.jpg"))
                 .exists(), 30)
    finally:
        exit_code, err = proc.stop()
    assert exit_code == 0, err[-3000:]
    assert '"config reloaded"' in err
    assert alert_lines(alerts) == ["anna failure", "anna recovery"]
