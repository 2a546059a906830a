"""Connections that a stop can cut at once, even in the middle of a blocked read; and the
watchdog that cuts them a moment after a stop.

Closing an httpx client does not wake a thread blocked in ``recv`` on one of its sockets: a
download stalled on a dead link would hold a stopping ppsync for the whole read timeout (60 s by
default), far past Docker's 10 s before SIGKILL. ``AbortableBackend`` is httpcore's own socket
backend that remembers every open stream; ``abort_all`` shuts their sockets down, which ends
every blocked read and write with an error the caller already treats as a cut connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import typing

import httpcore
import httpx

if typing.TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Iterable

# Set by a one-shot command's SIGINT/SIGTERM handler (``cli.main``): the process is stopping.
# Every wait for the server ends (``servers.http``), and ``StopWatchdog`` cuts the connections.
SHUTDOWN = threading.Event()


class _TrackedStream(httpcore.NetworkStream):
    """A network stream that leaves its backend's registry when closed."""

    def __init__(self, inner: httpcore.NetworkStream, backend: AbortableBackend) -> None:
        self._inner = inner
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        # Shut down before closing: closing alone would not wake a thread blocked reading it
        # (the pool closes connections still in use when the client is closed under them).
        self._backend._forget(self)
        self.shutdown()
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        # The TLS stream takes over the socket; track it in place of the plain one.
        self._backend._forget(self)
        return self._backend._track(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)

    def shutdown(self) -> None:
        sock = self._inner.get_extra_info("socket")
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # already closed by its own thread
                sock.shutdown(socket.SHUT_RDWR)


class AbortableBackend(httpcore.NetworkBackend):
    """httpcore's synchronous socket backend, with ``abort_all``."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()
        self._lock = threading.Lock()
        self._open: set[_TrackedStream] = set()
        self._aborted = False

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        return self._track(self._inner.connect_tcp(host, port, timeout, local_address,
                                                   socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[typing.Any] | None = None,
                            ) -> httpcore.NetworkStream:
        return self._track(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)

    def abort_all(self) -> None:
        """Shut down every open connection now, and every one opened from now on."""
        with self._lock:
            self._aborted = True
            streams = list(self._open)
        for stream in streams:
            stream.shutdown()

    def _track(self, inner: httpcore.NetworkStream) -> _TrackedStream:
        stream = _TrackedStream(inner, self)
        with self._lock:
            self._open.add(stream)
            aborted = self._aborted
        if aborted:  # opened by a thread racing the abort: cut it too
            stream.shutdown()
        return stream

    def _forget(self, stream: _TrackedStream) -> None:
        with self._lock:
            self._open.discard(stream)


def abortable_transport(backend: AbortableBackend, *, verify: ssl.SSLContext | bool,
                        limits: httpx.Limits) -> httpx.HTTPTransport:
    """httpx's own transport, with its connections opened through ``backend``."""
    transport = httpx.HTTPTransport(verify=verify, limits=limits)
    pool = transport._pool
    # httpx takes no network backend; its pool keeps the one it was built with here.
    assert isinstance(pool, httpcore.ConnectionPool)
    pool._network_backend = backend
    return transport


class StopWatchdog:
    """Cuts a pass's connections ``grace`` seconds after its stop event is set, whatever the
    pass is waiting for at that moment: a download, a listing page, an album or sidecar call.

    The pass itself stops taking work at once; this bounds how long a request already on a
    slow or hung link can hold it (the next run resumes downloads with Range). ``finish``
    ends the watch when the pass ended without a stop.
    """

    def __init__(self, stop: threading.Event, abort: Callable[[], None],
                 grace: float) -> None:
        self._stop = stop
        self._abort = abort
        self._grace = grace
        self._finished = threading.Event()
        threading.Thread(target=self._watch, name="ppsync-stop-watchdog", daemon=True).start()

    def finish(self) -> None:
        self._finished.set()

    def _watch(self) -> None:
        # SHUTDOWN: Ctrl-C or SIGTERM to a one-shot command, set before the pass hears of it
        # (its KeyboardInterrupt may first wait for a thread that waits for the server).
        while not (self._stop.wait(0.2) or SHUTDOWN.is_set()):
            if self._finished.is_set():
                return
        # Stopping: even after the pass returned, its threads may still wait on the server
        # (a walk's prefetch), and the process cannot exit until they return.
        time.sleep(self._grace)
        self._abort()
