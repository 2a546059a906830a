"""``ppsync daemon`` for a household: every library of ``[libraries]`` in one process.

Each library is a ``service.daemon.Daemon`` of its own (session, backoff, alerts, metrics,
schedule) sharing one scheduler, one stop event and one monitor server. How one library cannot
hold up the others:

- each library has its own job on its own schedule (``pass:NAME``); a library whose server is
  down or whose key was revoked backs off alone, a missing disk or a safety stop fails only its
  own pass;
- at most ``[schedule] passes_at_once`` passes run at once (default 2): a first mirror of a big
  library holds one slot for hours, the change passes of the others take turns in the rest;
- a pass's downloads use the library's own ``[mirror] workers``; the limit on slots, not a
  shared pool, is what keeps the machine's load bounded.

``/healthz`` is healthy when every library is and names those that are not; ``/metrics`` labels
every series with ``library``; ``/`` and ``/status.json`` have a block per library.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ppsync.access import access_summary, who
from ppsync.config.libraries import Library, load_household
from ppsync.errors import ConfigError
from ppsync.logs import bind_library, get_logger, setup_logging
from ppsync.redact import redact
from ppsync.service.daemon import Daemon, _trigger, _umask, needed_paths
from ppsync.service.health import Health, check_health
from ppsync.service.monitor import MonitorServer, StatusPages
from ppsync.service.sdnotify import notify, watchdog_period
from ppsync.service.status_page import StatusSources, collect, render_household_html
from ppsync.state import set_run_origin

log = get_logger("ppsync.daemon")
M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Fewer glibc heaps: each thread that allocates gets an arena of its own (up to 8 per
    core), and a household runs several passes' threads at once. Python's objects do not care
    which arena they live in; the daemon's RSS does (``bench_libraries``: see the docs)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to limit
        ctypes.CDLL(None).mallopt(M_ARENA_MAX, arenas)


class LabelledMetrics(Collector):
    """Every library's metrics, each series labelled ``library="NAME"``."""

    def __init__(self, members: dict[str, Daemon]) -> None:
        self._members = members

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for name, member in self._members.items():
            for family in member.metrics.registry.collect():
                merged = families.get(family.name)
                if merged is None:
                    merged = Metric(family.name, family.documentation, family.type,
                                    family.unit)
                    families[family.name] = merged
                for sample in family.samples:
                    merged.add_sample(sample.name, {"library": name, **sample.labels},
                                      sample.value, sample.timestamp, sample.exemplar)
        yield from families.values()


class HouseholdDaemon:
    """One daemon for several libraries; ``run`` until SIGTERM/SIGINT, then exit 0."""

    def __init__(self, config_path: Path | None, libraries: Sequence[Library],
                 chosen: Sequence[str] | None = None) -> None:
        self._config_path = config_path
        self._chosen = list(chosen or [])
        self.stop = threading.Event()
        self._reload = threading.Event()
        first = libraries[0].settings
        self._slots = threading.BoundedSemaphore(first.schedule.passes_at_once)
        self.settings = first  # the household-wide keys: [log], [monitor] listen
        # A thread for every library's job: one waiting for a slot must not keep another's
        # job from being started (and from skipping itself if it is backing off).
        self._scheduler = BackgroundScheduler(
            timezone=UTC, executors={"default": ThreadPoolExecutor(len(libraries) + 2)})
        self.members = {lib.name: Daemon(config_path, lib.settings, library=lib.name,
                                         scheduler=self._scheduler, stop=self.stop,
                                         slots=self._slots) for lib in libraries}
        self.registry = CollectorRegistry()
        self.registry.register(LabelledMetrics(self.members))
        self._stopped_by = ""
        self._interrupts = 0

    # --- what monitoring reads ---------------------------------------------------------------

    def health(self) -> Health:
        """Healthy when every library is; the reason names each library that is not."""
        verdicts = {name: check_health(member.settings) for name, member in self.members.items()}
        bad = {name: verdict for name, verdict in verdicts.items() if not verdict.ok}
        if bad:
            return Health(False, "; ".join(f"library {name}: {verdict.reason}"
                                           for name, verdict in bad.items()))
        return Health(True, f"all {len(verdicts)} libraries healthy ("
                      + ", ".join(verdicts) + ")")

    def status(self) -> dict[str, Any]:
        verdict = self.health()
        libraries = {}
        for name, member in self.members.items():
            sources = StatusSources(settings=partial(getattr, member, "settings"),
                                    next_run=member._next_run)
            libraries[name] = collect(sources)
        return {"healthy": verdict.ok, "health": redact(verdict.reason),
                "libraries": libraries}

    # --- signals -----------------------------------------------------------------------------

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self._interrupts += 1
        if signum == signal.SIGINT and self._interrupts > 1:
            import os

            os._exit(130)
        self._stopped_by = self._stopped_by or signal.Signals(signum).name  # no logging here
        self.stop.set()

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        self._reload.set()

    def _reload_config(self) -> None:
        """SIGHUP: every running library takes its new settings before its next pass. Adding
        or removing a library needs a restart (said in the log)."""
        self._reload.clear()
        try:
            household = load_household(self._config_path)
            libraries = household.select(self._chosen)
        except ConfigError as exc:
            log.error("config reload failed; keeping the running config",
                      problems=[redact(p) for p in exc.problems])
            return
        setup_logging(household.first.log.level, household.first.log.format, daemon=True)
        names = {lib.name for lib in libraries}
        if names != set(self.members):
            log.warning("libraries added or removed: restart the daemon to run them",
                        running=sorted(self.members), configured=sorted(names))
        for lib in libraries:
            member = self.members.get(lib.name)
            if member is not None:
                member.take_settings(lib.settings)
        log.info("config reloaded")

    # --- main loop ---------------------------------------------------------------------------

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)
        set_run_origin("daemon")
        limit_malloc_arenas()  # before the scheduler's threads allocate
        log.info("ppsync running", user=who(), umask=f"{_umask():04o}",
                 libraries=list(self.members), passes_at_once=self.settings.schedule
                 .passes_at_once)
        for name, member in self.members.items():
            bind_library(name)
            log.info("library", **access_summary(needed_paths(member.settings)))
            _trigger(member.settings)  # a bad TZ is a config error before anything starts
            member._mark_crashed_runs()
        import structlog

        structlog.contextvars.unbind_contextvars("library")
        server = None
        if self.settings.monitor.listen:
            server = MonitorServer(self.settings.monitor.listen, self.registry, self.health,
                                   pages=StatusPages(self.status, render_household_html))
            server.start()
            log.info("monitor listening", listen=self.settings.monitor.listen)
        for member in self.members.values():
            member._schedule()
        self._scheduler.start()
        log.info("daemon started", libraries=list(self.members))
        tick = min(watchdog_period() or 1.0, 1.0)
        while not self.stop.wait(tick):
            notify("WATCHDOG=1")
            if self._reload.is_set():
                self._reload_config()
        log.info("stopping", signal=self._stopped_by)
        notify("STOPPING=1")
        self._scheduler.shutdown(wait=True)
        for member in self.members.values():
            member.close()
        if server is not None:
            server.stop()
        log.info("daemon stopped")
        return 0
