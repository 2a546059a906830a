"""The sending half of an upload pass: upload batches, or copies into the import folder.

``mode = "upload"``: each batch is one ``UploadBatch`` of the server (on PhotoPrism its own
upload folder token); every file is sent on its own (a retry resends one file, and a 413 names
the file), then one ``commit`` imports the batch into the albums. A file whose bytes changed
while they were sent makes the whole batch suspect: it is abandoned (never committed) and the
other files go again in a new batch.

``mode = "import-folder"``: each file is copied into ``<import_path>/ppsync-upload/<its path in
the inbox>`` under a hidden temporary name and renamed when complete, then the server imports
that folder (``PhotoServer.import_folder``), moving what it took into originals so the shared
folder does not fill up. Copies a busy server left behind are reused next pass.

Either way only the SHA-1 confirmation (``UploadPass.confirm``) counts.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, cast

from ppsync.errors import UploadFailed, UploadTooLarge
from ppsync.fsutil import sha1_of
from ppsync.inbox.scan import HASH_CHUNK, HashingReader, InboxFile, plan_batches
from ppsync.inbox.upload_pass import Item, UploadPass
from ppsync.logs import get_logger
from ppsync.servers.base import UploadBatch

log = get_logger("ppsync.upload")
IMPORT_SUBFOLDER = "ppsync-upload"


def send(run: UploadPass, items: list[Item]) -> None:
    """Send ``items`` (settled, hashed, not in the library) and confirm them."""
    if not items:
        return
    if run.upload.mode == "import-folder":
        # Paths, not base names, keep files apart there, and one import takes the whole folder.
        _import_folder_batch(run, items)
        return
    groups: dict[tuple[str, str], list[Item]] = {}
    for item in items:
        groups.setdefault(item.file.group, []).append(item)
    by_file = {id(item.file): item for item in items}
    batches = plan_batches([[i.file for i in g] for g in groups.values()],
                           run.upload.batch_mb * 1024 * 1024)
    for batch in batches:
        run.check_stop()
        _upload_batch(run, [by_file[id(f)] for f in batch])


# --- mode = "upload" ---------------------------------------------------------------------------


def _upload_batch(run: UploadPass, items: list[Item]) -> None:
    remaining = items
    while remaining:
        remaining = _try_token(run, remaining)


def _try_token(run: UploadPass, items: list[Item]) -> list[Item]:
    """POST ``items`` into a fresh token, import and confirm. Returns the items to send again
    under a new token (when one file changed mid-send), else []."""
    batch = run.server.upload()
    posted: list[Item] = []
    for index, item in enumerate(items):
        run.check_stop()
        if not item.file.unchanged():
            run.changed(item, "changed after it was checked; sent once it settles")
            continue
        try:
            accepted, sent_sha1 = post_file(batch, item.file, item.file.name)
        except UploadTooLarge as exc:
            run.reject(item, str(exc))
            continue
        except UploadFailed as exc:
            run.fail(item, str(exc))
            continue
        run.report.sent += 1
        run.report.bytes_sent += item.file.size
        if sent_sha1 != item.sha1:
            run.changed(item, "changed while being sent; sent again once it settles")
            log.info("abandoning an upload folder", token_files=len(posted))
            return posted + items[index + 1:]
        if accepted == 0:
            run.reject(item, "refused by the server (a type it does not accept, over its size "
                       "limit, or content that does not match the extension)")
            continue
        posted.append(item)
    if posted:
        added = batch.commit(run.upload.albums)
        confirmed = run.report.confirmed
        run.confirm(posted)
        if run.upload.albums:  # a server that does not say put every file it imported there
            run.report.added_to_albums += (run.report.confirmed - confirmed if added is None
                                           else added)
    return []


def post_file(batch: UploadBatch, file: InboxFile, name: str, *,
              sidecar: tuple[str, InboxFile] | None = None) -> tuple[int | None, str]:
    """Stream one file into ``batch`` as ``name``, dated by its mtime, with ``sidecar`` (its
    name on the server and the file) riding along; returns (files the server accepted, SHA-1
    of the bytes sent, "" when the read did not finish). Raises ``UploadFailed`` when a file
    cannot be read, and what ``UploadBatch.send`` raises."""
    readers: list[HashingReader] = []
    path, size = file.path, file.size
    modified = datetime.fromtimestamp(file.mtime_ns / 1e9, UTC)

    @contextmanager
    def open_body() -> Iterator[IO[bytes]]:
        with path.open("rb") as handle:
            reader = HashingReader(handle, size)
            readers.append(reader)
            yield cast(IO[bytes], reader)

    ride = None
    if sidecar is not None:
        sidecar_path = sidecar[1].path

        @contextmanager
        def open_sidecar() -> Iterator[IO[bytes]]:
            with sidecar_path.open("rb") as handle:
                yield handle

        ride = (sidecar[0], open_sidecar)
    try:
        accepted = batch.send(name, open_body, modified, sidecar=ride) if ride else \
            batch.send(name, open_body, modified)
    except OSError as exc:
        raise UploadFailed(f"cannot read: {exc.strerror}") from None
    reader = readers[-1]
    return accepted, reader.hexdigest() if reader.complete else ""


# --- mode = "import-folder" --------------------------------------------------------------------


def _import_folder_batch(run: UploadPass, items: list[Item]) -> None:
    assert run.upload.import_path is not None
    root = run.upload.import_path / IMPORT_SUBFOLDER
    copied: list[tuple[Item, Path]] = []
    for item in items:
        run.check_stop()
        dest = root / item.file.rel
        try:
            if not _already_there(dest, item):
                if not _copy(item, dest):
                    run.changed(item, "changed while being copied; sent once it settles")
                    continue
                run.report.sent += 1
                run.report.bytes_sent += item.file.size
        except OSError as exc:
            run.fail(item, f"cannot copy into the import folder: {exc}")
            continue
        copied.append((item, dest))
    if not copied:
        return
    run.server.import_folder(IMPORT_SUBFOLDER, run.upload.albums)
    on_server = {item.sha1 for item, _ in copied if run.on_server(item.sha1)}
    if run.upload.albums:  # the import put every file it took into the albums
        run.report.added_to_albums += len(on_server)
    # A busy server answers 200 and imports nothing: only an import that took something counts
    # as an attempt for the files it left behind.
    run.confirm([item for item, _ in copied], found=on_server, import_ran=bool(on_server))
    for item, dest in copied:
        if item.sha1 in on_server or item.record.status.final:
            dest.unlink(missing_ok=True)  # ours; the server moved it already, or gave it up


def _already_there(dest: Path, item: Item) -> bool:
    """A copy left by a pass whose import did not run: reuse it when it is the same content."""
    try:
        if dest.stat().st_size != item.file.size:
            return False
    except FileNotFoundError:
        return False
    return sha1_of(dest) == item.sha1


def _copy(item: Item, dest: Path) -> bool:
    """Copy under a hidden temporary name (the server skips dotfiles), fsync, rename into
    place. Returns False, leaving nothing behind, when the bytes copied do not hash to the
    checked SHA-1 (the file changed). Raises ``OSError``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = dest.with_name(f".{dest.name}.ppsync-part")
    digest = hashlib.sha1()
    try:
        with item.file.path.open("rb") as source, temp.open("wb") as out:
            while chunk := source.read(HASH_CHUNK):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != item.sha1:
            temp.unlink()
            return False
        os.replace(temp, dest)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return True
