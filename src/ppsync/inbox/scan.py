"""The upload inbox on disk: what is in it, what has settled, hashing, and grouping into batches.

No HTTP here. ``scan`` lists candidate files (skipping dotfiles, dot-folders, symlinks, the done
folder and unwanted extensions); ``settled`` decides whether a file has stopped changing;
``HashingReader`` is the upload body (it hashes exactly the bytes sent, so a file that changed
while being sent is caught); ``plan_batches`` packs files into upload folders (tokens) without
two equal base names in one folder, keeping a photo's related files (same folder and stem, e.g.
``IMG_1.HEIC`` + ``IMG_1.MOV`` + ``IMG_1.xmp``) together so PhotoPrism stacks them.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ppsync.errors import UploadFailed
from ppsync.mirror.paths import written_by_ppsync
from ppsync.state import UploadRecord

HASH_CHUNK = 1 << 20
MAX_BATCH_FILES = 200  # files per upload folder: bounds how long one synchronous import runs
SIDECARS = frozenset({"xmp"})  # sent only together with a photo of the same stem


@dataclass(frozen=True, slots=True)
class InboxFile:
    """One candidate file as seen by this pass's scan."""

    path: Path  # absolute
    rel: str  # POSIX path inside the inbox: the state's key
    size: int
    mtime_ns: int
    ctime: float

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def group(self) -> tuple[str, str]:
        """Related files share their folder and their name up to the first dot."""
        parent = str(PurePosixPath(self.rel).parent)
        return parent, self.name.split(".", 1)[0].lower()

    @property
    def extension(self) -> str:
        return self.path.suffix.lower().lstrip(".")

    def unchanged(self) -> bool:
        """Still the size and mtime it was scanned with (and still there)?"""
        try:
            st = self.path.stat()
        except OSError:
            return False
        return st.st_size == self.size and st.st_mtime_ns == self.mtime_ns


def scan(inbox: Path, extensions: frozenset[str], skip: tuple[Path, ...]) -> Iterator[InboxFile]:
    """Regular files under ``inbox`` with a wanted extension (case-insensitive), sorted by path.

    Skipped: names starting with a dot (ours and the OS's temporaries, ``.ppsync-done``),
    anything ppsync writes in a mirror (``paths.written_by_ppsync``: sidecars, manifests),
    symlinks (they may point into the mirror), and the folders in ``skip``.
    Raises ``OSError`` when the inbox itself cannot be read.
    """
    skipped = {os.path.realpath(p) for p in skip}
    pending = [inbox]
    while pending:
        folder = pending.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            if folder == inbox:
                raise
            continue  # a subfolder that vanished or is unreadable: the next pass sees it
        subfolders = []
        for entry in entries:
            # Dotfiles, and whatever ppsync wrote in a mirror (a copy of mirror folders in the
            # inbox must not send its sidecars or manifests), whatever the extensions say.
            if entry.name.startswith(".") or written_by_ppsync(entry.name):
                continue
            if entry.is_dir(follow_symlinks=False):
                if os.path.realpath(entry.path) not in skipped:
                    subfolders.append(Path(entry.path))
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
            path = Path(entry.path)
            if path.suffix.lower().lstrip(".") not in extensions:
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            yield InboxFile(path, path.relative_to(inbox).as_posix(), st.st_size,
                            st.st_mtime_ns, st.st_ctime)
        pending.extend(reversed(subfolders))


def settled(item: InboxFile, record: UploadRecord | None, settle_seconds: float,
            now: float) -> bool:
    """Has the file stopped changing?

    Either the state saw it with this size and mtime at least ``settle_seconds`` ago, or both
    its mtime and its ctime are that old. The ctime matters: copy tools (cp -p, rsync -t, phone
    backup apps) restore an old mtime, but every write and that restore itself set the ctime to
    now, so a file still being copied never looks old.
    """
    if record is not None and record.same_file(item.size, item.mtime_ns) and (
            now - record.first_seen >= settle_seconds):
        return True
    return now - max(item.mtime_ns / 1e9, item.ctime) >= settle_seconds


class HashingReader(io.RawIOBase):
    """An upload body: the first ``size`` bytes of a file, hashed as they are read.

    httpx sizes the multipart body up front (``seek(0, 2)``) and seeks to 0 before sending, so
    a retry starts the hash over. A file that grew while being sent is cut at ``size`` (the
    declared Content-Length stays true); one that shrank raises ``UploadFailed`` instead of
    leaving the server waiting for bytes that never come. Compare ``hexdigest()`` with the hash
    taken before sending to know whether the server got the content that was checked.
    """

    def __init__(self, handle: BinaryIO, size: int) -> None:
        super().__init__()
        self._handle = handle
        self._size = size
        self._pos = 0
        self._digest = hashlib.sha1()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            return self._size  # only used to learn the length; reading continues where it was
        if whence != io.SEEK_SET or offset != 0:
            raise io.UnsupportedOperation("only a rewind to the start is supported")
        self._handle.seek(0)
        self._pos = 0
        self._digest = hashlib.sha1()
        return 0

    def read(self, n: int = -1) -> bytes:
        want = self._size - self._pos if n < 0 else min(n, self._size - self._pos)
        if want <= 0:
            return b""
        chunk = self._handle.read(want)
        if not chunk:
            raise UploadFailed("the file shrank while it was being sent")
        self._pos += len(chunk)
        self._digest.update(chunk)
        return chunk

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()

    @property
    def complete(self) -> bool:
        return self._pos == self._size


def plan_batches(groups: list[list[InboxFile]], max_bytes: int) -> list[list[InboxFile]]:
    """Pack groups of related files into upload folders.

    Never two equal base names in one folder (the server stores uploads by base name, so one
    would overwrite the other); at most ``max_bytes`` (a larger group goes alone) and
    ``MAX_BATCH_FILES`` files per folder. First fit, in the order given.
    """
    batches: list[list[InboxFile]] = []
    names: list[set[str]] = []
    sizes: list[int] = []
    for group in groups:
        group_names = {item.name for item in group}
        group_size = sum(item.size for item in group)
        for index, batch in enumerate(batches):
            fits = (not group_names & names[index]
                    and sizes[index] + group_size <= max_bytes
                    and len(batch) + len(group) <= MAX_BATCH_FILES)
            if fits:
                batch.extend(group)
                names[index] |= group_names
                sizes[index] += group_size
                break
        else:
            batches.append(list(group))
            names.append(set(group_names))
            sizes.append(group_size)
    return batches
