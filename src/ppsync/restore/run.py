"""``ppsync restore --to <server>``: put the mirror back into a (typically fresh) PhotoPrism.

Three steps, each idempotent without any local restore state, so a second run changes nothing
and an interrupted run simply continues:

1. originals: every original the state tracks or a sidecar lists is uploaded unless the server
   already has its SHA-1 (``restore_mirror``; the server renames what it imports by date; one
   only in the server's trash is brought back from there), or,
   with ``originals_path`` (the new server's originals folder, mounted here), copied to its
   mirrored path there and indexed in place, keeping its name (``restore_copy``);
2. metadata: for each ``<primary original>.ppsync.json`` sidecar, the new photo is found by the
   hash of its files and ``PUT /photos/<uid>`` sets title and caption (with the source "manual",
   under the names the server uses), favourite and private, and (where the server takes it,
   ``Capabilities.taken_time``) the taken time, only where the server's values or sources
   differ; photos the sidecar marks archived are archived last;
3. albums: for each ``.album.json`` manifest, the album is found (``GET /albums``) or created
   by title, and the members the server does not list yet (``GET /photos?s=<album uid>``) are
   added by the new UIDs found by hash.

Empty titles and captions in a sidecar are not sent (they would erase what PhotoPrism generated).
The run holds the target lock, like sync, so the mirror does not change underneath it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ppsync.config import ServerConfig, Settings
from ppsync.errors import INTERRUPTED, ConfigError, Interrupted, PpsyncError
from ppsync.lock import TargetLock
from ppsync.logs import get_logger
from ppsync.mirror.sync import guard_target
from ppsync.models import Failure
from ppsync.redact import redact
from ppsync.report import EXIT_MEANINGS
from ppsync.restore.copy import restore_by_copy
from ppsync.restore.mirror import (
    PENDING,
    Manifest,
    Sidecar,
    mirror_originals,
    photo_uid_of,
    read_mirror,
    restore_originals,
)
from ppsync.restore.taken import taken_time_change
from ppsync.servers import open_server
from ppsync.servers.base import MANUAL, Photo, PhotoEdit, PhotoServer, by_title, title_key
from ppsync.state import State

log = get_logger("ppsync.restore")
ADD_CHUNK = 500  # photos per "add to album" request


@dataclass(slots=True)
class RestoreReport:
    """What a restore did (or, with ``dry_run``, would do)."""

    server: str = ""
    dry_run: bool = False
    how: str = "uploaded"  # or "copied" (into originals_path, then indexed)
    started_at: float = 0.0
    finished_at: float = 0.0
    originals: int = 0
    present: int = 0  # already on the server
    untrashed: int = 0  # brought back from the server's trash
    uploaded: int = 0
    bytes_sent: int = 0
    sidecars: int = 0
    metadata_applied: int = 0
    metadata_unchanged: int = 0
    archived: int = 0
    albums: int = 0
    albums_created: int = 0
    albums_changed: int = 0  # got at least one member (new albums included)
    members_added: int = 0
    failures: list[Failure] = field(default_factory=list)
    error: str = ""
    exit_code: int = 0


def target_server(settings: Settings, to: str) -> ServerConfig:
    """``server`` = the main [server]; a name = [servers.<name>]; an http(s) URL = that URL with
    the main [server]'s credentials and options, but never its ``originals_path``: that folder
    belongs to the server it names, and another server cannot index files copied there.
    Raises ``ConfigError`` otherwise."""
    if to == "server":
        return settings.server
    if to in settings.servers:
        return settings.servers[to]
    if to.startswith(("http://", "https://")):
        return ServerConfig(**{**settings.server.model_dump(), "url": to,
                               "originals_path": None})
    known = ", ".join(["server", *sorted(settings.servers)])
    raise ConfigError(f"restore --to: no server named {to!r} (known: {known}; or give an "
                      "http(s):// URL)")


class Restore:
    """The metadata and album steps, sharing the server, the SHA-1 → photo key map and the
    report."""

    def __init__(self, server: PhotoServer, report: RestoreReport, photos: dict[str, str],
                 stop: threading.Event) -> None:
        self.server = server
        self.report = report
        self.photos = photos
        self.stop = stop
        self.archived: set[str] = set()  # photos archived on the server (album entries hidden)
        self.pending_archive: list[str] = []  # photos the sidecars say to archive, done last

    def check_stop(self) -> None:
        if self.stop.is_set():
            raise Interrupted("stop requested; the restore ends here (run it again to finish)")

    def say(self, line: str) -> None:
        if self.report.dry_run:
            print(line, flush=True)

    def photo_uid(self, sha1s: list[str]) -> str | None:
        for sha1 in sha1s:
            if sha1 not in self.photos:
                uid = photo_uid_of(self.server, sha1)
                if uid is None:
                    continue
                self.photos[sha1] = uid
            return self.photos[sha1]
        return None

    def apply_metadata(self, sidecars: list[Sidecar]) -> None:
        to_archive: list[str] = []
        for sidecar in sidecars:
            self.check_stop()
            uid = self.photo_uid([f["sha1"] for f in sidecar.originals()])
            if uid is None or uid.startswith(PENDING):
                if self.report.dry_run:
                    self.say(f"would set the metadata of {sidecar.rel} once its original "
                             "is back")
                    self.report.metadata_applied += 1
                else:
                    self.report.failures.append(Failure(sidecar.rel, "its photo is not on the "
                                                        "server (originals not restored)"))
                continue
            current = self.server.photo(uid)
            if current is None:
                self.report.failures.append(Failure(sidecar.rel, f"photo {uid} vanished"))
                continue
            changes = metadata_changes(sidecar.data, current)
            if not self.server.capabilities.separate_title_and_caption:
                changes = replace(changes, title=None)  # the caption is all it keeps
            if not self.server.capabilities.taken_time:
                changes = replace(changes, taken_at=None)  # the server reads it from the file
            if changes.private is not None and not self.server.capabilities.private:
                if changes.private:
                    self.report.failures.append(Failure(sidecar.rel, "private: this server "
                                                        "has no private mark; left visible"))
                changes = replace(changes, private=None)
            if changes.fields():
                self.say(f"would set {', '.join(changes.fields())} of {sidecar.rel}")
                if not self.report.dry_run:
                    self.server.update_photo(current, changes)
                self.report.metadata_applied += 1
            else:
                self.report.metadata_unchanged += 1
            if current.archived:
                self.archived.add(uid)
            elif sidecar.data.get("archived") is True:
                to_archive.append(uid)
        self.pending_archive = to_archive

    def archive(self) -> None:
        """Last: archiving hides a photo's album entries, so albums are filled first."""
        uids = self.pending_archive
        if uids and not self.server.capabilities.archive:
            self.report.failures.append(Failure(f"{len(uids)} photos", "the sidecars say "
                                                "archived, but this server cannot archive"))
        elif uids:
            self.say(f"would archive {len(uids)} photos")
            if not self.report.dry_run:
                self.server.archive(uids)
            self.report.archived += len(uids)

    def restore_albums(self, manifests: list[Manifest]) -> None:
        capabilities = self.server.capabilities
        existing = by_title(self.server.albums(["album"]), capabilities) if manifests else {}
        for manifest in manifests:
            self.check_stop()
            self.restore_album(manifest, existing)

    def restore_album(self, manifest: Manifest, existing: dict[str, str]) -> None:
        title = manifest.title
        wanted: list[str] = []
        for member in manifest.data.get("members") or []:
            if not isinstance(member, dict):
                continue
            sha1s = [s for s in [member.get("sha1"), *(member.get("files") or [])]
                     if isinstance(s, str) and s]
            uid = self.photo_uid(sha1s)
            if uid is None:
                if not self.report.dry_run:
                    self.report.failures.append(Failure(
                        f"{manifest.rel}: {member.get('entry') or member.get('photo_uid')}",
                        "album member whose photo is not on the server"))
            elif uid not in self.archived and uid not in wanted:
                wanted.append(uid)
        self.report.albums += 1
        album_uid = existing.get(title_key(title, self.server.capabilities))
        if album_uid is None:
            self.say(f"would create album {title!r} with {len(wanted)} members")
            self.report.albums_created += 1
            if self.report.dry_run:
                self.report.members_added += len(wanted)
                return
            album_uid = self.server.album_key(title)  # finds or creates it by title
            existing[title_key(title, self.server.capabilities)] = album_uid
        present = self.server.album_photo_keys(album_uid)
        missing = [uid for uid in wanted if uid not in present]
        if missing:
            self.say(f"would add {len(missing)} members to album {title!r}")
            if not self.report.dry_run:
                for start in range(0, len(missing), ADD_CHUNK):
                    self.server.add_to_album(album_uid, missing[start:start + ADD_CHUNK])
            self.report.albums_changed += 1
            self.report.members_added += len(missing)
            log.info("album restored", title=title, added=len(missing))


