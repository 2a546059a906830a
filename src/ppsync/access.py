"""Who runs ppsync, and what it may do to the paths it needs: one-line messages, never a traceback.

In a container the user running ppsync (PUID/PGID, ``--user``) and the owner of a mounted
folder or secret are set in two places, and a mismatch is the most common first-run problem.
``denied`` turns a refused ``open``/``mkdir`` into one line naming the path, the uid, the
owner and what to do; ``translate_denied`` applies it to any ``OSError`` that escapes a
command; ``access_summary`` is the daemon's first log line (can it read and write each path).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ppsync.errors import ConfigError

# The errors a fix of ownership, mode or mount options cures (not a missing file, not a full
# disk): these become one line with advice, everything else keeps its own handling.
DENIED = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def who() -> str:
    return f"uid {os.geteuid()} gid {os.getegid()}"


def _owner(path: Path) -> tuple[Path, int, int] | None:
    """The nearest existing path at or above ``path`` and its owner (a file that cannot be
    created is refused by its folder)."""
    for candidate in (path, *path.parents):
        try:
            st = candidate.stat()
        except OSError:
            continue
        return candidate, st.st_uid, st.st_gid
    return None


def denied(path: Path, exc: OSError | None = None, *, write: bool = True) -> str:
    """One line: ``path`` is refused to this process, who owns it, and what to do (to read
    it only, with ``write=False``: a secret, a config file)."""
    uid, gid = os.geteuid(), os.getegid()
    if exc is not None and exc.errno == errno.EROFS:
        return (f"{path}: read-only file system for uid {uid}; mount it read-write "
                "(no :ro on the volume)")
    line = f"{path}: permission denied for uid {uid} (gid {gid})"
    found = _owner(path)
    needed = "readable and writable" if write else "readable"
    fix = f"make it {needed} for uid {uid} (e.g. chown {uid}:{gid} on the host)"
    if found is not None:
        where, owner, group = found
        line += f"; {where} belongs to uid {owner} (gid {group})"
        if owner not in (uid, 0):  # never advice to run as root: the image refuses it
            fix += (f", or run ppsync as uid {owner} (in the container: PUID={owner} "
                    f"PGID={group})")
    return f"{line}; {fix}"


def is_denied(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in DENIED


@contextmanager
def translate_denied(fallback: Path) -> Iterator[None]:
    """Turn a refused file operation inside the block into a ``ConfigError`` with ``denied``'s
    line (the path from the error, or ``fallback`` when the error names none)."""
    try:
        yield
    except OSError as exc:
        if not is_denied(exc):
            raise
        named = Path(os.fsdecode(exc.filename)) if exc.filename else fallback
        raise ConfigError(denied(named, exc)) from None


def can(path: Path, *, write: bool) -> str:
    """How ``path`` looks to this process: "read-write", "read-only", "no access" or
    "missing" (for a file that does not exist yet, whether its folder lets it be made)."""
    try:
        exists = path.exists()
    except OSError:
        return "no access"
    if not exists:
        parent_ok = os.access(path.parent, os.W_OK | os.X_OK)
        return "missing" + ("" if not write or parent_ok else " (and its folder is not writable)")
    if not os.access(path, os.R_OK):
        return "no access"
    if path.is_dir() and not os.access(path, os.X_OK):
        return "no access"
    return "read-write" if os.access(path, os.W_OK) else "read-only"


def access_summary(paths: dict[str, tuple[Path, str]]) -> dict[str, str]:
    """``{label: "PATH read-write"}`` for each ``label: (path, need)``, where ``need`` is
    "write" (a folder that must exist: the mirror), "create" (a file that may not exist yet,
    in a folder that must let it be made: the state) or "read" (a secret). A path that falls
    short of its need is marked ``PROBLEM``."""
    out = {}
    for label, (path, need) in paths.items():
        seen = can(path, write=need != "read")
        if need == "write" and seen.startswith("missing"):
            seen = "missing"  # a folder that must exist (not be made): mounted or not
        ok = {"write": seen == "read-write",
              "create": seen in ("read-write", "missing"),
              "read": seen in ("read-write", "read-only")}[need]
        out[label] = f"{path} {seen}" + ("" if ok else " PROBLEM")
    return out
