"""The originals step of ``ppsync restore`` for a server whose originals folder is mounted here
(``[servers.NAME] originals_path``): copy, then index in place.

An upload is imported under a new name (``YYYY/MM/YYYYMMDD_HHMMSS_<crc>.jpg``); a file put into
the originals folder and indexed keeps its own. So each original the server does not have yet
(by SHA-1, as in the upload mode) is copied under ``originals_path`` into its photo's folder
(the primary's in the mirror) under its photo's base name (``naming``: the index takes the
files of a folder that share a base name for one photo, so unrelated photos never share one,
nor share it with a file already there):

* only inside that folder: the path is a safe relative path, and no folder on the way may be a
  symlink leading out (``fsutil.ensure_parent_dirs``); a file refused leaves no folder behind;
* only from a regular file in the mirror, opened without following a symlink at its name, and
  never more than its recorded size;
* atomically and verified: a dot-named temp file in the same folder, hashed while written and
  compared with the recorded SHA-1, fsynced, given the mirror file's mtime, then linked to its
  name, which fails rather than replace a file that is there (then the temp goes);
* never over a different file: a file already at that path with the same SHA-1 is taken as
  copied (an interrupted run), one with other content is reported and left alone.

Then ``POST /index`` once per folder that received a file (``"/"`` for the top folder), and each
file is confirmed by its SHA-1 like an upload.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path, PurePosixPath

from ppsync.errors import SafetyStop, UnsafePathError
from ppsync.fsutil import READ_CHUNK, ensure_parent_dirs, fsync_dir, sha1_of
from ppsync.inbox.scan import InboxFile
from ppsync.logs import get_logger
from ppsync.mirror.paths import safe_relative_path
from ppsync.models import Failure
from ppsync.restore.mirror import PENDING, Original, UploadOutcome
from ppsync.restore.naming import Placement, renamed
from ppsync.restore.units import base_stem
from ppsync.servers.base import PhotoServer

log = get_logger("ppsync.restore")


NOT_REGULAR = "not a regular file in the mirror"


class CopyRefused(Exception):
    """This original cannot be put at its path in the originals folder (the reason)."""


def restore_by_copy(server: PhotoServer, target: Path, placements: list[Placement],
                    missing: dict[str, InboxFile], root: Path, out: UploadOutcome, *,
                    dry_run: bool, check_stop: Callable[[], None],
                    say: Callable[[str], None]) -> None:
    """The originals step in this mode: copy the members the server lacks (``missing``:
    SHA-1 → mirror file) of each placed photo under its planned name, index their folders and
    confirm each by SHA-1; counts and failures go to ``out``. Raises ``SafetyStop`` when
    ``root`` is not a folder (not mounted?), and the server's errors."""
    if not root.is_dir():
        raise SafetyStop(f"originals_path {root} does not exist or is not a folder: is the new "
                         "server's originals folder mounted here? ppsync never creates it")
    todo = [(placement, [(m.original, name) for m, name in placement.names
                         if m.original.sha1 in missing]) for placement in placements]
    copy_originals(server, target, root, [(p, files) for p, files in todo if files], out,
                   dry_run=dry_run, check_stop=check_stop, say=say)


def _foreign_stem(root: Path, placement: Placement) -> bool:
    """Does the folder hold a file with the photo's base name that is none of its files?
    PhotoPrism's index would take it for a file of the same photo."""
    folder = root / placement.folder
    stem = placement.stem.casefold()
    ours = {name.casefold(): m.original.sha1 for m, name in placement.names}
    try:
        names = os.listdir(folder)
    except OSError:
        return False  # no such folder yet: nothing there to merge with
    for name in names:
        if name.startswith(".") or base_stem(name).casefold() != stem:
            continue
        path = folder / name
        if ours.get(name.casefold()) is None or not path.is_file() or \
                sha1_of(path) != ours[name.casefold()]:
            return True
    return False


def _own_names(placement: Placement) -> Placement:
    """The placement under a base name of its own (``-ppsync-`` and 8 hex of its primary)."""
    stem = f"{placement.stem}-ppsync-{placement.unit.primary.original.sha1[:8]}"
    return replace(placement, names=tuple((m, renamed(m, stem)) for m, _ in placement.names))


