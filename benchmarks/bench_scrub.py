#!/usr/bin/env python3
"""The rolling scrub's cost, in one run:

  1. throughput: the scrub's hashing (``mirror.scrub.hash_file``, no rate limit) against
     ``sha1sum`` of the same files, alternately, best of 3 each (warm page cache: both read
     the same bytes from memory, so this measures the hashing loop, not the disk);
  2. the extra cost per pass at the default settings (``every = "30d"``,
     ``max_rate = "50MiB"``, a 15-minute interval) for a 100,000-file mirror: the state's work
     per pass (the SQL over 100,000 rows) and the slice's reads, over a few passes of a
     simulated clock. Only the files the measured passes read are written to disk (3 MB each,
     a phone photo), the other records point at files that are never reached.

Target (issue 19): ratio 1 >= 0.9.
Usage: python3 benchmarks/bench_scrub.py [--mb 400] [--passes 4]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from ppsync.config import load_config  # noqa: E402
from ppsync.mirror.executor import Layout  # noqa: E402
from ppsync.mirror.scrub import Scrub, Throttle, hash_file  # noqa: E402
from ppsync.models import LocalRecord, RecordStatus, RunReport  # noqa: E402
from ppsync.state import State  # noqa: E402

FILE_MB = 3
MIRROR_FILES = 100_000


def write_files(folder: Path, count: int, size: int) -> list[Path]:
    paths = []
    chunk = os.urandom(1 << 20)
    for n in range(count):
        path = folder / f"f{n:06d}.jpg"
        with path.open("wb") as handle:
            left = size
            while left > 0:
                handle.write(chunk[: min(left, len(chunk))])
                left -= len(chunk)
        paths.append(path)
    return paths


def throughput(folder: Path, total_mb: int) -> None:
    files = write_files(folder, max(1, total_mb // 8), 8 << 20)
    size = sum(p.stat().st_size for p in files)
    for path in files:  # warm the page cache for both
        path.read_bytes()
    stop = threading.Event()
    best_tool = best_ours = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(["sha1sum", *map(str, files)], check=True, stdout=subprocess.DEVNULL)
        best_tool = min(best_tool, time.perf_counter() - started)
        started = time.perf_counter()
        for path in files:
            hash_file(path, Throttle(0, stop), stop)
        best_ours = min(best_ours, time.perf_counter() - started)
    mb = size / 1e6
    print(f"1. throughput over {len(files)} x 8 MB ({mb:.0f} MB, warm cache)")
    print(f"   sha1sum {mb / best_tool:8.0f} MB/s   scrub {mb / best_ours:8.0f} MB/s   "
          f"ratio {best_tool / best_ours:.2f} (target >= 0.9)")
    for path in files:
        path.unlink()


def per_pass(folder: Path, passes: int) -> None:
    target = folder / "mirror"
    (target / ".ppsync").mkdir(parents=True)
    config = folder / "ppsync.toml"
    config.write_text(f'[server]\nurl = "http://127.0.0.1:9"\npassword = "x"\n'
                      f'[mirror]\ntarget = "{target}"\n[schedule]\ninterval = "15m"\n')
    settings = load_config(config, {})
    every, rate = settings.scrub.every_seconds, settings.scrub.rate
    per_slice = -(-MIRROR_FILES * 900 // int(every))
    real = per_slice * (passes + 1)
    write_files(target, real, FILE_MB << 20)
    state = State.open(settings.mirror.state_path)
    records = [LocalRecord(f"f{n:06d}", f"p{n:06d}", f"f{n:06d}.jpg", "", FILE_MB << 20,
                           RecordStatus.ACTIVE) for n in range(MIRROR_FILES)]
    from hashlib import sha1

    sums = {p.name: sha1(p.read_bytes()).hexdigest() for p in sorted(target.glob("f*.jpg"))}
    records = [LocalRecord(r.file_uid, r.photo_uid, r.path, sums.get(r.path, "0" * 40),
                           r.size, r.status) for r in records]
    state.save_many(records)
    clock_now = [1_900_000_000.0]
    stop = threading.Event()
    layout = Layout(target)
    print(f"2. per pass at the defaults (every {settings.scrub.every}, max_rate "
          f"{settings.scrub.max_rate}, interval 15m), {MIRROR_FILES:,} files of {FILE_MB} MB")
    first = True
    for n in range(passes + 1):
        report = RunReport(command="sync")
        scrub = Scrub(settings, state, layout, None, report, stop, lambda: clock_now[0])
        started = time.perf_counter()
        scrub.run()
        elapsed = time.perf_counter() - started
        if not first:
            reading = report.scrubbed_bytes / rate if rate else 0.0
            print(f"   pass {n}: {report.scrubbed} files, {report.scrubbed_bytes / 1e6:.0f} MB "
                  f"in {elapsed:.2f} s ({elapsed - reading:.2f} s beyond the read the rate "
                  f"allows; {report.damaged} damaged)")
        else:
            print(f"   first pass (state rows made for every file): {elapsed:.2f} s, "
                  f"{report.scrubbed} files read")
        first = False
        clock_now[0] += 900
    state.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=400, help="MB hashed for benchmark 1")
    parser.add_argument("--passes", type=int, default=4, help="passes measured in benchmark 2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-scrub-") as tmp:
        throughput(Path(tmp), args.mb)
        per_pass(Path(tmp), args.passes)


if __name__ == "__main__":
    main()
