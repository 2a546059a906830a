"""Filesystem steps that keep the mirror's invariants: nothing written outside the target,
nothing half-written at a final path, nothing replaced without being kept aside first.
"""

from __future__ import annotations

import email.utils
import errno
import hashlib
import os
from pathlib import Path
from typing import Any

from ppsync.errors import UnsafePathError

READ_CHUNK = 1 << 20


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def ignores_case(folder: Path) -> bool:
    """Does the filesystem holding ``folder`` treat names that differ only in case as one
    (exFAT, FAT32, SMB shares, macOS defaults)? Probed with a real file, as mount options and
    per-folder casefolding make anything else a guess."""
    probe = folder / f"case-probe-{os.getpid()}.tmp"
    probe.touch()
    try:
        return os.path.lexists(folder / probe.name.upper())
    finally:
        probe.unlink(missing_ok=True)


# Filesystems where SQLite's WAL mode is unsafe: its shared-memory index is an mmap that
# network and FUSE filesystems do not share between hosts, and some (FUSE) answer it with SIGBUS.
_NO_SHARED_MEMORY = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs",
                     "virtiofs")


def filesystem_type(path: Path) -> str:
    """The type of the filesystem holding ``path`` ("ext4", "fuse.sshfs"…), from the mount
    table; "" where there is none to read (not Linux)."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return ""
    resolved, best, kind = str(path.resolve()), "", ""
    for line in lines:
        fields, _, rest = line.partition(" - ")
        mount_point = fields.split(" ")[4].replace("\\040", " ")
        inside = resolved == mount_point or resolved.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, kind = mount_point, rest.split(" ")[0]
    return kind


def shares_memory_safely(path: Path) -> bool:
    """Can a database at ``path`` use SQLite's WAL mode (shared memory) safely?"""
    kind = filesystem_type(path)
    return not (kind.startswith("fuse") or kind in _NO_SHARED_MEMORY)


def same_file(a: Path, b: Path) -> bool:
    """Are ``a`` and ``b`` one file on disk (e.g. two spellings of a name on such a disk)?"""
    try:
        return os.path.samestat(os.lstat(a), os.lstat(b))
    except OSError:
        return False


def is_inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def ensure_parent_dirs(target: Path, rel: str) -> Path:
    """Create the directories above ``target/rel`` and return the final path.

    Walks the components one by one so that nothing is created through a symlink that leads out
    of the target (a symlink to elsewhere inside the target is followed). Raises
    ``UnsafePathError`` otherwise, or when a component exists and is not a directory.
    """
    root = target.resolve()
    current = root
    parts = rel.split("/")
    for part in parts[:-1]:
        current = current / part
        if current.is_symlink():
            resolved = current.resolve()
            if not is_inside(resolved, root):
                raise UnsafePathError(f"{rel}: folder {part!r} is a symlink leading out of the "
                                      "target")
            current = resolved
        if not current.exists():
            current.mkdir(mode=0o755)
        elif not current.is_dir():
            raise UnsafePathError(f"{rel}: {part!r} exists and is not a folder")
    return current / parts[-1]


def existing_path(target: Path, rel: str) -> Path | None:
    """``target/rel`` if it is a regular file reached without leaving the target, else None."""
    root = target.resolve()
    candidate = target / rel
    if candidate.is_symlink() or not candidate.is_file():
        return None
    if not is_inside(candidate.parent.resolve(), root):
        return None
    return candidate


def sync_filesystem(path: Path) -> None:
    """Put every written byte of the filesystem holding ``path`` on disk: syncfs(2), or sync(2)
    where the C library has no syncfs. One call for a group of small files costs about what one
    fsync does, where an fsync each would commit the filesystem's journal once per file."""
    global _SYNCFS
    if _SYNCFS is None:
        import ctypes  # only the coordinator of a download pass needs it

        _SYNCFS = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", False)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if not _SYNCFS:
            os.sync()
        elif _SYNCFS(fd) != 0:
            import ctypes

            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), str(path))
    finally:
        os.close(fd)


_SYNCFS: Any = None  # libc's syncfs once looked up; False where there is none


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha1_of(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def unique_path(path: Path) -> Path:
    """``path``, or ``path~1``, ``path~2``… whichever does not exist yet."""
    if not path.exists() and not path.is_symlink():
        return path
    n = 1
    while True:
        candidate = path.with_name(f"{path.name}~{n}")
        if not candidate.exists() and not candidate.is_symlink():
            return candidate
        n += 1


def move_into(source: Path, area: Path, rel: str, suffix: str = "") -> Path:
    """Move ``source`` to ``area/rel`` (+suffix), never overwriting; return where it went.
    Never through a folder that is a symlink leading out of ``area`` (``.ppsync/trash`` is
    inside the target; a link there must not carry a photo, or new folders, elsewhere)."""
    destination = unique_path((area / rel).with_name((area / rel).name + suffix))
    if not _stays_inside(area, destination.parent):
        raise OSError(errno.EPERM, f"a folder on the way to {destination} is a symlink that "
                      f"leads out of {area}; nothing was moved")
    destination.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, destination)
    fsync_dir(destination.parent)
    return destination


def _stays_inside(area: Path, folder: Path) -> bool:
    """Does ``folder`` (or, where it does not exist yet, its nearest existing parent) really
    lie inside ``area``, symlinks followed?"""
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if existing != area and area.is_relative_to(existing):
        return True  # ``area`` itself is still to be made: nothing below it exists yet
    try:
        return existing.resolve(strict=True).is_relative_to(area.resolve(strict=True))
    except OSError:
        return False


def set_mtime_from_http(path: Path, last_modified: str | None) -> None:
    if not last_modified:
        return
    try:
        when = email.utils.parsedate_to_datetime(last_modified).timestamp()
    except (TypeError, ValueError):
        return  # an odd header is not worth failing a verified file for
    os.utime(path, (when, when))
