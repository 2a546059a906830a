#!/usr/bin/env python3
"""How quickly the commands a person or a health check types answer, beside the interpreter's
own start: ``ppsync --version``, ``status``, ``status --json`` and ``health`` on a mirrored
library, each against ``python -c pass`` (the same interpreter), run in turn A B A B ...

Prints, in one run, per command: the median wall time, the median of the pairwise ratios to
``python -c pass``, and whether the median is within the target.

Target (issue 21, item 4): each within 0.1 s on the 2-core machine ppsync is developed on.
The interpreter is ``sys.executable`` (a venv's python; ``python3`` on PATH may be a version
manager's shell shim that costs more than the whole command).
Usage: python3 benchmarks/bench_quick_commands.py [--runs 15] [--files 1000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fake_photoprism import FakePhotoPrism  # noqa: E402

PASSWORD = "bench-password"
TARGET_SECONDS = 0.1
COMMANDS = (["--version"], ["status"], ["status", "--json"], ["health"])


def ppsync_command() -> list[str]:
    """The installed console script when there is one (what users type), else ``-m``."""
    script = Path(sys.executable).parent / "ppsync"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ppsync"]


def mirrored_library(work: Path, files: int, server: FakePhotoPrism) -> Path:
    """A config whose mirror holds ``files`` originals after one real ``sync``."""
    server.add_synthetic_photos(files, 1, size=64)
    target = work / "mirror"
    target.mkdir()
    config = work / "ppsync.toml"
    config.write_text(f'[server]\nurl = "{server.url}"\npassword = "{PASSWORD}"\n'
                      f'[mirror]\ntarget = "{target}"\n[schedule]\ninterval = "15m"\n'
                      '[log]\nlevel = "warning"\nformat = "json"\n')
    done = subprocess.run([*ppsync_command(), "--config", str(config), "sync"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert done.returncode == 0, f"setup sync failed with exit {done.returncode}"
    return config


def wall(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def paired(command: list[str], floor: list[str], runs: int) -> tuple[float, float, float]:
    """(median of the command, median of the floor, median of command/floor pair by pair),
    after one warm-up of each."""
    wall(command)
    wall(floor)
    pairs = [(wall(command), wall(floor)) for _ in range(runs)]
    return (statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs),
            statistics.median(a / b for a, b in pairs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="counted runs of each command")
    parser.add_argument("--files", type=int, default=1000, help="originals in the mirror")
    args = parser.parse_args()
    floor = [sys.executable, "-c", "pass"]
    with tempfile.TemporaryDirectory(prefix="bench-quick-") as tmp, \
            FakePhotoPrism(password=PASSWORD) as server:
        config = mirrored_library(Path(tmp), args.files, server)
        print(f"quick commands on a mirror of {args.files} files, median of {args.runs} "
              f"runs each, against `{' '.join(floor)}`:")
        for extra in COMMANDS:
            argv = [*ppsync_command(), *(["--config", str(config)] if extra[0] != "--version"
                                         else []), *extra]
            seconds, bare, ratio = paired(argv, floor, args.runs)
            verdict = "ok" if seconds <= TARGET_SECONDS else f"OVER {TARGET_SECONDS} s"
            print(f"  ppsync {' '.join(extra):<14} {seconds:.3f} s   python -c pass "
                  f"{bare:.3f} s   ratio {ratio:4.1f}   {verdict}")


if __name__ == "__main__":
    main()
