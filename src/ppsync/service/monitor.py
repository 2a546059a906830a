"""Telling people how passes go: Prometheus metrics, /healthz, the status page (/ and
/status.json, ``service.status_page``), ping URLs and notifications.

Nothing here can fail a pass: every network call has a short timeout, and its failure is a
logged warning.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ppsync.config import MonitorConfig
from ppsync.logs import get_logger
from ppsync.models import RunReport
from ppsync.redact import redact
from ppsync.report import REFUSED, summary_lines
from ppsync.service.health import Health
from ppsync.service.status_page import StatusSources, collect, render_html

log = get_logger("ppsync.monitor")
PING_TIMEOUT = 10.0


class Metrics:
    """The daemon's Prometheus metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.files = Gauge("ppsync_mirror_files", "Originals in the mirror", registry=r)
        self.bytes = Gauge("ppsync_mirror_bytes", "Bytes of originals in the mirror", registry=r)
        self.downloaded = Counter("ppsync_files_downloaded", "Files downloaded", registry=r)
        self.moved = Counter("ppsync_files_moved", "Files moved after a server rename",
                             registry=r)
        self.removed = Counter("ppsync_files_removed", "Files trashed or deleted", registry=r)
        self.failed = Counter("ppsync_files_failed", "Files that failed", registry=r)
        self.passes = Counter("ppsync_passes", "Passes by result", ["result"], registry=r)
        self.duration = Gauge("ppsync_pass_duration_seconds", "Duration of the last pass",
                              registry=r)
        self.last_success = Gauge("ppsync_last_success_timestamp_seconds",
                                  "When the last successful pass ended", registry=r)
        self.pruned = Counter("ppsync_set_aside_pruned_files",
                              "Set-aside items pruned by [retention] or to keep min_free",
                              registry=r)
        self.pruned_bytes = Counter("ppsync_set_aside_pruned_bytes",
                                    "Bytes of set-aside items pruned", registry=r)
        self.aside_files = Gauge("ppsync_set_aside_files",
                                 "Files in .ppsync/trash and .ppsync/replaced", registry=r)
        self.aside_bytes = Gauge("ppsync_set_aside_bytes",
                                 "Bytes in .ppsync/trash and .ppsync/replaced", registry=r)
        self.aside_oldest = Gauge("ppsync_set_aside_oldest_timestamp_seconds",
                                  "When the oldest set-aside item was set aside (0: none)",
                                  registry=r)
        self.waiting = Gauge("ppsync_downloads_waiting_for_room",
                             "Downloads the last pass did not start: [mirror] min_free",
                             registry=r)
        self.reachable = Gauge("ppsync_server_reachable",
                               "1 if the last pass reached and logged in to the server",
                               registry=r)

        # The rolling scrub (``mirror.scrub``).
        self.scrubbed = Counter("ppsync_scrub_files_checked", "Files the scrub re-read",
                                registry=r)
        self.scrubbed_bytes = Counter("ppsync_scrub_bytes_checked", "Bytes the scrub re-read",
                                      registry=r)
        self.damaged = Counter("ppsync_scrub_files_damaged", "Damaged files the scrub found "
                               "(missing, truncated, or not matching their SHA-1)", registry=r)
        self.repaired = Counter("ppsync_scrub_files_repaired", "Damaged files downloaded again",
                                registry=r)
        self.damaged_kept = Gauge("ppsync_scrub_files_damaged_kept", "Damaged files kept as "
                                  "they are after the last pass (the server lacks their bytes)",
                                  registry=r)
        self.cycle_progress = Gauge("ppsync_scrub_cycle_progress", "Share of the mirror re-read "
                                    "in the current scrub cycle (0 to 1)", registry=r)
        self.cycle_done = Gauge("ppsync_scrub_last_cycle_timestamp_seconds", "When the last "
                                "complete scrub cycle ended", registry=r)

    def record(self, report: RunReport, files: int, size: int) -> None:
        self.files.set(files)
        self.bytes.set(size)
        self.downloaded.inc(report.downloaded)
        self.moved.inc(report.moved)
        self.removed.inc(report.trashed + report.deleted)
        self.failed.inc(report.failed)
        self.passes.labels("ok" if report.exit_code == 0 else f"exit{report.exit_code}").inc()
        self.duration.set(report.duration)
        self.pruned.inc(report.pruned)
        self.pruned_bytes.inc(report.pruned_bytes)
        if report.aside_measured:  # a pass stopped before counting leaves the last count
            self.aside_files.set(report.aside_files)
            self.aside_bytes.set(report.aside_bytes)
            self.aside_oldest.set(report.aside_oldest)
        self.waiting.set(report.waiting_for_room)
        # A refusal for lack of permission came from a server that answered and let us in.
        self.reachable.set(0 if report.exit_code == 3 and report.error_type not in REFUSED
                           else 1)
        if report.exit_code == 0:
            self.last_success.set(report.finished_at)
        self.scrubbed.inc(report.scrubbed)
        self.scrubbed_bytes.inc(report.scrubbed_bytes)
        self.damaged.inc(report.damaged)
        self.repaired.inc(report.repaired)
        if report.scrubbed or report.damaged:  # a pass without a scrub leaves them as they were
            self.damaged_kept.set(report.damaged_kept)
            self.cycle_progress.set(report.scrub_progress)
        if report.scrub_cycle_done_at:
            self.cycle_done.set(report.scrub_cycle_done_at)