def copy_originals(server: PhotoServer, target: Path, root: Path,
                   todo: list[tuple[Placement, list[tuple[Original, str]]]], out: UploadOutcome,
                   *, dry_run: bool, check_stop: Callable[[], None],
                   say: Callable[[str], None]) -> None:
    """Copy each photo's missing files (original, name) from the mirror at ``target`` into
    its folder under the mounted originals folder ``root``, index those folders, confirm each
    by SHA-1; counts and failures go to ``out``. A photo whose base name a foreign file holds
    in its folder gets a name of its own first. Raises the server's errors."""
    placed: list[tuple[Original, str]] = []
    for placement, files in todo:
        check_stop()
        if _foreign_stem(root, placement):
            wanted = {o.sha1 for o, _ in files}
            placement = _own_names(placement)
            files = [(m.original, n) for m, n in placement.names if m.original.sha1 in wanted]
        for original, name in files:
            rel = f"{placement.folder}/{name}" if placement.folder else name
            if dry_run:
                say(f"would copy {original.rel} into the originals folder as {rel}")
                out.photos[original.sha1] = PENDING + original.sha1
                out.uploaded += 1
                out.bytes_sent += original.size  # what the real run's copy would write
                placed.append((original, rel))
                continue
            try:
                _place(target / original.rel, root, original, rel)
            except CopyRefused as exc:
                out.failures.append(Failure(original.rel, str(exc)))
                continue
            except OSError as exc:
                out.failures.append(Failure(original.rel, "cannot copy into the originals "
                                            f"folder: {exc.strerror or exc}"))
                continue
            out.bytes_sent += original.size
            placed.append((original, rel))
    folders = sorted({_folder(rel) for _, rel in placed})
    if dry_run:
        for folder in folders:
            say(f"would index {folder}")
        return
    for folder in folders:
        check_stop()
        log.info("indexing", path=folder)
        server.index_folder(folder)
    found = server.find_photos([original.sha1 for original, _ in placed]) if placed else {}
    for original, rel in placed:
        uid = found.get(original.sha1)
        if uid is None:
            out.failures.append(Failure(original.rel, "copied into the originals folder, but "
                                        "not in the library after indexing (not a type "
                                        "PhotoPrism indexes, a duplicate of another path, or "
                                        "the indexer was busy: run restore again)"))
            continue
        out.photos[original.sha1] = uid
        out.uploaded += 1
        log.info("restored", path=original.rel, sha1=original.sha1, how="copied", to=rel)


def _folder(rel: str) -> str:
    parent = str(PurePosixPath(rel).parent)
    return "/" if parent == "." else parent


def _link_new(temp: Path, dest: Path) -> None:
    """Give ``temp`` the name ``dest`` unless something is there. A hard link cannot replace a
    file; where the filesystem has none (FAT, some SMB shares), rename after a last check."""
    try:
        os.link(temp, dest)
    except FileExistsError:
        raise CopyRefused("a different file appeared at that path in the originals folder; "
                          "not overwritten") from None
    except OSError:
        if os.path.lexists(dest):
            raise CopyRefused("a different file appeared at that path in the originals "
                              "folder; not overwritten") from None
        os.replace(temp, dest)


def _open_source(source: Path) -> int:
    """Open a mirror file for reading: never through a symlink at its name (O_NOFOLLOW), and
    only a regular file (a FIFO or a device, such as /dev/zero, never ends). Returns the fd."""
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CopyRefused(f"{NOT_REGULAR} (a symlink); not copied") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CopyRefused(f"{NOT_REGULAR}; not copied")
    return fd


def _new_folders(root: Path, rel: str) -> list[Path]:
    """The folders above ``root/rel`` that do not exist yet, deepest first."""
    missing = []
    folder = (root / rel).parent
    while folder != root and not os.path.lexists(folder):
        missing.append(folder)
        folder = folder.parent
    return missing


def _place(source: Path, root: Path, original: Original, dest: str) -> None:
    """Put ``source`` at ``root/dest``, verified, never replacing another file; a file refused
    leaves no folder behind that was made for it."""
    fd = _open_source(source)
    try:
        rel = safe_relative_path(dest)
        created = _new_folders(root, rel)
        try:
            _copy(fd, ensure_parent_dirs(root, rel), original)
        except BaseException:
            for folder in created:  # deepest first; one that holds something stays
                with contextlib.suppress(OSError):
                    folder.rmdir()
            raise
    except UnsafePathError as exc:
        raise CopyRefused(f"not copied into the originals folder: {exc}") from None
    finally:
        os.close(fd)


def _copy(fd: int, dest: Path, original: Original) -> None:
    """Copy the open mirror file ``fd`` to ``dest`` through a temporary file, reading no more
    than its recorded size (and one byte to notice a longer file)."""
    if dest.is_symlink():
        raise CopyRefused("a symlink is at that path in the originals folder; left alone")
    if dest.exists():
        if dest.is_file() and sha1_of(dest) == original.sha1:
            return  # copied by an earlier (interrupted) run; index it
        raise CopyRefused("a different file is at that path in the originals folder; not "
                          "overwritten")
    temp = dest.with_name(f".{dest.name}.ppsync-tmp")
    temp.unlink(missing_ok=True)  # ours, left by a run that was killed mid-copy
    try:
        digest = hashlib.sha1()
        left = original.size + 1
        with temp.open("xb") as writer:
            while left > 0 and (chunk := os.read(fd, min(READ_CHUNK, left))):
                left -= len(chunk)
                if left == 0:
                    raise CopyRefused("the file in the mirror is longer than recorded "
                                      "(changed? run ppsync verify); not copied")
                digest.update(chunk)
                writer.write(chunk)
            writer.flush()
            os.fsync(writer.fileno())
        if digest.hexdigest() != original.sha1:
            raise CopyRefused("its bytes in the mirror do not match the recorded SHA-1 "
                              "(damaged? run ppsync verify); not copied")
        st = os.fstat(fd)
        os.utime(temp, ns=(st.st_atime_ns, st.st_mtime_ns))  # PhotoPrism reads dates from it
        _link_new(temp, dest)
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(dest.parent)
