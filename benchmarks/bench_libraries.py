#!/usr/bin/env python3
"""Memory of one daemon running a household's libraries, against one daemon with one of them.

Issue 20's target: four libraries of 20,000 files each in one daemon peak at no more than 1.5
times one such library alone. Each library is a fake PhotoPrism of ``--files`` synthetic files,
mirrored once by adoption (the bytes are written locally first, then one `sync`). Then:

  1. one daemon with one library: every pass a full walk (the heaviest pass), until it has run
     ``--passes`` of them; its peak RSS (VmHWM) and RSS at the end;
  2. one daemon with the four libraries in [libraries] (passes_at_once = 2, the default): the
     same, until every library has run ``--passes`` full walks.

Prints both peaks and their ratio, and how long each library waited between its passes (the
cost of sharing the machine: a pass waits for one of the two slots).

Usage: python3 benchmarks/bench_libraries.py [--files 20000] [--libraries 4] [--passes 3]
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fake_photoprism import FakePhotoPrism  # noqa: E402

PASSWORD = "bench-password"
PAGE_SIZE = 1000
NAMES = ("anna", "ben", "cleo", "dora", "emil", "fay", "gus", "hana")


def _status(pid: int, field: str) -> int:
    """A /proc/<pid>/status figure in bytes (0 once the process is gone). VmHWM starts afresh
    at exec, so the benchmark's own memory (the fake libraries) is never counted."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def server_lines(server: FakePhotoPrism) -> str:
    return f'url = "{server.url}"\npassword = "{PASSWORD}"\n'


def prepare(work: Path, name: str, files: int) -> tuple[FakePhotoPrism, Path]:
    """A library of ``files`` originals and its mirror, adopted by one single-library sync."""
    server = FakePhotoPrism(password=PASSWORD)
    server.start()
    server.add_synthetic_photos(files, 1, size=64)
    target = work / name
    target.mkdir()
    for f in server.files(root="/"):
        path = target / f.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(server.read_file(f.uid))
    config = work / f"{name}.toml"
    config.write_text(f"[server]\n{server_lines(server)}[mirror]\ntarget = \"{target}\"\n"
                      f"page_size = {PAGE_SIZE}\n[log]\nlevel = \"warning\"\n")
    code = subprocess.run([sys.executable, "-m", "ppsync", "--config", str(config), "sync"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    assert code == 0, f"setup sync of {name} failed with exit {code}"
    return server, target


SCHEDULE = '[schedule]\ninterval = "1s"\nfull_every = "1s"\n'
LOG = '[log]\nlevel = "info"\nformat = "json"\n'


def single_config(work: Path, server: FakePhotoPrism, target: Path) -> Path:
    config = work / "single.toml"
    config.write_text(f"[server]\n{server_lines(server)}[mirror]\ntarget = \"{target}\"\n"
                      f"page_size = {PAGE_SIZE}\n{SCHEDULE}{LOG}")
    return config


def household_config(work: Path, libraries: dict[str, tuple[FakePhotoPrism, Path]]) -> Path:
    text = SCHEDULE + LOG + f"[mirror]\npage_size = {PAGE_SIZE}\n"
    for name, (server, target) in libraries.items():
        text += (f"[libraries.{name}.server]\n{server_lines(server)}"
                 f"[libraries.{name}.mirror]\ntarget = \"{target}\"\n")
    config = work / "household.toml"
    config.write_text(text)
    return config


def run_daemon(work: Path, config: Path, names: list[str], passes: int) -> dict[str, float]:
    """A daemon until every library ran ``passes`` full walks: its peak and final RSS, and the
    longest gap between two passes of one library."""
    log = work / f"{config.stem}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "ppsync", "--config", str(config),
                                 "daemon"], stdout=out, stderr=out)
    peak = rss = 0
    finished: dict[str, list[float]] = {name: [] for name in names}
    deadline = time.monotonic() + 600 + passes * 60 * len(names)
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            peak = max(peak, _status(proc.pid, "VmHWM"))
            rss = _status(proc.pid, "VmRSS") or rss
            finished = {name: [] for name in names}
            for line in log.read_text().splitlines():
                if '"run finished"' in line and line.startswith("{"):
                    event = json.loads(line)
                    if event.get("command") == "sync":
                        finished[event.get("library", "")].append(
                            time.mktime(time.strptime(event["timestamp"][:19],
                                                      "%Y-%m-%dT%H:%M:%S")))
            if all(len(times) >= passes for times in finished.values()):
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    done = {name: len(times) for name, times in finished.items()}
    assert all(n >= passes for n in done.values()), f"passes done: {done}"
    gaps = [b - a for times in finished.values() for a, b in itertools.pairwise(times)]
    return {"peak_mb": peak / 2**20, "end_mb": rss / 2**20,
            "longest_gap_s": max(gaps) if gaps else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--libraries", type=int, default=4)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ppsync-bench-libraries-"))
    names = list(NAMES[:args.libraries])
    libraries: dict[str, tuple[FakePhotoPrism, Path]] = {}
    try:
        for name in names:
            libraries[name] = prepare(work, name, args.files)
        server, target = libraries[names[0]]
        one = run_daemon(work, single_config(work, server, target), [""], args.passes)
        many = run_daemon(work, household_config(work, libraries), names, args.passes)
        ratio = many["peak_mb"] / one["peak_mb"]
        print(f"files per library: {args.files}, full walks per library: {args.passes}")
        print(f"one library:      peak {one['peak_mb']:.1f} MB, end {one['end_mb']:.1f} MB, "
              f"longest gap between passes {one['longest_gap_s']:.0f} s")
        print(f"{len(names)} libraries:      peak {many['peak_mb']:.1f} MB, end "
              f"{many['end_mb']:.1f} MB, longest gap between passes of one library "
              f"{many['longest_gap_s']:.0f} s")
        print(f"ratio {ratio:.2f} (target <= 1.5): {'ok' if ratio <= 1.5 else 'OVER'}")
    finally:
        for server, _ in libraries.values():
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
