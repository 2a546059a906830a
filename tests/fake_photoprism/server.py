"""``FakePhotoPrism``: the library, auth and routes of the other modules served over
loopback HTTP, with the switches a test flips (settings, faults, going down) and what
it observes (requests, logins, sessions, bytes served)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from tests.fake_photoprism.albums import Albums
from tests.fake_photoprism.auth import Auth, scope_permits
from tests.fake_photoprism.changes import Changes
from tests.fake_photoprism.config import ClientConfig
from tests.fake_photoprism.counts import Counts
from tests.fake_photoprism.downloads import Downloads
from tests.fake_photoprism.edits import PhotoEdits
from tests.fake_photoprism.faults import Outages, _Bucket
from tests.fake_photoprism.http import _Handler, _json_bytes, _Problem, _Request, _Response, _Server
from tests.fake_photoprism.library import Library
from tests.fake_photoprism.model import (
    _EPOCH,
    NEW_VERSION,
    OLD_VERSION,
    FakeAlbum,
    FakeClient,
    FakeFile,
    FakePhoto,
    Faults,
    RateLimits,
    RequestRecord,
    _rand36,
    _Session,
)
from tests.fake_photoprism.search import Search
from tests.fake_photoprism.search_form import SearchForm
from tests.fake_photoprism.sessions import Sessions
from tests.fake_photoprism.times import _go_time
from tests.fake_photoprism.uploads import Uploads
from tests.fake_photoprism.views import Views


class FakePhotoPrism(
    Auth, Sessions, ClientConfig, Outages, Library, Changes, Albums, Counts, SearchForm,
    Search, Views, PhotoEdits, Downloads, Uploads,
):
    """An in-process PhotoPrism look-alike on ``127.0.0.1:<ephemeral port>``.

    Library-building methods are thread-safe. Attributes such as ``readonly``,
    ``upload_enabled``, ``import_dir``, ``import_busy``, ``passcode`` and ``faults`` can be
    changed at any time.
    """

    def __init__(
        self,
        *,
        username: str = "admin",
        password: str = "insecure-pw",
        app_passwords: Iterable[str] = (),
        new_api: bool = False,
        gzip_downloads: bool = False,
        version: str | None = None,
    ) -> None:
        self.username = username
        self.password = password
        self.app_passwords: set[str] = set(app_passwords)
        self.new_api = new_api
        self.gzip_downloads = gzip_downloads
        self.version = version or (NEW_VERSION if new_api else OLD_VERSION)
        self.url = ""

        # Server settings a test may flip.
        self.readonly = False
        self.upload_enabled = True
        self.import_enabled = True
        self.delete_enabled = True
        self.app_passwords_enabled = True  # new_api only: features.appPasswords
        self.passcode: str | None = None  # set to require 2FA for password logins
        self.import_dir: str | None = None
        self.import_busy = False
        # The originals folder on disk that ``POST /index`` reads (None: index finds nothing
        # new; a rescan still touches every photo in the library under the path).
        self.originals_dir: str | None = None
        # PHOTOPRISM_UPLOAD_LIMIT in bytes (None: no limit). A POST body larger than this plus
        # 1 MiB is answered 413 "File too large", like servers since 2026-03.
        self.upload_limit: int | None = None
        # ``MediaFile.CheckType``: a JPEG, PNG, GIF, TIFF, PSD or HEIC whose bytes are not of
        # that type is not imported or indexed (both generations), and a 2026 upload drops it
        # (not counted). Off by default only because most tests send a few bytes as a ".jpg":
        # a test of what restore uploads should turn it on.
        self.check_file_types = False
        self.app_password_deleted = False
        # OAuth2 clients by client id, and the scope of each app password ("*" if not listed).
        self.clients: dict[str, FakeClient] = {}
        self.app_password_scopes: dict[str, str] = {}

        self.faults = Faults()
        self.limits = RateLimits()

        # Observation.
        self.requests: list[RequestRecord] = []
        self.login_attempts = 0
        self.uploaded_names: list[str] = []  # every file name a POST upload carried
        self.token_requests = 0  # POST /oauth/token attempts
        self.unauthorized = 0  # 401 answers to API requests (a token that was not accepted)
        self.bytes_served = 0
        self.download_count = 0

        self._lock = threading.RLock()
        self._in_flight = 0
        self._salt = _rand36(5)
        self._uid_seq = 0
        self._next_photo_id = 1
        self._next_file_id = 1
        self._next_album_id = 1
        self._last_ts = _EPOCH
        self._photos: dict[str, FakePhoto] = {}
        self._files: dict[str, FakeFile] = {}
        self._by_hash: dict[str, list[FakeFile]] = {}
        self._albums: dict[str, FakeAlbum] = {}
        # Labels by their name in lower case: ID, UID, created, name, slug, Priority (as
        # first created).
        self._labels: dict[str, tuple[int, str, datetime, str, str, int]] = {}
        self._row_cache: dict[str, list[FakeFile]] = {}
        self._counts_cache: dict[str, int] | None = None

        # Users, sessions and tokens.
        self.user_uid = self._new_uid("u")
        self.download_token = _rand36(8)
        self.preview_token = _rand36(8)
        self._user_created = self._now()
        self._sessions: dict[str, _Session] = {}
        self._app_sessions: dict[str, _Session] = {}
        self._valid_tokens: set[str] = set()
        self._uploads: dict[tuple[str, str], dict[str, tuple[str, bytes]]] = {}
        self._login_bucket = _Bucket(self.limits.login_burst, self.limits.login_refill_seconds)
        self._auth_bucket = _Bucket(self.limits.auth_burst, self.limits.auth_refill_seconds)

        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._down_until = 0.0  # monotonic time a go_down() outage ends
        self._proxy_status = 0  # answered during a proxy outage; 0: connections are refused
        self._back: threading.Timer | None = None
        self._blackhole: list[socket.socket] = []

    def start(self) -> str:
        """Bind ``127.0.0.1:0``, serve in a daemon thread, and return the site URL."""
        if self._server is not None:
            return self.url
        server = _Server(("127.0.0.1", self._port), _Handler)
        server.fake = self
        self._server = server
        port = self._port = server.server_address[1]
        self.url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-photoprism",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and drop every open connection."""
        if self._back is not None:
            self._back.cancel()
            self._back = None
        self._close_blackhole()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.drop_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakePhotoPrism:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def restart(self, *, keep_sessions: bool = False) -> None:
        """Simulate a server restart on the same port.

        Open connections are dropped, pending uploads and the in-memory download-token map are
        cleared, and (by default) all sessions are forgotten. ``keep_sessions=True`` models the
        real server more closely (sessions live in the database): old bearer tokens keep
        working, but ``/dl`` answers 403 until an authenticated API request loads a session.
        """
        with self._lock:
            if not keep_sessions:
                self._sessions.clear()
            self._app_sessions.clear()
            self._valid_tokens.clear()
            self._uploads.clear()
        self.reset_rate_limits()  # the limiter buckets live in memory too
        if self._server is not None:
            self._server.drop_connections()

    def reset_counters(self) -> None:
        with self._lock:
            self.requests.clear()
            self.login_attempts = 0
            self.token_requests = 0
            self.unauthorized = 0
            self.bytes_served = 0
            self.download_count = 0

    def upload_leftovers(self) -> dict[str, list[str]]:
        """File names waiting in upload folders, by upload token: sent and not imported yet,
        or (2026 servers) left behind by an import that did not take them, e.g. an XMP sent
        without its media file."""
        with self._lock:
            return {token: sorted(folder) for (_, token), folder in self._uploads.items()
                    if folder}

    def wait_idle(self, timeout: float = 10) -> None:
        """Until no request is being handled (a killed client's last request may still run)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._in_flight == 0:
                    return
            time.sleep(0.01)
        raise AssertionError("the fake server is still handling a request")

    def requests_to(self, path_contains: str, method: str | None = None) -> list[RequestRecord]:
        """Recorded requests whose path contains ``path_contains`` (and matching ``method``)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if path_contains in r.path and (method is None or r.method == method)
            ]

    @property
    def session_count(self) -> int:
        with self._lock:
            return len(self._sessions)

    def _record(self, req: _Request) -> None:
        parsed = None
        if "json" in req.header("content-type") and len(req.body) < 65536:
            with contextlib.suppress(ValueError):
                parsed = json.loads(req.body)
        rec = RequestRecord(
            req.method, req.path, dict(req.query), dict(req.headers), len(req.body), time.time(),
            parsed,
        )
        with self._lock:
            self.requests.append(rec)
            self._in_flight += 1

    def _add_bytes(self, n: int) -> None:
        with self._lock:
            self.bytes_served += n

    def _json(
        self,
        status: int,
        obj: Any,
        req: _Request | None = None,
        *,
        indent: int | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> _Response:
        resp = _Response(
            status,
            [("Content-Type", "application/json; charset=utf-8"), *headers],
            _json_bytes(obj, indent),
        )
        if req is not None and self.gzip_downloads and req.accepts_gzip():
            resp.compress = True
        return resp

    def _err(
        self, status: int, message: str, req: _Request | None = None, *, code: int | None = None
    ) -> _Response:
        """An ``i18n.Response`` error body (new servers add ``messageId``)."""
        body: dict[str, Any] = {"code": status if code is None else code, "error": message}
        if self.new_api:
            body["messageId"] = message
        return self._json(status, body, req)

    def _handle(self, req: _Request) -> _Response:
        try:
            return self._route(req)
        except _Problem as problem:
            return problem.response

    def _route(self, req: _Request) -> _Response:
        m, path = req.method, req.path
        if path in ("/health", "/livez", "/healthz", "/readyz") and m == "GET":
            if self.new_api:
                return self._json(200, {"status": "ok", "time": _go_time(datetime.now(UTC))})
            if path != "/health":
                return self._not_found(req)
            return _Response(200, [("Content-Type", "text/plain; charset=utf-8")], b"OK")
        if not path.startswith("/api/v1/"):
            return self._not_found(req)
        rest = path[len("/api/v1") :]
        seg = [unquote(s) for s in rest.strip("/").split("/")] if rest.strip("/") else []
        n = len(seg)
        if m == "OPTIONS" and self.new_api:
            return _Response(204)
        if m == "HEAD":
            return self._not_found(req)

        if rest == "/status" and m == "GET":
            return self._json(200, {"status": "operational"}, req)
        self._check_scope(req, rest)
        if n >= 1 and seg[0] in ("session", "sessions"):
            return self._route_session(req, seg)
        if rest == "/oauth/token" and m == "POST":
            return self._oauth_token(req)
        if rest == "/config" and m == "GET":
            sess = self._session(req)
            # New servers check the config resource: a narrower scope gets the public config.
            allowed = sess is not None and (
                not self.new_api or scope_permits(sess.scope, "config", False))
            return self._json(200, self._config_json(allowed), req)
        if n == 2 and seg[0] == "dl" and m == "GET":
            return self._download(req, seg[1])
        if seg[:1] == ["photos"]:
            return self._route_photos(req, seg)
        if n == 2 and seg[0] == "files" and m == "GET":
            self._require(req)
            with self._lock:
                lst = self._by_hash.get(seg[1])
                if not lst:
                    return self._err(404, "Entity not found", req)
                f = lst[0]
                return self._json(200, self._file_entity_json(f, self._photos[f.photo_uid]), req)
        if seg[:1] == ["albums"]:
            return self._route_albums(req, seg)
        if n == 4 and seg[0] == "users" and seg[2] == "upload" and m in ("POST", "PUT"):
            return self._upload(req, seg[1], seg[3])
        if seg[:1] == ["import"] and m == "POST":
            if not rest.startswith("/import/"):
                return _Response(
                    307,
                    [("Location", "/api/v1/import/"), ("Content-Type", "text/html; charset=utf-8")],
                    b'<a href="/api/v1/import/">Temporary Redirect</a>.\n\n',
                )
            return self._import(req)
        if rest == "/index" and m == "POST":
            return self._index(req)
        if n == 3 and seg[:2] == ["batch", "photos"] and m == "POST":
            return self._batch(req, seg[2])
        if rest == "/batch/albums/delete" and m == "POST":
            return self._batch_albums_delete(req)
        return self._not_found(req)

    def _not_found(self, req: _Request) -> _Response:
        if req.path.startswith("/api/") or "json" in req.header("accept"):
            return self._err(404, "Not found", req)
        return _Response(
            404,
            [("Content-Type", "text/html; charset=utf-8")],
            b"<html><body>404 page not found</body></html>\n",
        )
