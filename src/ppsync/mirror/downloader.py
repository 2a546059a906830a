"""Worker side of a download: bytes into ``.ppsync/partial/``, hashed while streaming, verified.

Runs on worker threads and never touches a final path or the state: it returns a verified,
fsynced partial file (or notes that the file already present is the right one), and the
coordinator puts it in place. A partial file is named by file key and SHA-1, so an interrupted
download, even one killed with SIGKILL, resumes with Range in the same or the next run.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path

from ppsync.errors import DiskFull, IntegrityError
from ppsync.fsutil import READ_CHUNK, existing_path, is_disk_full, sha1_of
from ppsync.models import RemoteFile
from ppsync.servers.base import PhotoServer

VERIFY_ATTEMPTS = 3  # whole-file attempts when the bytes do not match the server's hash
# Files up to this size are not fsynced one by one: the coordinator syncs a group of them with
# one syncfs before it renames them into place (``Fetched.synced`` is False for those).
GROUP_SYNC_MAX = 1024 * 1024


class PartFile:
    """A partial download: appends, tracks its SHA-1 and length, can be restarted.

    Implements ``servers.base.DownloadSink``. Raises ``IntegrityError`` as soon as it grows past the
    expected size, so a misbehaving server cannot fill the disk.
    """

    def __init__(self, path: Path, expected_size: int) -> None:
        self.path = path
        self.expected_size = expected_size
        self.received = 0  # bytes that came over the network in this run
        self._digest = hashlib.sha1()
        self._length = 0
        self._handle = path.open("ab")
        if self._handle.tell():  # resume: re-hash what an earlier attempt left
            with path.open("rb") as existing:
                while chunk := existing.read(READ_CHUNK):
                    self._digest.update(chunk)
                    self._length += len(chunk)

    def offset(self) -> int:
        return self._length

    def sha1(self) -> str:
        """The SHA-1 of the bytes so far (hex)."""
        return self._digest.hexdigest()

    def restart(self) -> None:
        self._handle.seek(0)
        self._handle.truncate()
        self._digest = hashlib.sha1()
        self._length = 0

    def write(self, chunk: bytes) -> None:
        if self.expected_size >= 0 and self._length + len(chunk) > self.expected_size:
            raise IntegrityError(f"the server sent more than the expected {self.expected_size} "
                                 "bytes")
        self._handle.write(chunk)
        self._digest.update(chunk)
        self._length += len(chunk)
        self.received += len(chunk)

    def finish(self, *, sync: bool = True) -> tuple[int, str]:
        """Flush and (with ``sync``) fsync; return (length, sha1 hex). Safe to call again after
        a failure."""
        if self._handle.closed:
            return self._length, self._digest.hexdigest()
        self._handle.flush()
        if sync:
            os.fsync(self._handle.fileno())
        self._handle.close()
        return self._length, self._digest.hexdigest()

    def discard(self) -> None:
        """Close and remove. Never raises for the close: on a full disk, closing flushes the
        buffered tail, which fails again, and the file must still go to give the space back."""
        with contextlib.suppress(OSError):
            self._handle.close()
        self.path.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class Fetched:
    """A verified file ready to be put in place (``part`` is None when adopted in place;
    ``synced`` is False for a small part whose bytes the coordinator syncs with its group)."""

    remote: RemoteFile
    part: Path | None
    last_modified: str | None
    bytes_received: int
    synced: bool = True
    from_trash: bool = False  # ``part`` is this original, kept in .ppsync/trash by a removal


def partial_path(partial_dir: Path, remote: RemoteFile) -> Path:
    return partial_dir / f"{remote.file_uid}-{remote.sha1}.part"


def local_copy_matches(target: Path, rel: str, remote: RemoteFile) -> bool:
    """Is the file already at ``target/rel`` exactly this original? (adoption, no download)"""
    try:
        os.lstat(os.path.join(target, rel))
    except FileNotFoundError:
        return False  # the common case, a new file: one lstat, no realpath walk
    existing = existing_path(target, rel)
    if existing is None:
        return False
    if remote.size >= 0 and existing.stat().st_size != remote.size:
        return False
    return sha1_of(existing) == remote.sha1


def kept_in_trash(target: Path, trash: Path, rel: str, remote: RemoteFile) -> Path | None:
    """This very original (size and SHA-1), moved to ``trash`` when it left the server: at
    ``rel``, or ``rel~N`` when several went there. A photo restored on the server comes back
    from it instead of being downloaded again. Only from inside the target: a folder of the
    trash that is a symlink leading elsewhere (to the user's own photos, say) is never taken
    from, since taking back moves the file."""
    first = trash / rel
    if not first.parent.is_dir() or first.parent.is_symlink():
        return None
    try:
        real_trash = trash.resolve(strict=True)
        if not real_trash.is_relative_to(target.resolve(strict=True)) \
                or not first.parent.resolve(strict=True).is_relative_to(real_trash):
            return None
    except OSError:
        return None
    for candidate in [first, *sorted(first.parent.glob(glob.escape(first.name) + "~*"))]:
        try:
            if not stat.S_ISREG(candidate.lstat().st_mode):
                continue
            if remote.size >= 0 and candidate.lstat().st_size != remote.size:
                continue
            if sha1_of(candidate) == remote.sha1:
                return candidate
        except OSError:
            continue
    return None


def _keep_for_resume(part: PartFile, exc: BaseException, remote: RemoteFile) -> None:
    """After a failed attempt: keep what arrived for the next attempt or run, unless the disk
    is full, where temporaries are removed and the pass is told to stop (``DiskFull``)."""
    if not is_disk_full(exc):
        try:
            part.finish()
            return
        except OSError as flush_error:
            if not is_disk_full(flush_error):
                part.discard()
                return
    part.discard()
    raise DiskFull(f"no space left on the mirror's disk while writing {remote.name}") from None


def _complete_part(part: PartFile, remote: RemoteFile) -> Fetched | None:
    """A partial file as long as the original (a run killed between the last byte and the
    rename): kept when its SHA-1 is the server's, instead of asking for the bytes after its
    end (a "range not satisfiable" answer) and downloading it all again; restarted when its
    bytes are wrong or too many. None when the download is still to be made or finished."""
    if remote.size < 0 or part.offset() < remote.size:
        return None
    if part.offset() == remote.size and part.sha1() == remote.sha1:
        part.finish()
        return Fetched(remote, part.path, None, 0)
    part.restart()
    return None


def fetch(
    server: PhotoServer, remote: RemoteFile, partial_dir: Path, target: Path, rel: str,
    *, adopt: bool, trash: Path | None = None,
) -> Fetched:
    """Download ``remote`` into a verified partial file, or adopt the copy already at ``rel``,
    or take back the copy a removal moved to ``trash`` (placing moves it from there).

    Raises ``IntegrityError`` when every attempt produced bytes that do not match the server's
    size and SHA-1 (the partial is removed), and the server's errors for network failures (the
    partial is kept for resuming).
    """
    if adopt and local_copy_matches(target, rel, remote):
        return Fetched(remote, None, None, 0)
    kept = kept_in_trash(target, trash, rel, remote) if trash is not None else None
    if kept is not None:
        return Fetched(remote, kept, None, 0, from_trash=True)
    path = partial_path(partial_dir, remote)
    received = 0
    for _ in range(VERIFY_ATTEMPTS):
        part = PartFile(path, remote.size)
        if remote.rendition:  # no hash to tell stale bytes of an older edit: start afresh
            part.restart()
        else:
            complete = _complete_part(part, remote)
            if complete is not None:
                return complete
        try:
            last_modified = server.download(remote, part)
            grouped = 0 <= remote.size <= GROUP_SYNC_MAX
            length, digest = part.finish(sync=not grouped)
        except IntegrityError:
            part.discard()
            continue
        except BaseException as exc:
            if remote.rendition:  # never resumed (see above): nothing worth keeping
                part.discard()
            else:
                _keep_for_resume(part, exc, remote)
            raise
        received += part.received
        if remote.rendition and length:
            # No server hash exists for an edited rendition: what arrived whole (the HTTP
            # layer holds the body to its Content-Length) is recorded with its own SHA-1.
            return Fetched(replace(remote, sha1=digest, size=length), path, last_modified,
                           received)
        if digest == remote.sha1 and (remote.size < 0 or length == remote.size):
            return Fetched(remote, path, last_modified, received, synced=not grouped)
        part.discard()
    raise IntegrityError(f"downloaded bytes did not match the server's SHA-1 {remote.sha1} "
                         f"after {VERIFY_ATTEMPTS} attempts")
