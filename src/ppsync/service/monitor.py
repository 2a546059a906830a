"""Telling people how passes go: Prometheus metrics, /healthz, ping URLs and notifications.

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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ppsync.config import MonitorConfig
from ppsync.logs import get_logger
from ppsync.models import RunReport
from ppsync.redact import redact
from ppsync.report import summary_lines
from ppsync.service.health import Health

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
        self.reachable = Gauge("ppsync_server_reachable",
                               "1 if the last pass reached and logged in to PhotoPrism",
                               registry=r)

    def record(self, report: RunReport, files: int, size: int) -> None:
        self.files.set(files)
        self.bytes.set(size)
        self.downloaded.inc(report.downloaded)
        self.moved.inc(report.moved)
        self.removed.inc(report.trashed + report.deleted)
        self.failed.inc(report.failed)
        self.passes.labels("ok" if report.exit_code == 0 else f"exit{report.exit_code}").inc()
        self.duration.set(report.duration)
        self.reachable.set(0 if report.exit_code == 3 else 1)
        if report.exit_code == 0:
            self.last_success.set(report.finished_at)


class MonitorServer:
    """``/metrics`` and ``/healthz`` on ``[monitor] listen``, served from a daemon thread."""

    def __init__(self, listen: str, metrics: Metrics, health: Callable[[], Health]) -> None:
        host, _, port = listen.rpartition(":")

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self._send(200, CONTENT_TYPE_LATEST, generate_latest(metrics.registry))
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


def _summary(report: RunReport) -> str:
    return redact("\n".join(summary_lines(report)))


class Alerts:
    """Ping URLs around each pass; notify on failure and on recovery (state changes only)."""

    def __init__(self, config: MonitorConfig) -> None:
        self._config = config
        self._was_ok: bool | None = None

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
            self._call("ping", "POST", url, content=_summary(report).encode())
        previous, self._was_ok = self._was_ok, ok
        if not ok and previous is not False:
            self._notify("failure", report)
        elif ok and previous is False:
            self._notify("recovery", report)

    def _notify(self, event: str, report: RunReport) -> None:
        if not (self._config.notify_url or self._config.notify_command):
            return  # nothing to notify: no "notifying" line that promises a message
        summary = _summary(report)
        log.info("notifying", notify_event=event)
        if self._config.notify_url:
            payload = {"event": event, "exit_code": report.exit_code, "run_id": report.run_id,
                       "summary": summary}
            self._call("notification", "POST", self._config.notify_url,
                       content=json.dumps(payload).encode(),
                       headers={"Content-Type": "application/json"})
        if self._config.notify_command:
            env_extra = {"PPSYNC_EVENT": event, "PPSYNC_EXIT_CODE": str(report.exit_code)}
            try:
                subprocess.run(shlex.split(self._config.notify_command), input=summary,
                               text=True, timeout=60, check=False,
                               env={**os.environ, **env_extra})
            except (OSError, subprocess.SubprocessError) as exc:
                log.warning("notification command failed", error=str(exc))
