"""Is the process that started a run still running? For ``health`` and for marking runs that
were cut short (SIGKILL, out of memory, power loss) as crashed.

A PID alone is not enough: after a reboot, or in a container started again, the same PID
belongs to another process (a Docker daemon is often PID 7 on every start). A run therefore
records its process's identity: the boot ID and the process's start time since boot.
"""

from __future__ import annotations

import os
from pathlib import Path


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def process_identity(pid: int | None = None) -> str:
    """``<boot id>:<start time>`` of a process (this one by default); "" where /proc cannot
    tell (another OS, a hardened /proc)."""
    pid = os.getpid() if pid is None else pid
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rpartition(")")[2].split()
    boot = _boot_id()
    # Field 22 of stat is the start time; the text after the name begins at field 3.
    return f"{boot}:{fields[19]}" if boot and len(fields) > 19 else ""


def is_running(pid: int, identity: str) -> bool:
    """Is the process ``pid`` alive and the same one that recorded ``identity``?"""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, but another user's (a `health` run by another account)
    current = process_identity(pid)
    return not identity or not current or current == identity
