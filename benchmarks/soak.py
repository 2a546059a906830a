#!/usr/bin/env python3
"""Soak: a real ``ppsync daemon`` against the fake PhotoPrism, under random changes, faults,
server restarts, SIGTERMs and SIGKILLs, for a given duration; then the invariants.

What it drives (all on loopback, all bounded by the duration):
  * changes every 1-3 s: new photos, extra files, edits, renames, archives, restores, deletions;
  * faults every ~20 s: 5xx bursts, connection resets, truncated or corrupt downloads, slow
    downloads, a server restart that forgets sessions and download tokens, a walk whose totals
    drift (a deliberate, expected safety stop);
  * the daemon is killed with SIGKILL (or stopped with SIGTERM) every 45-120 s and started again.

What it prints: passes by exit code, failures by cause, RSS and open files of the daemon over
time, and how long a change takes to reach the mirror (new or changed files to appear, removed
ones to leave).

What it checks at the end, after a quiet full walk: every file the server lists is in the
mirror with the server's SHA-1; nothing else is in the mirror; nothing the server still lists
was trashed; nothing was written outside the target and the state folder; the last SIGTERM
exits 0. Exit status 1 when an invariant fails.

Usage: python3 benchmarks/soak.py [--minutes 15] [--photos 300] [--seed N]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from tests.fake_photoprism import FakePhotoPrism  # noqa: E402

PASSWORD = "soak-password"


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


class Library:
    """The fake server plus what the soak expects of the mirror, and change latencies."""

    def __init__(self, server: FakePhotoPrism, rng: random.Random) -> None:
        self.server = server
        self.rng = rng
        self.lock = threading.Lock()
        self.counter = 0
        # (relative path, sha1 or None for "gone") -> time the change was made
        self.pending: dict[tuple[str, str | None], float] = {}
        self.arrive: list[float] = []  # seconds for a new/changed file to appear
        self.leave: list[float] = []  # seconds for a removed file to leave the mirror
        self.changes: Counter[str] = Counter()
        self.removed_at: dict[str, list[float]] = {}  # path -> when it left the listing

    def content(self) -> bytes:
        size = self.rng.choice([2_000, 20_000, 60_000, 60_000, 300_000, 2_000_000])
        return os.urandom(size)

    def name(self, ext: str = "jpg") -> str:
        self.counter += 1
        n = self.counter
        return f"{2000 + n % 25}/{n % 12 + 1:02d}/IMG_{n:05d}.{ext}"

    def live(self) -> dict[str, str]:
        """relative path -> sha1 of every original a default walk lists."""
        return {f.name: f.sha1 for f in self.server.files("/")}

    def _expect(self, path: str, digest: str | None) -> None:
        if digest is None:
            self.removed_at.setdefault(path, []).append(time.time())
        with self.lock:
            for key in [k for k in self.pending if k[0] == path]:
                del self.pending[key]  # superseded before it reached the mirror
            self.pending[(path, digest)] = time.monotonic()

    def change(self) -> None:
        photos = [p for p in self.server.photos()]
        live = [p for p in photos if not p.archived]
        archived = [p for p in photos if p.archived]
        kind = self.rng.choices(
            ["add", "add_file", "edit", "rename", "archive", "restore", "delete"],
            weights=[30, 8, 10, 10, 10, 6, 10])[0]
        if kind != "add" and not live:
            kind = "add"
        if kind == "restore" and not archived:
            kind = "archive"
        self.changes[kind] += 1
        if kind == "add":
            files = [(self.name(), self.content())]
            if self.rng.random() < 0.2:
                files.append((files[0][0].rsplit(".", 1)[0] + ".mov", self.content()))
            for name, data in files:
                self._expect(name, sha1(data))
            self.server.add_photo(files)
        elif kind == "add_file":
            photo = self.rng.choice(live)
            name, data = self.name("dng"), self.content()
            self._expect(name, sha1(data))
            self.server.add_file(photo.uid, name, data)
        elif kind == "edit":
            f = self.rng.choice(self.rng.choice(live).files)
            data = self.content()
            self._expect(f.name, sha1(data))
            self.server.edit_file(f.uid, data)
        elif kind == "rename":
            f = self.rng.choice(self.rng.choice(live).files)
            new = self.name(f.name.rsplit(".", 1)[-1])
            self._expect(f.name, None)
            self._expect(new, f.sha1)
            self.server.rename_file(f.uid, new)
        elif kind in ("archive", "delete"):
            photo = self.rng.choice(live)
            for f in photo.files:
                self._expect(f.name, None)
            (self.server.archive_photo if kind == "archive" else self.server.delete_photo)(
                photo.uid)
        else:
            photo = self.rng.choice(archived)
            for f in photo.files:
                self._expect(f.name, f.sha1)
            self.server.restore_photo(photo.uid)

    def watch(self, target: Path, stop: threading.Event) -> None:
        """Note when each pending change shows in the mirror."""
        while not stop.wait(0.25):
            with self.lock:
                pending = list(self.pending.items())
            for (path, digest), since in pending:
                file = target / path
                try:
                    if digest is None:
                        done = not file.exists()
                    else:
                        done = file.is_file() and sha1(file.read_bytes()) == digest
                except OSError:
                    done = False
                if done:
                    with self.lock:
                        if self.pending.pop((path, digest), None) is not None:
                            (self.leave if digest is None else self.arrive).append(
                                time.monotonic() - since)


class Daemon:
    """The ppsync daemon as its own process; each start appends to one JSON log."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log = config, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = self.terms = self.starts = 0
        self.bad_exits: list[int] = []

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ppsync", "--config", str(self.config), "daemon"],
                stdout=out, stderr=out, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
        self.starts += 1

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.kills += 1

    def term(self, timeout: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self.terms += 1
        if code != 0:
            self.bad_exits.append(code)
        return code

    def sample(self) -> tuple[float, int] | None:
        """(RSS in MB, open files) of the daemon, or None between runs."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
            rss = next(int(line.split()[1]) for line in status.splitlines()
                       if line.startswith("VmRSS:"))
            fds = len(os.listdir(f"/proc/{self.proc.pid}/fd"))
        except (OSError, StopIteration):
            return None
        return rss / 1024, fds


def inject_fault(server: FakePhotoPrism, rng: random.Random, faults: Counter[str]) -> None:
    kind = rng.choices(["5xx", "reset", "truncate", "corrupt", "slow", "restart", "drift"],
                       weights=[20, 15, 15, 10, 10, 15, 5])[0]
    faults[kind] += 1
    f = server.faults
    if kind == "5xx":
        f.fail_status = rng.choice([500, 502, 503])
        f.fail_next_requests = rng.randint(1, 8)
    elif kind == "reset":
        f.reset_connections = rng.randint(1, 4)
    elif kind == "truncate":
        f.truncate_downloads = rng.randint(1, 3)
    elif kind == "corrupt":
        f.corrupt_downloads = 1
    elif kind == "slow":
        f.download_rate = 2_000_000
    elif kind == "restart":
        server.restart()
    else:
        # The server's totals are off for a moment (a change landing mid-walk): a full walk in
        # that moment stops (expected), the next one goes on. The main loop clears it.
        f.count_drift = 1


def clear_faults(server: FakePhotoPrism) -> None:
    f = server.faults
    f.fail_next_requests = f.reset_connections = f.truncate_downloads = 0
    f.corrupt_downloads = f.download_rate = f.count_drift = 0


def read_events(log: Path) -> list[dict[str, Any]]:
    events = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):  # a line cut by a SIGKILL
                events.append(json.loads(line))
    return events


def files_under(root: Path, skip: list[Path]) -> set[str]:
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if Path(dirpath, d) not in skip]
        found.update(str(Path(dirpath, n).relative_to(root)) for n in filenames)
    return found


def quantiles(values: list[float]) -> str:
    if not values:
        return "none"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (f"n={len(values)} median {statistics.median(ordered):.1f} s, p95 {p95:.1f} s, "
            f"max {ordered[-1]:.1f} s")


def settle(library: Library, daemon: Daemon, target: Path, timeout: float) -> bool:
    """Faults off and no changes: wait until the mirror holds exactly what the server lists."""
    clear_faults(library.server)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        live = library.live()
        present = {str(p.relative_to(target)) for p in target.rglob("*")
                   if p.is_file() and ".ppsync" not in p.relative_to(target).parts}
        if present == set(live):
            return True
        time.sleep(1)
    return False


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--interval", default="2s")
    parser.add_argument("--full-every", default="10s")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="ppsync-soak-"))
    target, state_dir = work / "mirror", work / "state"
    target.mkdir()
    state_dir.mkdir()
    server = FakePhotoPrism(password=PASSWORD)
    server.start()
    library = Library(server, rng)
    for _ in range(args.photos):
        data = library.content()
        name = library.name()
        server.add_photo([(name, data)])  # the first sync; not counted as a change
    config = work / "ppsync.toml"
    config.write_text(
        f'[server]\nurl = "{server.url}"\npassword = "{PASSWORD}"\nretries = 3\n'
        'retry_backoff = 0.2\ntimeout = 20\n'
        f'[mirror]\ntarget = "{target}"\nstate = "{state_dir / "state.db"}"\n'
        'delete = "trash"\nmax_delete = 1000\nmax_delete_percent = 90\npage_size = 100\n'
        # its model: an archived photo leaves the mirror (``live``: what a walk without the
        # archive lists), so the archive stays out, as it did by default before issue 18
        'include_archived = false\n'
        f'[schedule]\ninterval = "{args.interval}"\nfull_every = "{args.full_every}"\n'
        '[log]\nlevel = "info"\nformat = "json"\n')
    outside_before = files_under(work, [target, state_dir])
    log = work / "daemon.log"
    daemon = Daemon(config, log)
    print(f"soak: {args.minutes:g} min, {args.photos} photos to start, seed {seed}, work {work}",
          flush=True)
    stop = threading.Event()
    watcher = threading.Thread(target=library.watch, args=(target, stop), daemon=True)
    watcher.start()
    faults: Counter[str] = Counter()
    samples: list[tuple[float, float, int]] = []
    started = time.monotonic()
    end = started + args.minutes * 60
    next_change = started + 1
    next_fault = started + 20
    next_kill = started + rng.uniform(45, 120)
    next_sample = started
    next_print = started + 60
    drift_until = started
    daemon.start()
    while (now := time.monotonic()) < end:
        if now >= next_change:
            library.change()
            next_change = now + rng.uniform(1, 3)
        if now >= next_fault:
            inject_fault(server, rng, faults)
            next_fault = now + rng.uniform(10, 30)
            drift_until = now + rng.uniform(1, 3)
        if server.faults.count_drift and now >= drift_until:
            server.faults.count_drift = 0
        if now >= next_kill:
            if rng.random() < 0.7:
                daemon.kill()
            else:
                daemon.term()
            time.sleep(rng.uniform(0, 2))
            daemon.start()
            next_kill = now + rng.uniform(45, 120)
        if now >= next_sample:
            sample = daemon.sample()
            if sample is not None:
                samples.append((now - started, *sample))
            next_sample = now + 5
        if now >= next_print:
            recent = [s for s in samples if s[0] >= now - started - 60]
            passes = sum(1 for e in read_events(log) if e.get("event") == "run finished")
            if recent:
                print(f"  {(now - started) / 60:5.1f} min: {passes:4d} passes, RSS "
                      f"{min(s[1] for s in recent):5.1f}-{max(s[1] for s in recent):5.1f} MB, "
                      f"open files {min(s[2] for s in recent)}-{max(s[2] for s in recent)}",
                      flush=True)
            server.reset_counters()  # the fake's request log would grow for the whole soak
            next_print = now + 60
        time.sleep(0.05)

    settled = settle(library, daemon, target, timeout=180)
    time.sleep(1)
    stop.set()
    watcher.join()
    code = daemon.term(timeout=60)
    events = read_events(log)
    problems: list[str] = []
    if not settled:
        problems.append("the mirror did not settle on the server's listing within 180 s")
    if code != 0 or daemon.bad_exits:
        problems.append(f"SIGTERM exit codes other than 0: {daemon.bad_exits}")

    live = library.live()
    for path, digest in live.items():
        file = target / path
        if not file.is_file():
            problems.append(f"missing from the mirror: {path}")
        elif sha1(file.read_bytes()) != digest:
            problems.append(f"wrong content in the mirror: {path}")
    extra = {str(p.relative_to(target)) for p in target.rglob("*")
             if p.is_file() and ".ppsync" not in p.relative_to(target).parts} - set(live)
    problems += [f"in the mirror but not on the server: {p}" for p in sorted(extra)]
    # A file may be trashed only after the server stopped listing it (archived, deleted,
    # renamed away); a photo restored later comes back by download, its old copy stays trashed.
    for event in events:
        if event.get("event") in ("trash", "delete") and "path" in event:
            when = datetime.fromisoformat(str(event["timestamp"]).replace("Z", "+00:00"))
            gone = library.removed_at.get(str(event["path"]), [])
            if not any(t <= when.timestamp() for t in gone):
                problems.append(f"trashed while the server still listed it: {event['path']}")
    outside_after = files_under(work, [target, state_dir])
    new_outside = outside_after - outside_before - {"daemon.log"}
    problems += [f"written outside the target: {p}" for p in sorted(new_outside)]

    finished = [e for e in events if e.get("event") == "run finished"]
    by_exit = Counter(e.get("exit_code") for e in finished)
    causes: Counter[str] = Counter()
    for e in events:
        if e.get("event") == "safety stop":
            causes["safety stop: " + str(e.get("reason", ""))[:70]] += 1
        elif e.get("event") in ("run failed", "pass stopped"):
            causes[f"exit {e.get('exit_code')}: " + str(e.get("error", ""))[:70]] += 1
        elif e.get("event") == "failed":
            causes["file failed: " + str(e.get("reason", ""))[:60]] += 1
    full_walks = [e for e in finished if e.get("command") == "sync"]
    print(f"\nchanges: {dict(library.changes)}")
    print(f"faults: {dict(faults)}")
    print(f"daemon: {daemon.starts} starts, {daemon.kills} SIGKILLs, {daemon.terms} SIGTERMs")
    print(f"passes: {len(finished)} ({len(full_walks)} full walks), by exit code "
          f"{dict(sorted(by_exit.items(), key=lambda kv: str(kv[0])))}")
    print("failures by cause:")
    for cause, count in causes.most_common(15):
        print(f"  {count:5d}  {cause}")
    print("RSS and open files of the daemon over time (per minute, min-max):")
    minutes = int(args.minutes) + 1
    for minute in range(minutes):
        window = [s for s in samples if minute * 60 <= s[0] < (minute + 1) * 60]
        if window:
            print(f"  min {minute:3d}: RSS {min(s[1] for s in window):6.1f}-"
                  f"{max(s[1] for s in window):6.1f} MB, open files "
                  f"{min(s[2] for s in window)}-{max(s[2] for s in window)}")
    print(f"change to mirror, new or changed files: {quantiles(library.arrive)}")
    print(f"change to mirror, removed files:        {quantiles(library.leave)}")
    print(f"still pending at the end: {len(library.pending)}")
    if problems:
        print(f"\nINVARIANTS BROKEN ({len(problems)}):")
        for problem in problems[:40]:
            print(f"  {problem}")
    else:
        print("\ninvariants held: every listed file verified, nothing extra, nothing trashed "
              "wrongly, nothing outside the target, SIGTERM exits 0")
    server.stop()
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
