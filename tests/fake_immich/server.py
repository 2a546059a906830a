"""``FakeImmich``: the library, auth and routes served over loopback HTTP, plus the switches a
test flips (generation, faults, clock, going down) and what it observes (requests, logins,
sessions, bytes served)."""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from datetime import timedelta

from tests.fake_immich.api import Routes
from tests.fake_immich.auth import Auth, Problem, error
from tests.fake_immich.http import Request, Response, Server, http_date, serve, shutdown
from tests.fake_immich.library import Library
from tests.fake_immich.model import GENERATIONS, V1, ApiKey, Faults, Generation, RequestRecord

EMAIL = "admin@example.com"
PASSWORD = "insecure-pw"


def v31_shape(resp: Response) -> Response:
    """(v3.1.0, immich-api.md §10) ``X-Correlation-ID`` (8 characters) on every answer; error
    bodies are ``{"message"}`` only, validation errors (a list of messages here) ``{"message":
    "Validation failed", "errors": [{"code", "path", "message"}]}``."""
    resp.headers.append(("X-Correlation-ID", secrets.token_hex(4)))
    if resp.status < 400 or resp.stream is not None or not resp.body:
        return resp
    try:
        body = json.loads(resp.body)
    except ValueError:
        return resp  # a proxy's HTML page
    if not isinstance(body, dict) or "statusCode" not in body:
        return resp
    message = body.get("message")
    if isinstance(message, list):
        shaped: dict[str, object] = {"message": "Validation failed", "errors": [
            {"code": "custom", "path": [str(m).split(" ", 1)[0]], "message": str(m)}
            for m in message]}
    else:
        shaped = {"message": message}
    resp.body = json.dumps(shaped).encode()
    resp.headers = [(k, v) for k, v in resp.headers if k.lower() != "content-length"]
    return resp


