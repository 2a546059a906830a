"""PhotoPrism's downloads: ``GET /dl/<sha1>?t=<download token>`` streamed into the engine's sink,
resumed with Range, the token refreshed once each time the server forgot it (a restart).

A mixin of ``client.PhotoPrismClient`` (which owns the connection, the retry policy and the
token); split out so each module stays readable.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import structlog

from ppsync.errors import AuthError, RemoteFileMissing, TransientHTTPError
from ppsync.redact import redact
from ppsync.servers.base import DownloadSink
from ppsync.servers.http import TRANSIENT, RetryPolicy, stream_into_sink

log = structlog.get_logger("ppsync.client")


class _DownloadTokenRejected(Exception):
    """403 from /dl: the server forgot the token (restart) or it rotated."""


class DownloadsMixin:
    """The downloads of a ``PhotoPrismClient``; the attributes below are the client's."""

    _http: httpx.Client
    _policy: RetryPolicy
    _lock: threading.RLock
    _download_token: str
    _token_generation: int

    def refresh_download_token(self) -> None:
        raise NotImplementedError

    def download(self, sha1: str, sink: DownloadSink) -> str | None:
        """Stream the original with this SHA-1 into ``sink``, resuming with Range.

        Returns the ``Last-Modified`` header (or None). Retries transient failures (timeouts,
        truncated bodies, 429, 5xx) and waits out outages, each new attempt resuming where the
        last stopped; on 403 (after a restart, say) refreshes the download token, once per
        restart: again only after bytes arrived with the refreshed token (a second restart
        during one large file).
        Raises ``RemoteFileMissing`` (404), ``ServerBusy``/``ServerUnreachable`` after retries,
        ``AuthError`` if the token stays invalid.
        """
        refreshed_at: int | None = None  # the sink's offset when the token was last refreshed
        while True:
            generation = self._token_generation
            try:
                return self._download_with_retries(sha1, sink)
            except _DownloadTokenRejected:
                if refreshed_at is not None and sink.offset() <= refreshed_at:
                    raise AuthError("download token rejected again after refreshing it") from None
                refreshed_at = sink.offset()
                with self._lock:
                    stale = generation == self._token_generation
                if stale:
                    log.info("download token rejected; refreshing it")
                    self.refresh_download_token()

    def _download_with_retries(self, sha1: str, sink: DownloadSink) -> str | None:
        attempts = self._policy.attempts()
        try:
            for attempt in attempts:
                with attempt:
                    return self._download_once(sha1, sink)
        except TRANSIENT as exc:
            raise attempts.give_up(exc, f"downloading {sha1}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def _stream(self, sha1: str, offset: int) -> Iterator[httpx.Response]:
        # identity: default Docker setups gzip /dl otherwise, dropping Content-Length and
        # making Range offsets meaningless against the compressed body.
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        with self._http.stream(
            "GET", f"/dl/{sha1}", params={"t": self._download_token}, headers=headers
        ) as response:
            yield response

    def _download_once(self, sha1: str, sink: DownloadSink) -> str | None:
        offset = sink.offset()
        with self._stream(sha1, offset) as response:
            status = response.status_code
            log.debug("download response", url=redact(str(response.url)), status=status)
            if status == 403:
                raise _DownloadTokenRejected()
            if status == 404:
                raise RemoteFileMissing("the server no longer has this file (HTTP 404)")
            if status == 416:
                sink.restart()  # our partial is longer than the file: start over
                raise TransientHTTPError("range not satisfiable; restarting", status)
            if status == 429 or status >= 500:
                raise TransientHTTPError(f"download: HTTP {status}", status)
            if status not in (200, 206):
                raise RemoteFileMissing(f"unexpected HTTP {status} for a download")
            return stream_into_sink(response, sink, offset)
