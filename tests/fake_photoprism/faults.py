"""What goes wrong on purpose: outages (a restart, a reverse proxy answering 5xx, a black
hole), the rate limiters' buckets, and the fault switches a request consumes."""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class _Bucket:
    """A token bucket like ``golang.org/x/time/rate`` with burst ``burst``."""

    def __init__(self, burst: int, refill_seconds: float) -> None:
        self.burst = float(burst)
        self.refill_seconds = refill_seconds
        self.tokens = float(burst)
        self.last = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        if self.refill_seconds > 0:
            self.tokens = min(self.burst, self.tokens + (now - self.last) / self.refill_seconds)
        self.last = now

    def available(self) -> float:
        self._refill()
        return self.tokens

    def take(self, n: float) -> bool:
        self._refill()
        if self.tokens < n:
            return False
        self.tokens -= n
        return True

    def give(self, n: float) -> None:
        self._refill()
        self.tokens = min(self.burst, self.tokens + n)


class Outages:
    """The faults part of ``FakePhotoPrism`` (a mixin: the state is the fake's)."""

    def reset_rate_limits(self) -> None:
        """Refill both limiter buckets (re-reading ``self.limits``)."""
        with self._lock:
            self._login_bucket = _Bucket(self.limits.login_burst, self.limits.login_refill_seconds)
            self._auth_bucket = _Bucket(self.limits.auth_burst, self.limits.auth_refill_seconds)

    def go_down(self, seconds: float, *, proxy_status: int = 0, blackhole: bool = False) -> None:
        """A restart (or upgrade) taking ``seconds``, like a real one (§h): every transfer in
        flight is cut, and then either connections are refused (the listener really closes) or,
        with ``proxy_status`` (502, 503, 504), a reverse proxy in front answers that status.
        With ``blackhole``, the port answers no connection at all (a rebooting NAS that drops
        packets): a listener whose queue is full, so a connect times out instead of being
        refused. The server comes back on the same port by itself. Sessions live in the database and
        survive; the in-memory download-token map and the rate limiters do not, so ``/dl``
        answers 403 until an authenticated request loads a session. Returns at once."""
        self._begin_outage(seconds, proxy_status)
        if proxy_status:
            if self._server is not None:
                self._server.drop_connections()
            return
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.drop_connections()
            server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
                self._thread = None
        try:
            if blackhole:
                self._open_blackhole()
        finally:  # the server comes back whatever happened while it went
            self._back = threading.Timer(seconds, self._come_back)
            self._back.daemon = True
            self._back.start()

    def _begin_outage(self, seconds: float, proxy_status: int) -> None:
        with self._lock:
            self._valid_tokens.clear()
            self._down_until = time.monotonic() + seconds
            self._proxy_status = proxy_status
        self.reset_rate_limits()

    def _open_blackhole(self) -> None:
        """Listen on the port with a queue of one, and fill it: Linux then drops every SYN."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for attempt in range(50):  # the closed listener may hold the port for a moment
            try:
                listener.bind(("127.0.0.1", self._port))
                break
            except OSError:
                if attempt == 49:
                    raise
                time.sleep(0.05)
        listener.listen(0)
        self._blackhole = [listener]
        # A client's own retry may take the one place in the queue first (a loaded machine):
        # the filler then times out, and the queue is full all the same.
        with contextlib.suppress(OSError):
            self._blackhole.append(socket.create_connection(("127.0.0.1", self._port),
                                                            timeout=1))

    def _close_blackhole(self) -> None:
        for sock in self._blackhole:
            sock.close()
        self._blackhole = []

    def _come_back(self) -> None:
        self._close_blackhole()
        self.start()
        self._back = None

    @property
    def down(self) -> bool:
        """Is a ``go_down`` outage still going on?"""
        with self._lock:
            return time.monotonic() < self._down_until

    def wait_up(self, timeout: float = 30) -> None:
        """Until a ``go_down`` outage is over and the server answers again."""
        deadline = time.monotonic() + timeout
        while self.down or (self._server is None and self._back is not None):
            if time.monotonic() > deadline:
                raise AssertionError("the fake server did not come back")
            time.sleep(0.02)

    def _outage_status(self) -> int:
        """During a ``go_down`` outage: the status a proxy answers, or -1 when connections
        are refused (a request that slips in before the listener closes is reset); else 0."""
        with self._lock:
            if time.monotonic() >= self._down_until:
                return 0
            return self._proxy_status or -1

    def _take_counter(self, name: str) -> bool:
        with self._lock:
            n = int(getattr(self.faults, name))
            if n > 0:
                setattr(self.faults, name, n - 1)
                return True
            return False

    def _take_reset(self, path: str) -> bool:
        """Consume one ``reset_connections`` if this request qualifies."""
        with self._lock:
            if self.faults.reset_path_contains and self.faults.reset_path_contains not in path:
                return False
            return self._take_counter("reset_connections")

    def _take_go_down(self, path: str) -> bool:
        """Consume the ``go_down_at_request`` countdown; True when this request sets off the
        restart (the caller cuts it and takes the server down from another thread)."""
        with self._lock:
            f = self.faults
            if f.go_down_at_request <= 0 or f.go_down_path_contains not in path:
                return False
            f.go_down_at_request -= 1
            if f.go_down_at_request:
                return False
            seconds, status = f.go_down_seconds, f.go_down_proxy_status
            blackhole = f.go_down_blackhole
        self._begin_outage(seconds, status)  # at once: a quick retry must not slip through
        threading.Thread(target=self.go_down, args=(seconds,), daemon=True,
                         kwargs={"proxy_status": status, "blackhole": blackhole}).start()
        return True

    def _take_failure(self, method: str, path: str) -> int | None:
        """Consume one ``fail_next_requests`` if this request qualifies.

        A 429 on a login is, by definition, PhotoPrism's login limiter (not a transient
        condition), so a generic 429 fault spares ``POST /session`` unless
        ``fail_path_contains`` names it explicitly.
        """
        with self._lock:
            f = self.faults
            if f.fail_next_requests <= 0:
                return None
            if f.fail_path_contains and f.fail_path_contains not in path:
                return None
            is_login = method == "POST" and path.rstrip("/") in (
                "/api/v1/session",
                "/api/v1/sessions",
            )
            if is_login and f.fail_status == 429 and not f.fail_path_contains:
                return None
            f.fail_next_requests -= 1
            return f.fail_status
