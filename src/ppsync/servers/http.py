"""The HTTP boundary every server adapter shares: the connection, the retry policy declared
once, and HTTP failures mapped onto the one exception tree (by status, never by message text).

``http_client`` builds the connection (TLS and CA file, timeouts, user agent, pool, the outage
clock's hook); ``send`` runs one request under the policy; ``status_error`` and ``json_body``
turn answers into ``ppsync.errors`` types. Secrets never reach a log line here: adapters register
them with ``ppsync.redact``, and only redacted URLs are logged.

Two kinds of trouble are retried, only ever for requests that are safe to repeat:

* **Transient failures** (timeouts, 429, 500, a body cut short by a misbehaving server): up to
  ``server.retries`` more attempts with jittered exponential backoff (``server.retry_backoff``).
* **Outages** (connection refused, reset or timing out, a transfer cut mid-way, 502/503/504 from a
  reverse proxy): what a restart or an upgrade of PhotoPrism (or a reboot of the NAS it runs on)
  looks like from outside (about 8 s on a small library, minutes of database migrations on a large
  one). Once the server has answered this client, an outage is waited out for up to
  ``server.outage_wait``, polling every few seconds, and the request then carries on (a download
  resumes with Range). The wait is measured from when the server stopped answering, shared by every
  request of the client, so four downloads and a listing waiting together give up together, after
  one budget, not four. A server that never answered (a wrong URL, a server that is down when
  ppsync starts) gets the ordinary retries only, so such a run fails fast.

A stop request ends any wait at once with ``Interrupted``: the pass's stop event (SIGTERM to the
daemon), ``abort``, or ``SHUTDOWN`` (Ctrl-C or SIGTERM to a one-shot command, which also reaches
waits on other threads than the one the signal interrupts). ``Attempts.give_up`` turns the last
failure into the exception tree: ``ServerUnreachable`` for network failures, ``ServerBusy`` for
statuses.
"""

from __future__ import annotations

import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import IO, Any

import httpx
import orjson
from tenacity import AttemptManager, RetryCallState, Retrying, retry_if_exception_type
from tenacity.wait import wait_random_exponential

from ppsync import __version__
from ppsync.config import ServerConfig
from ppsync.errors import (
    AuthError,
    Interrupted,
    PermissionRefused,
    PpsyncError,
    ServerBusy,
    ServerDataError,
    ServerUnreachable,
    TransientHTTPError,
)
from ppsync.logs import get_logger
from ppsync.servers.abortable import SHUTDOWN as SHUTDOWN  # defined there; used from here
from ppsync.servers.abortable import AbortableBackend, abortable_transport
from ppsync.servers.base import BodyOpener, DownloadSink

log = get_logger("ppsync.retries")

TRANSIENT = (httpx.TransportError, TransientHTTPError)
OUTAGE_STATUSES = frozenset({502, 503, 504})
# A connect that times out is a host that drops packets while it reboots (a NAS), and a pool
# timeout is every connection of ours stuck in such connects: both are an outage too.
OUTAGE_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ReadError,
                 httpx.WriteError, httpx.RemoteProtocolError)
OUTAGE_POLL = 5.0  # at most this long between two attempts while waiting out an outage
MAX_BACKOFF = 60.0
SLEEP_SLICE = 0.2  # how often a wait looks at the stop event (a signal interrupts it anyway)


def is_outage(exc: BaseException | None) -> bool:
    """Does this failure look like the server being down or restarting?"""
    if isinstance(exc, TransientHTTPError):
        return exc.status in OUTAGE_STATUSES
    return isinstance(exc, OUTAGE_ERRORS)


