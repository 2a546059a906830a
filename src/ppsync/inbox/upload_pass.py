"""The steps of one upload pass over the inbox: survey, settle, hash, dedupe, confirm, after.

``UploadPass.prepare`` returns the files to send; ``sender.send`` sends them and calls back
``confirm``; ``uploader.run_upload`` runs the two in order (so neither imports the other's caller).
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ppsync.config import UploadConfig
from ppsync.errors import ConfigError, Interrupted
from ppsync.fsutil import sha1_of
from ppsync.inbox.report import UploadReport
from ppsync.inbox.scan import SIDECARS, InboxFile, scan, settled
from ppsync.logs import get_logger
from ppsync.models import Failure
from ppsync.servers.base import PhotoServer
from ppsync.state import State, UploadRecord, UploadStatus

log = get_logger("ppsync.upload")


@dataclass
class Item:
    """A settled inbox file with its state record (updated as the pass goes)."""

    file: InboxFile
    record: UploadRecord

    @property
    def sha1(self) -> str:
        return self.record.sha1


class UploadPass:
    """The steps of one upload pass, sharing the state, the server and the report."""

    def __init__(self, upload: UploadConfig, state: State, server: PhotoServer,
                 report: UploadReport, stop: threading.Event) -> None:
        assert upload.inbox is not None
        self.upload = upload
        self.inbox = upload.inbox
        self.state = state
        self.server = server
        self.report = report
        self.stop = stop
        self._photo_uids: dict[str, str | None] = {}

    # --- outcomes (the state is written after the fact, on this thread) ----------------------

    def save(self, item: Item, **changes: Any) -> None:
        item.record = replace(item.record, **changes)
        self.state.save_upload(item.record)

    def fail(self, item: Item, reason: str, *, attempt: bool = False) -> None:
        """Not uploaded this pass; tried again next pass."""
        attempts = item.record.attempts + int(attempt)
        if attempt and attempts >= MAX_ATTEMPTS:
            self.reject(item, f"{reason}; gave up after {attempts} attempts: PhotoPrism did not "
                        "import it (not a media file it supports, over its size or resolution "
                        "limit, or refused)")
            return
        self.save(item, status=UploadStatus.PENDING, reason=reason, attempts=attempts)
        self.report.failures.append(Failure(item.file.rel, reason))
        log.warning("upload failed", path=item.file.rel, reason=reason)

    def reject(self, item: Item, reason: str) -> None:
        """The server will not take this content: remembered, reported once, not retried."""
        self.save(item, status=UploadStatus.REJECTED, reason=reason)
        self.report.rejected.append(Failure(item.file.rel, reason))
        log.warning("upload rejected", path=item.file.rel, reason=reason)

    def changed(self, item: Item, reason: str) -> None:
        """The file changed under us: start settling again from its current size and mtime."""
        try:
            st = item.file.path.stat()
            self.save(item, size=st.st_size, mtime_ns=st.st_mtime_ns, first_seen=time.time(),
                      sha1="", status=UploadStatus.SEEN, reason=reason)
        except OSError:
            pass  # gone: nothing to remember
        self.report.failures.append(Failure(item.file.rel, reason))
        log.warning("upload postponed", path=item.file.rel, reason=reason)

    def confirm(self, items: Iterable[Item], *, found: set[str] | None = None,
                import_ran: bool = True) -> None:
        """Only a file found on the server by its SHA-1 counts as uploaded (``found``: the
        SHA-1s already looked up). A failed confirmation counts as an attempt only if the
        import really ran (``import_ran``)."""
        for item in items:
            if item.sha1 in found if found is not None else self.on_server(item.sha1):
                self.save(item, status=UploadStatus.CONFIRMED, reason="")
                self.report.confirmed += 1
                log.info("uploaded", path=item.file.rel, sha1=item.sha1)
                self.after(item)
            elif import_ran:
                self.fail(item, "sent, but not on the server after the import", attempt=True)
            else:
                self.fail(item, "the server imported nothing (another import or index was "
                          "running?); tried again next pass")

    def check_stop(self) -> None:
        if self.stop.is_set():
            raise Interrupted("stop requested; the upload pass ends here")

    # --- the pass ----------------------------------------------------------------------------

    def prepare(self) -> list[Item]:
        """Survey, hash and sort out duplicates. Returns the new files to ``send``.

        Raises ``PpsyncError`` for what ends the pass (server refused, auth, interrupted)."""
        candidates, finished = self.survey()
        new: list[Item] = []
        duplicates: list[Item] = []
        queued: set[str] = set()
        for item in candidates:
            self.check_stop()
            if not self.hash(item):
                continue
            duplicate = self.duplicate_reason(item)
            if self.trash_to_check(item, duplicate):
                back = self.from_trash(item)
                if back is None:
                    continue  # only in the trash, and it may not come back: reported, kept
                duplicate = back or duplicate
            if duplicate and self.photo_uid(item.sha1) is None:
                duplicate = self.gone_from_server(item, duplicate)
            if duplicate:
                self.save(item, reason=duplicate)
                duplicates.append(item)
            elif item.sha1 in queued:
                self.report.same_as_sent += 1  # a duplicate of this pass's upload, next pass
            else:
                queued.add(item.sha1)
                new.append(item)
        self.handle_duplicates(duplicates)
        for item in finished:  # confirmed earlier, still here: after was off or did not finish
            self.check_stop()
            if self.on_server(item.sha1):
                self.after(item)
        return new

    def survey(self) -> tuple[list[Item], list[Item]]:
        """Scan and settle. Returns (settled files to consider, files already confirmed that
        ``after`` should still move or delete)."""
        records = self.state.upload_records()
        now = time.time()
        skip = tuple(p for p in (self.upload.done_path, self.upload.import_path) if p)
        ready: list[Item] = []
        finished: list[Item] = []
        try:
            files = list(scan(self.inbox, self.upload.allowed_extensions, skip))
        except OSError as exc:
            raise ConfigError(f"upload.inbox: cannot read {self.inbox}: {exc.strerror}") from None
        for file in files:
            self.report.scanned += 1
            record = records.get(file.rel)
            if record is None or not record.same_file(file.size, file.mtime_ns):
                record = UploadRecord(file.rel, file.size, file.mtime_ns, first_seen=now)
                self.state.save_upload(record)
            elif record.status.final:
                self.report.known += 1
                if self.upload.after != "keep" and record.status is not UploadStatus.REJECTED:
                    finished.append(Item(file, record))
                continue
            if not settled(file, record, self.upload.settle_seconds, now):
                self.report.waiting += 1
                continue
            ready.append(Item(file, record))
        return self.without_lone_sidecars(ready), finished

    def without_lone_sidecars(self, items: list[Item]) -> list[Item]:
        """A sidecar (XMP) goes only with its photo: alone, PhotoPrism would ignore it."""
        with_media = {i.file.group for i in items if i.file.extension not in SIDECARS}
        kept = []
        for item in items:
            if item.file.extension in SIDECARS and item.file.group not in with_media:
                self.report.ignored += 1
            else:
                kept.append(item)
        return kept

    def hash(self, item: Item) -> bool:
        if item.sha1:
            return True  # hashed by an earlier pass at this very size and mtime
        try:
            sha1 = sha1_of(item.file.path)
        except OSError as exc:
            self.report.failures.append(Failure(item.file.rel, f"cannot read: {exc.strerror}"))
            return False
        if not item.file.unchanged():
            self.changed(item, "changed while being hashed; sent once it settles")
            return False
        self.save(item, sha1=sha1, status=UploadStatus.PENDING)
        return True

    def duplicate_reason(self, item: Item) -> str:
        """Why this content need not be sent, or "" (no echo: mirrored content is not sent
        while the server holds a copy; ``prepare`` sends it when the server has none)."""
        if self.state.knows_sha1(item.sha1):
            return "already in the mirror"
        if self.state.uploaded_sha1(item.sha1):
            return "already uploaded from another inbox file"
        if self.photo_uid(item.sha1) is not None:
            return "already on the server"
        return ""

    def gone_from_server(self, item: Item, duplicate: str) -> str:
        """The mirror or an earlier upload knew this content, but the server holds it neither
        in its library nor in its trash (deleted for good): the echo guard only matters while
        the server holds a copy, and a file dropped in the inbox says "I want this in my
        library". Returns "": send it."""
        log.info("sent again: the server no longer holds this content anywhere",
                 path=item.file.rel, sha1=item.sha1, known=duplicate)
        return ""

    def trash_to_check(self, item: Item, duplicate: str) -> bool:
        """Must the server's trash be asked about this content? When the server has one and
        the photo is not in its library: also when the mirror or an earlier upload knows the
        content, since the library may have lost it to the trash since (a mistaken delete the
        user answers by dropping the file in the inbox again)."""
        if not self.server.capabilities.trash:
            return False
        return not duplicate or self.photo_uid(item.sha1) is None

    def from_trash(self, item: Item) -> str | None:
        """Content the server holds only in its trash (purged after a while) is not a copy to
        delete or move an inbox file for, and sending it again would only be answered "I
        have it". A file dropped in the inbox says "I want this in my library": bring the
        photo back. Returns "" (not in the trash), why it is now a duplicate (brought back),
        or None: it could not be (reported; the file stays and is tried again next pass)."""
        trashed = self.server.find_in_trash([item.sha1]).get(item.sha1)
        if trashed is None:
            return ""
        why = self.server.restore_from_trash([trashed])
        if not why:
            self._photo_uids[item.sha1] = self.server.find_photos([item.sha1]).get(item.sha1)
            if self._photo_uids[item.sha1] is not None:
                log.info("brought back from the server's trash", path=item.file.rel,
                         sha1=item.sha1)
                self.report.from_trash += 1
                return "was in the server's trash: brought back into the library"
            why = "still not in the library after bringing it back"
        self.fail(item, f"its only copy on the server is in the server's trash, which purges "
                  f"it after a while; kept here and not sent: {why}")
        return None

    def photo_uid(self, sha1: str) -> str | None:
        """The server's photo holding this content, or None (cached for the pass)."""
        if sha1 not in self._photo_uids:
            self._photo_uids[sha1] = self.server.find_photos([sha1]).get(sha1)
        return self._photo_uids[sha1]

    def on_server(self, sha1: str) -> bool:
        """Is this content on the server now (asked again each time: an import changes it)?"""
        return sha1 in self.server.find_photos([sha1])

    def handle_duplicates(self, items: list[Item]) -> None:
        """Record duplicates; files on the server are then moved or deleted like uploads.

        A duplicate is never added to the configured albums, nor is its photo touched in any
        other way: the albums get only what this upload brought. Adding it would fill the
        album with old photos (a copy of a mirror folder), and on PhotoPrism adding a photo in
        review to an album approves it, which restores it from the archive."""
        for item in items:
            self.save(item, status=UploadStatus.DUPLICATE)
            self.report.duplicates += 1
            log.info("duplicate not sent", path=item.file.rel, reason=item.record.reason)
        for item in items:
            if self.upload.after != "keep" and self.photo_uid(item.sha1) is not None:
                self.after(item)

    def after(self, item: Item) -> None:
        """Keep, move or delete a file that is on the server. Never a file that changed since
        it was checked; a failure leaves it in place for the next pass."""
        how = self.upload.after
        if how == "keep" or not item.file.unchanged():
            return
        try:
            if how == "delete":
                item.file.path.unlink()
                self.report.deleted += 1
            else:
                target = free_name(self.upload.done_path / item.file.rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(item.file.path, target)
                self.report.moved += 1
        except OSError as exc:
            self.report.failures.append(Failure(item.file.rel, f"cannot {how} it: {exc}"))
            log.warning("cannot finish an uploaded file", path=item.file.rel, error=str(exc))


MAX_ATTEMPTS = 3  # sends that the server took but never imported, before giving up


def free_name(path: Path) -> Path:
    """``path``, or ``name-1.ext``, ``name-2.ext``, ... : never overwrite a file."""
    candidate, n = path, 0
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate
