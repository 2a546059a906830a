"""``ppsync daemon``: sync passes on a schedule (APScheduler 3.x), each followed by an upload pass
when ``[upload]`` is enabled.

One job, never overlapping (``max_instances=1``, ``coalesce=True``). Most passes are change
passes (only what changed since the last clean pass); every ``full_every`` a full walk, the
only pass that may remove files. A failed pass is logged, counted, reported and alerted; the
next one runs on schedule, except that server/auth failures (exit 3) back off exponentially
so PhotoPrism's login limiter is never hammered; until a first pass gets through, a server that
is not up yet is tried again within seconds (at most a minute apart). Cron schedules follow the
local zone (``TZ``) or ``[schedule] timezone``. The upload pass reuses the pass's session; its
failure fails the pass (alerts, metrics, STATUS=) but never backs off or stops the sync.

Signals: SIGTERM/SIGINT stop taking work, give in-flight downloads a few seconds (then close
them; they resume next time) and exit 0; a second SIGINT exits at once. SIGHUP reloads the
config before the next pass. systemd hears READY=1 after the first successful login,
STATUS= after every pass, and WATCHDOG=1 while the main loop lives.
"""

from __future__ import annotations

import ctypes
import gc
import os
import random
import signal
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ppsync.access import access_summary, translate_denied, who
from ppsync.config import Settings, load_config, schedule_zone, zone_name
from ppsync.errors import (
    AuthError,
    ConfigError,
    LockHeld,
    PermissionRefused,
    PpsyncError,
    ServerBusy,
    ServerError,
    ServerUnreachable,
)
from ppsync.inbox.report import UploadReport
from ppsync.inbox.uploader import run_upload
from ppsync.logs import bind_library, get_logger, setup_logging
from ppsync.mirror.guards import record_refused_pass, refused_report
from ppsync.mirror.sync import PassOptions, full_walk_due, run_sync
from ppsync.models import Failure, RunReport
from ppsync.redact import redact
from ppsync.servers import open_server
from ppsync.servers.base import PhotoServer
from ppsync.servers.preflight import preflight
from ppsync.service.health import check_health, schedule_period
from ppsync.service.localzone import zone_label
from ppsync.service.monitor import Alerts, Metrics, MonitorServer
from ppsync.service.sdnotify import notify, watchdog_period
from ppsync.service.status_page import StatusSources
from ppsync.state import State, set_run_origin

log = get_logger("ppsync.daemon")
MAX_BACKOFF = 3600.0
# Until the first pass gets through, a server that is not up yet (PhotoPrism starting next to
# ppsync, migrating its database) is tried again after 2, 4, 8 ... seconds, at most a minute
# apart, instead of waiting a whole interval. Auth failures back off as always.
FIRST_RETRY = 2.0
FIRST_RETRY_MAX = 60.0
# The failures that a server still starting gives (the other exit-3 errors, a refused login or
# an answer ppsync cannot read, will not go away within seconds).
NOT_UP_YET = frozenset({ServerUnreachable.__name__, ServerBusy.__name__})
# The refusals after which the next pass logs in afresh (and so runs the preflight again).
REFRESH_SESSION = frozenset({AuthError.__name__, PermissionRefused.__name__})


def _trigger(settings: Settings) -> Any:
    """Cron expressions follow the local zone (``TZ``) or ``[schedule] timezone``, as a crontab
    does; an interval does not depend on any zone. Raises ``ConfigError`` for a bad ``TZ``.
    The trigger fires on time: ``[schedule] jitter`` is waited once, by the pass itself."""
    schedule = settings.schedule
    if schedule.cron:
        return CronTrigger.from_crontab(schedule.cron, timezone=schedule_zone(schedule))
    return IntervalTrigger(seconds=schedule.interval_seconds, timezone=UTC)


def _zone_for_logs(settings: Settings) -> tzinfo:
    try:
        return schedule_zone(settings.schedule)
    except ConfigError:  # only a cron needs the zone; an interval logs in UTC then
        return UTC


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def needed_paths(settings: Settings) -> dict[str, tuple[Path, str]]:
    """The paths a daemon needs, with what it needs of each (``access.access_summary``)."""
    paths = {"mirror": (settings.mirror.target, "write"),
             "state": (settings.mirror.state_path, "create")}
    server = settings.server
    for name in ("password_file", "api_key_file", "token_file", "client_secret_file",
                 "ca_file"):
        secret = getattr(server, name, None)
        if secret is not None:
            paths[name] = (Path(secret), "read")
    if settings.upload.enabled and settings.upload.inbox is not None:
        paths["inbox"] = (settings.upload.inbox, "write")
    return paths