def metadata_changes(sidecar: dict[str, Any], current: Photo) -> PhotoEdit:
    """What would make the server's photo match the sidecar; an edit that sets nothing when it
    already does (value *and*, for text, a person as its source), so a second restore sends
    nothing. Text goes in as a person's (``MANUAL``): the server keeps it on rescans
    (photoprism-api.md §h); the adapter sends what else the server needs to keep it."""
    title, caption = sidecar.get("title"), sidecar.get("caption")
    favorite, private = sidecar.get("favorite"), sidecar.get("private")
    return PhotoEdit(
        title=title if isinstance(title, str) and title and (
            current.title != title or current.title_source != MANUAL) else None,
        caption=caption if isinstance(caption, str) and caption and (
            current.caption != caption or current.caption_source != MANUAL) else None,
        favorite=favorite if isinstance(favorite, bool) and current.favorite != favorite
        else None,
        private=private if isinstance(private, bool) and current.private != private else None,
        taken_at=taken_time_change(sidecar, current),
    )


def run_restore(settings: Settings, to: str, *, dry_run: bool = False,
                stop: threading.Event | None = None) -> RestoreReport:
    """Restore the mirror into the server ``to`` (see ``target_server``).

    Raises ``ConfigError`` (unknown server), ``SafetyStop`` (mirror missing) and ``LockHeld``
    before it starts; everything after is in the report (``error``, ``exit_code``).
    """
    server = target_server(settings, to)
    layout = guard_target(settings.mirror)
    report = RestoreReport(server=redact(server.url), dry_run=dry_run, started_at=time.time())
    with TargetLock(layout.meta / "lock"):  # no sync changes the mirror meanwhile
        state = State.open(settings.mirror.state_path)
        try:
            run_id = state.start_run("restore")
            try:
                _restore_locked(server, layout.target, state, report, stop, dry_run=dry_run)
            finally:
                report.finished_at = time.time()
                if not report.exit_code and report.failures:
                    report.exit_code = 1
                with contextlib.suppress(sqlite3.Error):
                    state.finish_run_payload(run_id, {
                        **asdict(report), "listed": report.originals,
                        "downloaded": report.uploaded})
                log.info("restore finished", exit_code=report.exit_code,
                         uploaded=report.uploaded, failed=len(report.failures))
        finally:
            state.close()
    return report


