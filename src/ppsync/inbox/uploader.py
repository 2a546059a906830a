"""One upload pass: new photos from the inbox go into PhotoPrism, once, and never echo back.

``run_upload`` is what ``ppsync upload`` and the daemon call. Steps: scan the inbox, wait for
files to settle, hash them, skip what the library already has (the mirror's state, earlier
uploads, the server by SHA-1), send the rest (``sender``), confirm every file on the server by
its SHA-1, then keep, move or delete the confirmed ones. The state remembers each inbox file's
outcome, so a second pass sends nothing again and a rejected file is not retried until it
changes. Like ``run_sync`` it never raises for problems of the run itself: they end up in the
returned ``UploadReport``, the state's run history and the logs.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time

from ppsync.config import Settings
from ppsync.errors import INTERRUPTED, ConfigError, Interrupted, PpsyncError, SafetyStop
from ppsync.inbox.report import UploadReport, summary_lines
from ppsync.inbox.sender import send
from ppsync.inbox.upload_pass import UploadPass
from ppsync.lock import TargetLock
from ppsync.logs import bind_run, get_logger, unbind_run
from ppsync.mirror.guards import record_run, refused_report
from ppsync.mirror.identity import ServerIdentity, bind, guard_identity
from ppsync.mirror.sync import guard_target
from ppsync.redact import redact
from ppsync.servers import open_server
from ppsync.servers.base import PhotoServer
from ppsync.servers.preflight import preflight
from ppsync.state import State

__all__ = ["UploadPass", "UploadReport", "run_upload", "summary_lines"]

log = get_logger("ppsync.upload")


def _exit_code(report: UploadReport) -> int:
    if report.exit_code:
        return report.exit_code
    return 1 if report.failures or report.rejected else 0


def run_upload(settings: Settings, server: PhotoServer | None = None,
               stop: threading.Event | None = None) -> UploadReport:
    """Run one upload pass, optionally with an open server to reuse (the daemon's).

    Raises ``ConfigError`` (upload off, inbox or import folder missing), ``SafetyStop`` (mirror
    target missing, or [server] is not the server the mirror follows) and ``LockHeld`` before
    the pass starts; everything after is in the report.
    """
    upload = settings.upload
    if not upload.enabled or upload.inbox is None:
        raise ConfigError("upload.enabled: uploads are off; set enabled = true and an inbox in "
                          "[upload]")
    if not upload.inbox.is_dir():
        raise ConfigError(f"upload.inbox: {upload.inbox} does not exist or is not a folder")
    if upload.mode == "import-folder" and not (upload.import_path and upload.import_path.is_dir()):
        raise ConfigError(f"upload.import_path: {upload.import_path} does not exist or is not a "
                          "folder (is the share mounted?)")
    layout = guard_target(settings.mirror)
    with TargetLock(layout.meta / "lock"):  # the pass writes the mirror's state
        state = State.open(settings.mirror.state_path)
        try:
            _guard_identity(settings, state)
            return _run_locked(settings, state, server, stop or threading.Event())
        finally:
            state.close()


def _guard_identity(settings: Settings, state: State) -> None:
    """What the mirror holds and what earlier passes uploaded is what *its* server has: against
    another server that would skip photos it lacks ("already in the mirror"). Refuse, recorded
    as a refused upload pass, until ``ppsync sync --rebind`` accepts the server."""
    try:
        guard_identity(state, ServerIdentity.configured(settings.server))
    except SafetyStop as exc:
        record_run(state, refused_report("upload", exc))
        raise


def _run_locked(settings: Settings, state: State, server: PhotoServer | None,
                stop: threading.Event) -> UploadReport:
    report = UploadReport(started_at=time.time())
    report.run_id = state.start_run(report.command)
    bind_run(report.run_id, report.command)
    own_server = server is None
    server = server or open_server(settings.server, stop=stop)
    log.info("upload started", inbox=str(settings.upload.inbox), mode=settings.upload.mode)
    try:
        if settings.upload.mode not in server.capabilities.upload_modes:
            raise ConfigError(f"upload.mode: this server does not take {settings.upload.mode!r}")
        if not server.is_open:
            server.open()
            preflight(server, settings)  # once per session: all it lacks, before any work
        identity = ServerIdentity.reached(settings.server, server)
        guard_identity(state, identity)  # the account, now that the session says it
        bind(state, identity)
        run = UploadPass(settings.upload, state, server, report, stop)
        send(run, run.prepare())
    except PpsyncError as exc:
        report.error = redact(str(exc))
        report.error_type = type(exc).__name__
        report.exit_code = exc.exit_code
        log.error("upload failed", error=report.error, exit_code=exc.exit_code)
    except (sqlite3.Error, OSError) as exc:
        report.error = redact(f"{type(exc).__name__}: {exc}")
        report.exit_code = 1
        log.error("upload failed", error=report.error, exit_code=1)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM to a one-shot command (see cli.main)
        report.error = INTERRUPTED
        report.exit_code = Interrupted.exit_code
        log.error("upload interrupted", exit_code=report.exit_code)
        raise
    finally:
        if own_server:
            server.close()
        report.finished_at = time.time()
        report.exit_code = _exit_code(report)
        with contextlib.suppress(sqlite3.Error):
            state.finish_run_payload(report.run_id, report.payload())
        log.info("upload finished", exit_code=report.exit_code, sent=report.sent,
                 confirmed=report.confirmed, duplicates=report.duplicates,
                 rejected=len(report.rejected), failed=len(report.failures),
                 duration=round(report.duration, 2))
        unbind_run()
    return report
