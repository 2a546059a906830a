"""Run the real ``ppsync`` as a user that is not the owner of its folders, as a container does
with PUID/PGID or ``--user``.

As root (CI containers often are), a permission test is meaningless unless the command drops
to another uid: it then runs as uid:gid 4242:4242 (``RUNNER``) through ``setpriv``, as the
image's entrypoint drops to PUID, and the folders live in a world-traversable temporary
folder. As an ordinary user, the command runs as that user and the tests take access away with
``chmod`` instead of ``chown`` (``take_away``): the same refusals, the same messages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

AS_ROOT = os.geteuid() == 0
RUNNER = (4242, 4242) if AS_ROOT else (os.geteuid(), os.getegid())


def _runner_can_start_python() -> bool:
    if not AS_ROOT:
        return True
    try:
        return subprocess.run(["setpriv", f"--reuid={RUNNER[0]}", f"--regid={RUNNER[1]}",
                               "--clear-groups", sys.executable, "-c", "import ppsync"],
                              capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# False where the runner may not start this interpreter (setpriv missing, a Python under
# /root): the tests that need it skip, saying so, instead of failing for that.
RUNNABLE = _runner_can_start_python()


@contextmanager
def world_dir() -> Iterator[Path]:
    """A temporary folder the runner can reach (pytest's own is 0700 for root)."""
    path = Path(tempfile.mkdtemp(prefix="ppsync-user-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def give(path: Path) -> Path:
    """The runner owns ``path`` (as root); as an ordinary user it does already."""
    if AS_ROOT:
        os.chown(path, *RUNNER)
    return path


def take_away(path: Path, mode: int) -> Path:
    """``path`` belongs to someone else: as root, to root with ``mode``; as an ordinary user
    (who cannot give files away), ``mode`` with the owner bits cleared."""
    if AS_ROOT:
        os.chown(path, 0, 0)
        path.chmod(mode)
    else:
        path.chmod(mode & 0o077)
    return path


def ppsync_as_runner(*args: str) -> list[str]:
    """The command line of ``ppsync ARGS`` as the runner: through ``setpriv`` (util-linux, as
    the image's entrypoint does) when root."""
    drop = ["setpriv", f"--reuid={RUNNER[0]}", f"--regid={RUNNER[1]}", "--clear-groups"]
    return [*(drop if AS_ROOT else []), sys.executable, "-m", "ppsync", *args]


def run_as(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(ppsync_as_runner("--config", str(config), *args),
                          capture_output=True, text=True, timeout=timeout,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                          cwd=config.parent)


class Started:
    """A ``ppsync daemon`` as the runner (or as this process's user), its stderr collected
    line by line as it comes."""

    def __init__(self, config: Path, *, as_runner: bool = True) -> None:
        command = ("--config", str(config), "daemon")
        self.proc = subprocess.Popen(
            ppsync_as_runner(*command) if as_runner else
            [sys.executable, "-m", "ppsync", *command],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, cwd=config.parent,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_for(self, found: Callable[[str], bool], timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if found(line):
                    return line
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError("no such log line; got:\n" + "".join(self.lines))

    def stop(self, timeout: float = 30) -> int:
        self.proc.terminate()
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        return code