class PassProgress:
    """Counts and progress at info while a pass runs (the per-file lines are debug in a
    daemon: a first mirror of 100,000 photos must not be 100,000 lines in ``docker logs``)."""

    EVERY = 60.0  # seconds between progress lines

    def __init__(self) -> None:
        self._done = 0
        self._last = time.monotonic()

    def tick(self) -> None:
        self._done += 1
        now = time.monotonic()
        if now - self._last >= self.EVERY:
            self._last = now
            log.info("pass progress", files_done=self._done)


def _find_malloc_trim() -> Any:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


_MALLOC_TRIM = _find_malloc_trim()


def release_memory() -> None:
    """After a pass: collect cycles, then hand the heap pages the pass freed back to the OS.

    Python frees a pass's pages of JSON and file records into glibc's heaps (one per thread that
    allocated: the walker's prefetch, the download workers), and glibc keeps them. Over many
    passes a daemon's RSS crept from ~65 to ~120 MB on a quiet 3,000-photo library, although
    the objects Python holds stayed the same (tracemalloc). ``malloc_trim`` returns them."""
    gc.collect()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


class Daemon:
    """One library's passes. Alone (a config without [libraries]) it runs the whole daemon
    (``run``); in a household (``service.household``) it is one member: ``library`` names it
    in logs, alerts and its job, and the scheduler, the stop event and the slots limiting
    passes at once are the household's."""

    def __init__(self, config_path: Path | None, settings: Settings, *, library: str = "",
                 scheduler: BackgroundScheduler | None = None,
                 stop: threading.Event | None = None,
                 slots: threading.Semaphore | None = None) -> None:
        self._config_path = config_path
        self.settings = settings
        self.library = library
        self._job = f"pass:{library}" if library else "pass"
        self._slots = slots
        self.stop = stop if stop is not None else threading.Event()
        self._reload = threading.Event()
        self._server: PhotoServer | None = None
        self._ready = False
        self._backoff_until = 0.0
        self._backoff = 0.0
        self._got_through = False  # has a pass reached the server and run (exit 0 or 1)?
        self._first_retries = 0
        self.metrics = Metrics()
        self._alerts = Alerts(settings.monitor, library)
        self._scheduler = scheduler if scheduler is not None else BackgroundScheduler(
            timezone=UTC)
        self._interrupts = 0
        self._stopped_by = ""  # the signal that asked the daemon to stop

    # --- signals -----------------------------------------------------------------------------

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self._interrupts += 1
        if signum == signal.SIGINT and self._interrupts > 1:
            os._exit(130)  # a second Ctrl-C: leave now; partial downloads resume next time
        # Nothing here may log: the handler runs on the main thread between two bytecodes,
        # maybe inside the logger's write (its lock held), and logging again there deadlocked
        # a `docker stop` that came just as "daemon started" was written. The main loop says it.
        self._stopped_by = self._stopped_by or signal.Signals(signum).name
        self.stop.set()

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        self._reload.set()

    # --- the job -----------------------------------------------------------------------------

    def run_pass(self) -> RunReport | None:
        """One scheduled pass; never raises (a failure is reported, the daemon goes on)."""
        bind_library(self.library)  # the scheduler's thread: every line names the library
        try:
            try:
                with translate_denied(self.settings.mirror.state_path):
                    return self._run_pass_in_slot()
            except ConfigError as exc:  # a path this uid may not use: one line, retried
                report = refused_report("sync", exc)
                log.error("pass stopped", error=report.error, exit_code=report.exit_code)
                self._after_pass(report)
                return report
        except Exception:  # a bug must not end the daemon: log it, the next pass runs
            log.exception("pass crashed")
            return None

    def _run_pass_in_slot(self) -> RunReport | None:
        """In a household: wait for one of the slots (``[schedule] passes_at_once``), so that
        no more passes run at once than the machine should carry; a stop ends the wait. The
        backoff and the jitter are waited before, never while holding a slot."""
        if self._slots is None:
            return self._run_pass()
        now = self._due()
        if now is None:
            return None
        while not self._slots.acquire(timeout=0.5):
            if self.stop.is_set():
                return None
        try:
            return self._run_pass(now)
        finally:
            self._slots.release()

    def _due(self) -> float | None:
        """When a pass that should run now was due (after ``[schedule] jitter``); None when it
        should not run (stopping, or backing off after a server error)."""
        if self.stop.is_set():
            return None
        now = time.time()
        if now < self._backoff_until:
            log.info("skipping pass: backing off after a server error",
                     seconds_left=round(self._backoff_until - now))
            return None
        jitter = self.settings.schedule.jitter_seconds  # for cron and interval alike
        if jitter and self.stop.wait(random.uniform(0, jitter)):
            return None
        return now

    def _run_pass(self, now: float | None = None) -> RunReport | None:
        if now is None:
            now = self._due()
        if now is None or self.stop.is_set():
            return None
        full = full_walk_due(self.settings, now)
        self._alerts.pass_started()
        options = PassOptions(command="sync", changes_only=not full, stop=self.stop,
                              on_progress=PassProgress().tick)
        command = "sync" if full else "change"
        try:
            try:
                self._log_in()
            except PpsyncError as exc:  # the server is not up, or refuses the login
                record_refused_pass(self.settings.mirror, refused_report(command, exc))
                raise
            report = run_sync(self.settings, replace(options, server=self._server))
        except LockHeld as exc:
            log.warning("pass skipped", reason=str(exc))
            return None
        except PpsyncError as exc:  # stopped before it began (safety stop, config, login)
            report = refused_report(command, exc)
            log.error("pass stopped", error=report.error, exit_code=report.exit_code)
        if self.settings.upload.enabled and report.exit_code not in (ServerError.exit_code, 130):
            report = self._with_upload(report, self._upload_pass())
        self._after_pass(report)
        return report

    def _upload_pass(self) -> UploadReport | None:
        """One upload pass on the pass's session; None when it did not run."""
        if self.stop.is_set():
            return None
        try:
            return run_upload(self.settings, self._server, self.stop)
        except LockHeld as exc:
            log.warning("upload pass skipped", reason=str(exc))
            return None
        except PpsyncError as exc:  # stopped before it began (inbox missing, config)
            now = time.time()
            upload = UploadReport(started_at=now, finished_at=now, error=redact(str(exc)),
                                  exit_code=exc.exit_code)
            log.error("upload pass stopped", error=upload.error, exit_code=upload.exit_code)
            return upload

    @staticmethod
    def _with_upload(report: RunReport, upload: UploadReport | None) -> RunReport:
        """The sync report, failed if the upload failed. A refused or unreachable upload is a
        failure of the pass (exit 1), not a server error: that would back off the sync too."""
        if upload is None or upload.exit_code in (0, 130) or report.exit_code:
            return report
        failures = report.failures + [Failure(f"upload: {f.path}", f.reason)
                                      for f in upload.failures + upload.rejected]
        error = f"upload: {upload.error}" if upload.error else ""
        return replace(report, exit_code=1, error=error, failures=failures)

    def _log_in(self) -> None:
        """Keep one session across passes; tell systemd READY=1 after the first login."""
        if self._server is None:
            self._server = open_server(self.settings.server, stop=self.stop)
        if not self._server.is_open:
            info = self._server.open()
            log.info("logged in", server_version=info.version, user=info.user_name)
            preflight(self._server, self.settings)  # once per session, not per pass
        if not self._ready:
            self._ready = True
            notify("READY=1")
            notify("STATUS=logged in; first pass running")

    def _after_pass(self, report: RunReport) -> None:
        if report.exit_code == ServerError.exit_code:
            # A refused login or token needs a fresh session next time. Anything else keeps
            # the session: a new one would open one more server session (a client's token is
            # never logged out) on every retry.
            if report.error_type in REFRESH_SESSION and self._server is not None:
                self._server.close()
                self._server = None
            if not self._got_through and report.error_type in NOT_UP_YET:
                self._retry_soon()
            else:  # PhotoPrism's login limiter must never be hammered
                self._backoff = min(MAX_BACKOFF, max(self._backoff * 2,
                                                     schedule_period(self.settings.schedule)))
                self._backoff_until = time.time() + self._backoff
                log.warning("backing off after a server error", seconds=round(self._backoff),
                            next_attempt=self._local_time(self._backoff_until))
        elif report.exit_code != 130:
            self._backoff = 0.0
            self._got_through = self._got_through or report.exit_code in (0, 1)
        files, size = self._mirror_totals()
        self.metrics.record(report, files, size)
        if report.exit_code != 130:
            self._alerts.pass_finished(report)
        named = f"{self.library}: " if self.library else ""
        notify(f"STATUS={named}last pass {report.command} exit {report.exit_code}: "
               f"{report.downloaded} downloaded, {report.moved} moved, {report.failed} failed")
        release_memory()

    def _retry_soon(self) -> None:
        """Before the first pass got through: the next attempt in seconds, not an interval."""
        self._first_retries += 1
        delay = min(FIRST_RETRY_MAX, FIRST_RETRY * 2 ** min(self._first_retries - 1, 10))
        at = time.time() + delay
        self._backoff_until = at - 0.5  # scheduled passes before it are skipped
        when = datetime.fromtimestamp(at, UTC)
        job = self._scheduler.get_job(self._job)
        if job is not None and (job.next_run_time is None or job.next_run_time > when):
            self._scheduler.modify_job(self._job, next_run_time=when)
        log.warning("the server is not reachable yet; trying again soon", seconds=delay,
                    next_attempt=self._local_time(at))

    def _local_time(self, timestamp: float) -> str:
        zone = _zone_for_logs(self.settings)
        return datetime.fromtimestamp(timestamp, zone).isoformat(timespec="seconds")

    def _mirror_totals(self) -> tuple[int, int]:
        path = self.settings.mirror.state_path
        try:
            if not State.exists(path):
                return 0, 0
            state = State.open(path)
        except ConfigError:
            return 0, 0
        try:
            return state.count_active(), state.active_bytes()
        finally:
            state.close()

    # --- main loop ---------------------------------------------------------------------------

    def _schedule(self) -> None:
        period = schedule_period(self.settings.schedule)
        self._scheduler.add_job(
            self.run_pass, _trigger(self.settings), id=self._job, replace_existing=True,
            max_instances=1, coalesce=True, misfire_grace_time=int(max(30, period / 2)),
            next_run_time=datetime.now(UTC),
        )

    def _mark_crashed_runs(self) -> None:
        """Runs whose process is gone (the daemon was killed) are finished as crashed."""
        path = self.settings.mirror.state_path
        try:
            if not State.exists(path):
                return
            state = State.open(path)
        except ConfigError as exc:  # every pass says it again, and health reports it
            log.error("cannot open the state", error=str(exc))
            return
        try:
            marked = state.mark_crashed()
        finally:
            state.close()
        if marked:
            log.warning("runs cut short by a crash marked as crashed", runs=marked)

    def _next_run(self) -> datetime | None:
        """When the next pass starts, in the zone the logs use (for the status page)."""
        job = self._scheduler.get_job(self._job)
        when = job.next_run_time if job is not None else None
        return when.astimezone(_zone_for_logs(self.settings)) if when is not None else None

    def _next_scheduled(self, zone: tzinfo) -> str | None:
        """When the schedule fires after the first pass (which runs at start), local time."""
        fire = _trigger(self.settings).get_next_fire_time(None, datetime.now(zone))
        return fire.astimezone(zone).isoformat(timespec="seconds") if fire else None

    def _reload_config(self) -> None:
        self._reload.clear()
        try:
            settings = load_config(self._config_path)
        except ConfigError as exc:
            log.error("config reload failed; keeping the running config",
                      problems=[redact(p) for p in exc.problems])
            return
        setup_logging(settings.log.level, settings.log.format, daemon=True)
        self.take_settings(settings)
        log.info("config reloaded")

    def take_settings(self, settings: Settings) -> None:
        """A reloaded config: a new server gets a new session; the schedule is set again."""
        if settings.server != self.settings.server and self._server is not None:
            self._server.close()
            self._server = None
        self.settings = settings
        # A household's reload (maybe for another library) must not forget that this library
        # is failing: its recovery would never be notified. A single library's daemon keeps
        # its behaviour of old (a reload starts its alerts afresh).
        self._alerts = Alerts(settings.monitor, self.library,
                              self._alerts.was_ok if self.library else None)
        self._schedule()

    def close(self) -> None:
        """Log out of the server (the household calls it once the scheduler stopped)."""
        if self._server is not None:
            self._server.close()
            self._server = None

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; returns the exit code (0 after a clean stop)."""
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)
        set_run_origin("daemon")
        # The first line: who runs ppsync and what it can do with the paths it needs, the
        # question behind most first starts of a container (PUID/PGID, --user, mounts).
        log.info("ppsync running", user=who(), umask=f"{_umask():04o}",
                 **access_summary(needed_paths(self.settings)))
        _trigger(self.settings)  # a bad TZ is a config error before anything starts
        self._mark_crashed_runs()
        server = None
        if self.settings.monitor.listen:
            server = MonitorServer(self.settings.monitor.listen, self.metrics,
                                   lambda: check_health(self.settings),
                                   StatusSources(settings=lambda: self.settings,
                                                 next_run=self._next_run))
            server.start()
            log.info("monitor listening", listen=self.settings.monitor.listen)
        self._schedule()
        self._scheduler.start()
        schedule = self.settings.schedule
        zone = _zone_for_logs(self.settings)
        named = zone_name(zone)
        log.info("daemon started", schedule=f"cron {schedule.cron}" if schedule.cron
                 else f"every {schedule.interval or '15m'}",
                 timezone=named if schedule.timezone else zone_label(zone, named),
                 next_scheduled=self._next_scheduled(zone))
        tick = min(watchdog_period() or 1.0, 1.0)
        while not self.stop.wait(tick):
            notify("WATCHDOG=1")
            if self._reload.is_set():
                self._reload_config()
        log.info("stopping", signal=self._stopped_by)
        notify("STOPPING=1")
        # The running pass sees the stop event between pages and gives downloads
        # executor.STOP_GRACE seconds.
        self._scheduler.shutdown(wait=True)
        if self._server is not None:
            self._server.close()
        if server is not None:
            server.stop()
        log.info("daemon stopped")
        return 0