class FakeImmich:
    """An in-process Immich look-alike on ``127.0.0.1:<ephemeral port>``; ``url`` is the site
    URL (the API is under ``url + "/api"``). ``generation`` is "v1.135", "v2.5" or "v3"."""

    def __init__(self, *, generation: str | Generation = V1, email: str = EMAIL,
                 password: str = PASSWORD, trash_days: int = 30) -> None:
        gen = GENERATIONS[generation] if isinstance(generation, str) else generation
        self.gen = gen
        self.faults = Faults()
        self.auth = Auth(gen, email, password)
        self.lib = Library(gen, self.auth.user_id)
        self.routes = Routes(self.lib, self.auth, self.faults, trash_days)
        # A key with every permission, for the test's own helpers (``tests.fake_immich.user``).
        self.admin_key: ApiKey = self.auth.add_key(("all",), "fake-admin")
        self.url = ""
        self.requests: list[RequestRecord] = []
        self.bytes_served = 0
        self._lock = threading.Lock()
        self._in_flight = 0
        self._port = 0
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._down_timer: threading.Timer | None = None
        self._down_until = 0.0  # a restart set off by ``faults.go_down_at_request``
        self._down_status = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> str:
        if self._server is None:
            self._server, self._thread = serve(self, self._port)
            self._port = self._server.server_address[1]
            self.url = f"http://127.0.0.1:{self._port}"
        return self.url

    def stop(self) -> None:
        if self._down_timer is not None:
            self._down_timer.cancel()
        server, self._server = self._server, None
        if server is not None:
            shutdown(server, self._thread)
            self._thread = None

    def __enter__(self) -> FakeImmich:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def go_down(self, seconds: float) -> None:
        """The server goes away (connections refused, open ones cut) and comes back on the same
        port after ``seconds``, with its library and sessions (they live in its database)."""
        with self._lock:
            self._down_until = max(self._down_until, time.monotonic() + seconds)
        self.stop()
        self._down_timer = threading.Timer(seconds, self.start)
        self._down_timer.daemon = True
        self._down_timer.start()

    @property
    def down(self) -> bool:
        """Is a restart (``go_down`` or ``faults.go_down_at_request``) still going on?"""
        with self._lock:
            return time.monotonic() < self._down_until

    def _take_go_down(self, req: Request) -> bool:
        """Consume the ``go_down_at_request`` countdown (lock held); True when this request sets
        off the restart: it is cut, and the outage starts at once (a quick retry must not slip
        through); without a proxy status, the listener really closes from another thread."""
        f = self.faults
        if f.go_down_at_request <= 0 or f.go_down_path_contains not in req.path:
            return False
        f.go_down_at_request -= 1
        if f.go_down_at_request:
            return False
        self._down_until = time.monotonic() + f.go_down_seconds
        self._down_status = f.go_down_proxy_status
        if not f.go_down_proxy_status:
            threading.Thread(target=self.go_down, args=(f.go_down_seconds,), daemon=True).start()
        return True

    # -- switches ----------------------------------------------------------------------------

    @property
    def clock_offset(self) -> timedelta:
        return self.lib.clock_offset

    @clock_offset.setter
    def clock_offset(self, value: timedelta) -> None:
        """Skew the server's clock (``updatedAt`` and the ``Date`` header) from the client's."""
        self.lib.clock_offset = value

    def add_key(self, permissions: tuple[str, ...] | list[str] = ("all",),
                name: str = "ppsync") -> str:
        """A key as the user makes one in the web UI; returns its secret."""
        return self.auth.add_key(permissions, name).secret

    # -- observation -------------------------------------------------------------------------

    @property
    def session_count(self) -> int:
        """Sessions alive: each is a device in the user's settings."""
        with self.auth.lock:
            return len(self.auth.sessions)

    @property
    def logins(self) -> int:
        return self.auth.logins

    @property
    def logouts(self) -> int:
        return self.auth.logouts

    @property
    def download_count(self) -> int:
        return self.routes.download_count

    def requests_to(self, path_contains: str, method: str | None = None) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.requests if path_contains in r.path
                    and (method is None or r.method == method)]

    def sidecar_of(self, asset_id: str) -> bytes | None:
        """The XMP sidecar uploaded with the asset (``sidecarData``), or None."""
        with self.lib.lock:
            asset = self.lib.assets.get(asset_id)
            return asset.sidecar[1] if asset is not None and asset.sidecar else None

    def reset_counters(self) -> None:
        with self._lock:
            self.requests.clear()
            self.bytes_served = 0
        self.routes.download_count = 0

    def wait_idle(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._in_flight == 0:
                    return
            time.sleep(0.01)
        raise AssertionError("the fake Immich is still handling a request")

    # -- the App protocol of http.py ---------------------------------------------------------

    def record(self, req: Request) -> None:
        if req.header("x-api-key") == self.admin_key.secret:
            with self._lock:  # the test's own helpers: not what the client under test did
                self._in_flight += 1
            return
        parsed = None
        if "json" in req.header("content-type") and len(req.body) < 65536:
            with contextlib.suppress(ValueError):
                parsed = json.loads(req.body)
        rec = RequestRecord(req.method, req.path, dict(req.query), dict(req.headers),
                            len(req.body), time.time(), parsed)
        with self._lock:
            self.requests.append(rec)
            self._in_flight += 1

    def done(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def wire_fault(self, req: Request) -> Response | str | None:
        if req.header("x-api-key") == self.admin_key.secret:
            return None  # the test's own helpers never meet a fault
        f = self.faults
        with self._lock:
            if self._take_go_down(req):
                return "reset"
            if time.monotonic() < self._down_until:
                return self._failure(self._down_status) if self._down_status else "reset"
            if f.reset_connections > 0 and (not f.reset_path_contains
                                            or f.reset_path_contains in req.path):
                f.reset_connections -= 1
                return "reset"
            if f.fail_next_requests > 0 and (not f.fail_path_contains
                                             or f.fail_path_contains in req.path):
                f.fail_next_requests -= 1
                return self._failure(f.fail_status)
        return None

    def _failure(self, status: int) -> Response:
        headers = []
        if self.faults.retry_after is not None and status in (429, 503):
            headers.append(("Retry-After", str(self.faults.retry_after)))
        if status in (502, 503, 504):
            # What a reverse proxy in front of Immich says while it restarts.
            title = {502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable",
                     504: "504 Gateway Time-out"}[status]
            html = f"<html><head><title>{title}</title></head><body><center><h1>{title}" \
                   "</h1></center><hr><center>nginx</center></body></html>\r\n"
            return Response(status, [("Content-Type", "text/html"), *headers], html.encode())
        resp = error(status, "Too Many Requests" if status == 429 else "Internal server error")
        resp.headers += headers
        return resp

    def handle(self, req: Request) -> Response:
        self.auth.expire_tokens_after = self.faults.expire_tokens_after
        try:
            resp = self.routes.route(req)
        except Problem as problem:
            resp = problem.response
        if self.gen.seen_live_v31:
            resp = v31_shape(resp)
        else:
            resp.headers.append(("x-immich-cid", secrets.token_hex(4)))
        if req.header("x-api-key") == self.admin_key.secret:
            return resp  # the test's own helpers never meet a fault
        resp.delay = max(resp.delay, self.faults.answer_delay)
        if req.path == "/api/search/metadata":
            resp.delay = max(resp.delay, self.faults.listing_delay)
        if self.faults.truncate_json > 0 and resp.stream is None and resp.body \
                and "json" in dict(resp.headers).get("Content-Type", ""):
            with self._lock:
                self.faults.truncate_json -= 1
            resp.cut_after = len(resp.body) // 2
        return resp

    def http_date(self) -> str:
        return http_date(self.lib.now())

    def add_bytes(self, n: int) -> None:
        with self._lock:
            self.bytes_served += n

    def __repr__(self) -> str:
        return f"FakeImmich({self.gen.name}, {self.url or 'stopped'})"
