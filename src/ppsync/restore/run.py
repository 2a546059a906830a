"""``ppsync restore --to <server>``: put the mirror back into a (typically fresh) server of
either kind, photo by photo.

The photo, not the file, is the unit (``units``): a PhotoPrism photo's JPEG, RAW, MOV and XMP
files, an Immich still with its live video, an Immich stack. Five steps, each idempotent
without any local restore state, so a second run sends nothing and an interrupted run simply
continues:

1. originals: every original the state tracks or a sidecar lists is sent unless the server
   already has its SHA-1 (one only in the server's trash is brought back from there): by upload
   (``send``), or with ``originals_path`` (the new server's originals folder, mounted here)
   copied there and indexed in place (``copy``). On a server that groups files by name
   (PhotoPrism) a photo's files share one base name and unrelated photos never do (``naming``);
   on one that takes an XMP with its photo's upload (Immich), the XMP rides along;
2. grouping: on Immich each live video is linked to its still and each photo's files stacked
   with the primary on top (``grouping``);
3. metadata: each photo's sidecar is compared with the target's photo and only what differs is
   set (``attributes``); what the target has no place for is reported as not carried;
4. albums: found (``GET /albums``) or created by title, and the photos the server does not list
   yet are added, every visible file of each;
5. archive: photos the sidecars mark archived, last (archiving hides album entries).

The run holds the target lock, like sync, so the mirror does not change underneath it; it never
changes the mirror and never deletes anything on the target.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from dataclasses import asdict
from pathlib import Path

from ppsync.config import ServerConfig, Settings
from ppsync.errors import INTERRUPTED, ConfigError, Interrupted, PpsyncError
from ppsync.inbox.scan import InboxFile
from ppsync.lock import TargetLock
from ppsync.logs import get_logger
from ppsync.mirror.sync import guard_target
from ppsync.redact import redact
from ppsync.restore.copy import restore_by_copy
from ppsync.restore.grouping import Target, group_units
from ppsync.restore.metadata import Restore
from ppsync.restore.mirror import (
    UploadOutcome,
    edited_renditions,
    find_missing,
    mirror_originals,
    read_mirror,
    readable,
)
from ppsync.restore.naming import plan_names
from ppsync.restore.report import NotCarried, RestoreReport, summary_lines
from ppsync.restore.send import send_items, send_missing
from ppsync.restore.units import Role, Unit, build_units
from ppsync.servers import open_server
from ppsync.servers.base import PhotoServer
from ppsync.servers.preflight import preflight
from ppsync.state import State

__all__ = ["RestoreReport", "run_restore", "summary_lines", "target_server"]
log = get_logger("ppsync.restore")
# An edited rendition (Immich's edit of a photo) has no place as the edit of its photo on
# either kind (README's mapping table): by whether the target groups files by name.
_EDIT_NOT_CARRIED = {
    False: "Immich keeps an edit as the steps that made it, which the mirror does not hold, "
           "and uploaded on its own it would be a second photo",
    True: "PhotoPrism would make it a photo of its own: it does not share the original's base "
          "name",
}
_EDIT_KEPT = ": the original is restored unedited, and this edited version stays in the mirror"


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
                         uploaded=report.uploaded, failed=len(report.failures),
                         not_carried=len(report.not_carried))
        finally:
            state.close()
    return report


def _missing(server: PhotoServer, target: Path, units: list[Unit], out: UploadOutcome,
             run: Restore, *, dry_run: bool) -> dict[str, InboxFile]:
    """SHA-1 → mirror file of every member the server lacks. An XMP that rides with its
    photo's upload (``sidecar_upload``) is never an asset to look up: it is taken as
    missing, and sent only if its primary is."""
    rides = server.capabilities.sidecar_upload
    lookup = [m.original for u in units for m in u.members
              if not (rides and m.role is Role.SIDECAR)]
    missing = {o.sha1: f for o, f in find_missing(server, target, lookup, out, run.check_stop,
                                                 dry_run=dry_run, say=run.say)}
    if rides:
        xmp = [m.original for u in units for m in u.of_role(Role.SIDECAR)
               if m.extension == "xmp" and u.primary.original.sha1 in missing]
        missing |= {o.sha1: f for o, f in readable(target, xmp, out)}
    return missing


def _alone(units: list[Unit], missing: dict[str, InboxFile], report: RestoreReport) -> None:
    """On a server that groups by name, an XMP joins its photo only when it arrives with the
    photo's files: PhotoPrism imports no XMP on its own (it stays in the upload folder). One
    whose photo is already there is not sent, and said."""
    for unit in units:
        sidecars = [m for m in unit.of_role(Role.SIDECAR) if m.original.sha1 in missing]
        if not sidecars or any(m.original.sha1 in missing for m in unit.members
                               if m.role is not Role.SIDECAR):
            continue
        why = ("its photo is on the server already, and PhotoPrism takes an XMP only "
               "together with its photo's files") if unit.visible() else (
               "an XMP that no photo's .ppsync.json lists: PhotoPrism takes no XMP on its own")
        for member in sidecars:
            del missing[member.original.sha1]
            report.not_carried.append(NotCarried(member.original.rel, "sidecar", why))


def _unsendable(units: list[Unit], server: PhotoServer, report: RestoreReport) -> None:
    """Sidecar files a server that takes XMP with an upload cannot hold (an AAE; an XMP
    without a photo to travel with)."""
    if not server.capabilities.sidecar_upload:
        return
    for unit in units:
        for member in unit.of_role(Role.SIDECAR):
            if member.extension != "xmp":
                report.not_carried.append(NotCarried(member.original.rel, "sidecar", "this "
                                          "server takes only XMP sidecars, with their photo"))
            elif member is unit.primary:
                report.not_carried.append(NotCarried(member.original.rel, "sidecar", "an XMP "
                                          "that no photo's .ppsync.json lists: nothing to "
                                          "send it with"))


def _take(out: UploadOutcome, report: RestoreReport) -> None:
    """Put the originals step's counts into the report, once (its failures move over)."""
    report.present, report.uploaded = out.present, out.uploaded
    report.untrashed, report.bytes_sent = out.untrashed, out.bytes_sent
    report.sidecars_sent = out.sidecars_sent
    report.failures += out.failures
    out.failures = []