def _restore_locked(server: ServerConfig, target: Path, state: State, report: RestoreReport,
                    stop: threading.Event | None, *, dry_run: bool) -> None:
    sidecars, manifests = read_mirror(target, report.failures)
    originals = mirror_originals(state, target, sidecars, report.failures)
    report.originals, report.sidecars = len(originals), len(sidecars)
    photos = open_server(server, stop=stop)
    run = Restore(photos, report, {}, stop or threading.Event())
    log.info("restore started", server=report.server, dry_run=dry_run)
    try:
        photos.open()
        if server.originals_path is not None:  # the new server's originals folder is here
            if not photos.capabilities.index_in_place:
                raise ConfigError("originals_path: this kind of server cannot index files "
                                  "copied into its originals; remove originals_path to upload")
            report.how = "copied"
            outcome = restore_by_copy(photos, target, originals, server.originals_path,
                                      dry_run=dry_run, check_stop=run.check_stop, say=run.say)
        else:
            outcome = restore_originals(photos, target, originals, dry_run=dry_run,
                                        check_stop=run.check_stop, say=run.say)
        report.present, report.uploaded = outcome.present, outcome.uploaded
        report.untrashed = outcome.untrashed
        report.bytes_sent = outcome.bytes_sent
        report.failures += outcome.failures
        run.photos.update(outcome.photos)
        run.apply_metadata(sidecars)
        run.restore_albums(manifests)
        run.archive()
    except PpsyncError as exc:
        report.error, report.exit_code = redact(str(exc)), exc.exit_code
        log.error("restore failed", error=report.error, exit_code=exc.exit_code)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (see cli.main)
        report.error, report.exit_code = INTERRUPTED, Interrupted.exit_code
        log.error("restore interrupted", exit_code=report.exit_code)
        raise
    finally:
        photos.close()


def summary_lines(report: RestoreReport) -> list[str]:
    would = "would be " if report.dry_run else ""
    lines = [
        f"restore to {report.server}{' (dry run: nothing changed)' if report.dry_run else ''}: "
        f"exit {report.exit_code} ({EXIT_MEANINGS.get(report.exit_code, 'failed')}) in "
        f"{max(0.0, report.finished_at - report.started_at):.1f} s",
        f"  originals {report.originals}: {would}{report.how} {report.uploaded} "
        f"({report.bytes_sent} bytes), already on the server {report.present}, "
        f"{would}brought back from the trash {report.untrashed}",
        f"  sidecars {report.sidecars}: metadata {would}applied {report.metadata_applied}, "
        f"already right {report.metadata_unchanged}, {would}archived {report.archived}",
        f"  albums {report.albums}: {would}created {report.albums_created}, {would}given new "
        f"members {report.albums_changed}, members {would}added {report.members_added}",
    ]
    if report.error:
        lines.append(f"  ERROR: {report.error}")
    lines += [f"  not restored: {f.path}: {f.reason}" for f in report.failures[:100]]
    if len(report.failures) > 100:
        lines.append(f"  ... and {len(report.failures) - 100} more")
    return lines