@dataclass(frozen=True, slots=True)
class StatusPages:
    """The status page's data (/status.json) and its HTML (/)."""

    data: Callable[[], dict[str, Any]]
    html: Callable[[dict[str, Any]], str]


class MonitorServer:
    """``/metrics``, ``/healthz`` and, given ``status``, the status page (``/``) and
    ``/status.json`` on ``[monitor] listen``, served from a daemon thread. Read-only: every
    other method is refused."""

    def __init__(self, listen: str, metrics: Metrics | CollectorRegistry,
                 health: Callable[[], Health], status: StatusSources | None = None, *,
                 pages: StatusPages | None = None) -> None:
        host, _, port = listen.rpartition(":")
        registry = metrics.registry if isinstance(metrics, Metrics) else metrics
        if pages is None and status is not None:
            sources = status
            pages = StatusPages(lambda: collect(sources), render_html)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if pages is not None and path in ("/", "/index.html"):
                    self._send(200, "text/html; charset=utf-8",
                               pages.html(pages.data()).encode())
                elif pages is not None and path == "/status.json":
                    self._send(200, "application/json",
                               json.dumps(pages.data(), sort_keys=True).encode())
                elif self.path == "/metrics":
                    self._send(200, CONTENT_TYPE_LATEST, generate_latest(registry))
                elif self.path == "/healthz":
                    verdict = health()
                    self._send(200 if verdict.ok else 503, "text/plain; charset=utf-8",
                               (("ok: " if verdict.ok else "unhealthy: ") + verdict.reason
                                + "\n").encode())
                else:
                    self._send(404, "text/plain", b"not found\n")

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # scrapes every 15 s would drown the journal

        self._server = ThreadingHTTPServer((host.strip("[]"), int(port)), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="ppsync-monitor")

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _summary(report: RunReport, library: str = "") -> str:
    named = [f"library: {library}"] if library else []
    return redact("\n".join(named + summary_lines(report)))


class Alerts:
    """Ping URLs around each pass; notify on failure and on recovery (state changes only)."""

    def __init__(self, config: MonitorConfig, library: str = "",
                 was_ok: bool | None = None) -> None:
        self._config = config
        self._library = library  # with [libraries]: named in every ping and notification
        self._was_ok = was_ok  # how the last pass went (None: none yet)

    @property
    def was_ok(self) -> bool | None:
        return self._was_ok

    def _call(self, what: str, method: str, url: str, content: bytes = b"",
              headers: dict[str, str] | None = None) -> None:
        try:
            response = httpx.request(method, url, content=content, headers=headers,
                                     timeout=PING_TIMEOUT)
            if not response.is_success:
                log.warning(f"{what} failed", status=response.status_code, url=redact(url))
        except httpx.HTTPError as exc:
            log.warning(f"{what} failed", error=redact(str(exc)), url=redact(url))

    def pass_started(self) -> None:
        if self._config.ping_url:
            self._call("ping", "GET", f"{self._config.ping_url}/start")

    def pass_finished(self, report: RunReport) -> None:
        ok = report.exit_code == 0
        if self._config.ping_url:
            url = self._config.ping_url if ok else f"{self._config.ping_url}/fail"
            self._call("ping", "POST", url, content=_summary(report, self._library).encode())
        previous, self._was_ok = self._was_ok, ok
        if not ok and previous is not False:
            self._notify("failure", report)
        elif ok and previous is False:
            self._notify("recovery", report)
        elif ok and report.damaged:  # repaired, but damage on a backup disk is news
            self._notify("damage", report)

    def _notify(self, event: str, report: RunReport) -> None:
        if not (self._config.notify_url or self._config.notify_command):
            return  # nothing to notify: no "notifying" line that promises a message
        summary = _summary(report, self._library)
        log.info("notifying", notify_event=event)
        if self._config.notify_url:
            payload: dict[str, object] = {"event": event, "exit_code": report.exit_code,
                                          "run_id": report.run_id, "summary": summary}
            if self._library:
                payload["library"] = self._library
            self._call("notification", "POST", self._config.notify_url,
                       content=json.dumps(payload).encode(),
                       headers={"Content-Type": "application/json"})
        if self._config.notify_command:
            env_extra = {"PPSYNC_EVENT": event, "PPSYNC_EXIT_CODE": str(report.exit_code)}
            if self._library:
                env_extra["PPSYNC_LIBRARY"] = self._library
            try:
                subprocess.run(shlex.split(self._config.notify_command), input=summary,
                               text=True, timeout=60, check=False,
                               env={**os.environ, **env_extra})
            except (OSError, subprocess.SubprocessError) as exc:
                log.warning("notification command failed", error=str(exc))