def _restore_locked(server: ServerConfig, target: Path, state: State, report: RestoreReport,
                    stop: threading.Event | None, *, dry_run: bool) -> None:
    sidecars, manifests = read_mirror(target, report.failures)
    originals = mirror_originals(state, target, sidecars, report.failures)
    units = build_units(originals, sidecars)
    report.originals, report.sidecars, report.photos = len(originals), len(sidecars), len(units)
    photos = open_server(server, stop=stop)
    run = Restore(Target(photos), report, units, stop or threading.Event())
    out = UploadOutcome()  # counted as the originals go: an interrupted run reports them too
    log.info("restore started", server=report.server, dry_run=dry_run)
    try:
        photos.open()
        preflight(photos, None, restore=True)  # the target: all a restore needs, at once
        capabilities = photos.capabilities
        copy = server.originals_path is not None  # the new server's originals folder is here
        if copy and not capabilities.index_in_place:
            raise ConfigError("originals_path: this kind of server cannot index files "
                              "copied into its originals; remove originals_path to upload")
        why = _EDIT_NOT_CARRIED[capabilities.groups_by_name] + _EDIT_KEPT
        report.not_carried += [NotCarried(rel, "edited version", why)
                               for rel in edited_renditions(state)]
        names = plan_names(units, groups_by_name=capabilities.groups_by_name, copy=copy)
        report.not_carried += [NotCarried(*split) for split in names.split]
        units = run.units = [placement.unit for placement in names.placements]  # as they go
        _unsendable(units, photos, report)
        missing = _missing(photos, target, units, out, run, dry_run=dry_run)
        if capabilities.groups_by_name:
            _alone(units, missing, report)
        if copy:
            assert server.originals_path is not None
            report.how = "copied"
            restore_by_copy(photos, target, names.placements, missing, server.originals_path,
                            out, dry_run=dry_run, check_stop=run.check_stop, say=run.say)
        else:
            groups = send_items(names.placements, missing,
                                sidecar_upload=capabilities.sidecar_upload, out=out)
            send_missing(photos, groups, out, dry_run=dry_run, check_stop=run.check_stop,
                         say=run.say)
        _take(out, report)
        run.target.keys.update(out.photos)
        grouped = group_units(run.target, units, dry_run=dry_run, check_stop=run.check_stop,
                              say=run.say)
        report.live_linked, report.stacked = grouped.live_linked, grouped.stacked
        report.not_carried += [NotCarried(*split) for split in grouped.split]
        run.apply_metadata()
        run.restore_albums(manifests)
        run.archive()
    except PpsyncError as exc:
        report.error, report.exit_code = redact(str(exc)), exc.exit_code
        report.error_type = type(exc).__name__
        log.error("restore failed", error=report.error, exit_code=exc.exit_code)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (see cli.main)
        report.error, report.exit_code = INTERRUPTED, Interrupted.exit_code
        log.error("restore interrupted", exit_code=report.exit_code)
        raise
    finally:
        _take(out, report)  # what the originals step did until it was stopped, if it was
        photos.close()
    for failure in report.failures:
        failure.path, failure.reason = redact(failure.path), redact(failure.reason)