def _describe(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


class OutageClock:
    """Whether the server has answered this client yet, and since when it has stopped
    answering (shared by every request of one client; thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reached = False
        self._since: float | None = None

    def answered(self, response: httpx.Response) -> None:
        """httpx response hook: any answer but a proxy's 502/503/504 means the server is up."""
        if response.status_code in OUTAGE_STATUSES:
            return
        with self._lock:
            self.reached = True
            since, self._since = self._since, None
        if since is not None:
            log.info("the server is answering again", after=_describe(time.monotonic() - since))

    def failed(self, budget: float, error: BaseException | None) -> float:
        """Note an outage failure; returns when the outage began."""
        with self._lock:
            began = self._since is None
            since = self._since = time.monotonic() if self._since is None else self._since
        if began:
            log.warning("the server is not answering; waiting for it to come back",
                        error=str(error), wait_up_to=_describe(budget))
        return since


class RetryPolicy:
    """The policy of one client: build ``attempts()`` for each request."""

    def __init__(self, *, retries: int, backoff: float, outage_wait: float, url: str,
                 stop: threading.Event | None = None) -> None:
        self.retries = retries
        self.backoff = backoff
        self.outage_wait = outage_wait
        self.url = url
        self.clock = OutageClock()
        self.stop = stop or threading.Event()
        self._aborted = threading.Event()
        # The client's connections (``http_client``): abort() shuts them down, which also ends
        # a read blocked on a slow or hung link (closing the client alone does not).
        self.sockets = AbortableBackend()

    def attempts(self) -> Attempts:
        return Attempts(self)

    def abort(self) -> None:
        """End every wait now, and every request on the way (the client is being closed
        under its requests)."""
        self._aborted.set()
        self.sockets.abort_all()

    def stopping(self) -> bool:
        """Has a stop been requested (the pass's stop, ``abort``, or ``SHUTDOWN``)?"""
        return self.stop.is_set() or self._aborted.is_set() or SHUTDOWN.is_set()

    def sleep(self, seconds: float) -> None:
        """Sleep between attempts; raises ``Interrupted`` as soon as a stop is requested."""
        deadline = time.monotonic() + seconds
        while True:
            if self.stopping():
                raise Interrupted("stop requested while waiting to retry a request to the server")
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.stop.wait(min(left, SLEEP_SLICE))


class Attempts:
    """The attempts of one request: ``for attempt in attempts: with attempt: ...``; on the
    final failure, ``raise attempts.give_up(exc, what) from None``."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._backoff = wait_random_exponential(multiplier=policy.backoff, max=MAX_BACKOFF)
        self._judged = 0  # the attempt number the verdict below is for
        self._verdict = (False, 0.0)  # (give up, seconds to sleep before the next attempt)
        self._others = 0  # failures that were not an outage
        self._outage_began: float | None = None
        self.outage_waited = 0.0  # set when the outage budget ran out: since it began
        self._waited_here = 0.0  # of that, how long this request itself waited
        self._retrying = Retrying(
            retry=retry_if_exception_type(TRANSIENT),
            stop=lambda state: self._judge(state)[0],
            wait=lambda state: self._judge(state)[1],
            sleep=policy.sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )

    def __iter__(self) -> Iterator[AttemptManager]:
        return iter(self._retrying)

    def _judge(self, state: RetryCallState) -> tuple[bool, float]:
        """Give up or wait, and how long: computed once per failed attempt (tenacity asks for
        the stop and the wait separately, in an order that changed between versions)."""
        if state.attempt_number == self._judged:
            return self._verdict
        self._judged = state.attempt_number
        exc = state.outcome.exception() if state.outcome is not None else None
        policy, now = self._policy, time.monotonic()
        if policy.stopping():
            # Our own stop cut the request (its sockets shut: "Bad file descriptor"): the
            # server is fine, so this is no outage to wait out or to log as one.
            raise Interrupted("stop requested; the request to the server was cut") from None
        backoff = self._backoff(state)
        if policy.outage_wait > 0 and policy.clock.reached and is_outage(exc):
            shared = policy.clock.failed(policy.outage_wait, exc)
            self._outage_began = self._outage_began or now
            began = min(shared, self._outage_began)
            left = began + policy.outage_wait - now
            if left <= 0:
                self.outage_waited = now - began
                self._waited_here = now - self._outage_began
                self._verdict = (True, 0.0)
            else:
                self._verdict = (False, min(backoff, OUTAGE_POLL, left))
        else:
            self._others += 1
            self._verdict = (self._others > policy.retries, backoff)
        return self._verdict

    def _before_sleep(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        if is_outage(exc) and self._outage_began is not None:
            log.debug("still waiting for the server", attempt=state.attempt_number,
                      error=str(exc))
        else:
            log.warning("retrying", attempt=state.attempt_number, error=str(exc))

    def give_up(self, exc: BaseException, what: str) -> PpsyncError:
        """The error that ends the request, after the last attempt failed with ``exc``."""
        waited = ""
        if self.outage_waited and self._waited_here < 0.5:
            # The outage began before this request (an earlier request or pass waited it
            # out): this one did not wait, and must not say it did.
            waited = (f"; it has not answered for {_describe(self.outage_waited)}, longer "
                      "than server.outage_wait, so this request did not wait again")
        elif self.outage_waited and self.outage_waited - self._waited_here >= 0.5:
            waited = (f"; waited {_describe(self._waited_here)} for it to come back (it has "
                      f"not answered for {_describe(self.outage_waited)}; server.outage_wait)")
        elif self.outage_waited:
            waited = (f"; waited {_describe(self._waited_here)} for it to come back "
                      "(server.outage_wait)")
        if isinstance(exc, TransientHTTPError):
            if self.outage_waited:
                return ServerBusy(f"{what}: the server kept answering HTTP {exc.status}{waited}")
            return ServerBusy(f"{what}: server kept failing ({exc}) after retries")
        if isinstance(exc, httpx.TimeoutException) and not self.outage_waited:
            return ServerUnreachable(f"{what}: timed out after retries")
        return ServerUnreachable(f"{what}: cannot reach {self._policy.url}: {exc}{waited}")


def http_client(server: ServerConfig, base_url: str, policy: RetryPolicy,
                transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The connection pool for one server, with its TLS, timeouts and the policy's outage clock
    listening to every response."""
    verify: ssl.SSLContext | bool = server.verify_tls
    if server.verify_tls and server.ca_file is not None:
        verify = ssl.create_default_context(cafile=str(server.ca_file))
    if server.url.startswith("http://"):
        # Plain HTTP never uses TLS; loading the CA bundle costs ~0.15 s per process.
        verify = False
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    return httpx.Client(
        base_url=base_url,
        timeout=httpx.Timeout(server.timeout, connect=min(server.timeout, 15.0)),
        verify=verify,
        headers={"User-Agent": f"ppsync/{__version__}"},
        limits=limits,
        transport=transport or abortable_transport(policy.sockets, verify=verify, limits=limits),
        event_hooks={"response": [policy.clock.answered]},
    )


Parts = list[tuple[str, tuple[str, IO[bytes], str]]]


@contextmanager
def file_part(field: str, name: str, open_body: BodyOpener) -> Iterator[Parts]:
    """One multipart file part, its body opened anew (``send``'s ``files``)."""
    with open_body() as body:
        yield [(field, (name, body, "application/octet-stream"))]


def send(http: httpx.Client, policy: RetryPolicy, method: str, path: str, what: str, *,
         retry_429: bool = True, headers: Callable[[], dict[str, str]] = dict,
         files: Callable[[], AbstractContextManager[Parts]] | None = None,
         **kwargs: Any) -> httpx.Response:
    """One request under ``policy``: transient failures, outages and (unless ``retry_429`` is
    off, e.g. for a login limiter) 429 are retried. ``headers`` is asked again for every
    attempt (a token may be renewed meanwhile), and so is ``files`` (``file_part``): a retried
    upload streams its file again from the first byte. Returns the final response whatever its
    status; raises ``ServerBusy``/``ServerUnreachable`` when the attempts are spent."""
    attempts = policy.attempts()
    try:
        for attempt in attempts:
            with attempt, (files() if files is not None else nullcontext()) as parts:
                if parts is not None:
                    kwargs["files"] = parts
                response = http.request(method, path, headers=headers(), **kwargs)
                status = response.status_code
                if (status == 429 and retry_429) or status >= 500:
                    raise TransientHTTPError(f"{what}: HTTP {status}", status)
    except TRANSIENT as exc:
        raise attempts.give_up(exc, what) from None
    return response


def status_error(response: httpx.Response, what: str) -> Exception:
    """Map a non-success status to our exception tree (keyed on status, never on text)."""
    status = response.status_code
    if status == 429 or status >= 500:
        return TransientHTTPError(f"{what}: HTTP {status}", status)
    if status == 401:
        return AuthError(f"{what}: not logged in (HTTP 401)")
    if status == 403:
        return PermissionRefused(f"{what}: permission denied (HTTP 403); check the account's "
                                 "role/scope")
    return ServerDataError(f"{what}: unexpected HTTP {status}")


def json_body(response: httpx.Response, what: str) -> Any:
    """The answer's JSON. Raises ``ServerDataError`` when it is not JSON."""
    # orjson: a 1,000-photo merged page is ~1.5 MB of JSON; the stdlib decoder was the largest
    # single cost of a no-op pass. Servers may compress JSON; httpx has decoded it already.
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise ServerDataError(f"{what}: the server did not answer with JSON") from None


DOWNLOAD_CHUNK = 1 << 20  # re-chunking size for encoded bodies


def stream_into_sink(response: httpx.Response, sink: DownloadSink, offset: int) -> str | None:
    """Append a 200/206 download answer to ``sink``, asked from ``offset``; returns its
    Last-Modified. Shared by every adapter: the sink's bytes are what ends up at a final path.

    A 206 that is compressed or starts elsewhere than ``offset`` cannot be appended: the sink
    restarts and ``TransientHTTPError`` asks for a retry. A 200 to a Range request is the whole
    file, so the sink restarts and takes it from the first byte.
    """
    encoded = response.headers.get("Content-Encoding", "identity") != "identity"
    if response.status_code == 206:
        match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
        if encoded or match is None or int(match.group(1)) != offset:
            sink.restart()
            raise TransientHTTPError("unusable partial response; restarting", 206)
    elif offset:
        sink.restart()
    # Raw chunks as they come off the socket when the body is not encoded: no re-chunking
    # copies on the hot path of a large download.
    chunks = response.iter_bytes(DOWNLOAD_CHUNK) if encoded else response.iter_raw()
    for chunk in chunks:
        sink.write(chunk)
    last_modified: str | None = response.headers.get("Last-Modified")
    return last_modified
