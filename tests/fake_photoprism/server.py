"""``FakePhotoPrism``: the library, auth and routes of the other modules served over
loopback HTTP, with the switches a test flips (settings, faults, going down) and what
it observes (requests, logins, sessions, bytes served)."""

from __future__ import annotations

import contextlib
import email.message
import hashlib
import json
import os
import posixpath
import socket
import threading
import time
import zlib
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
from tests.fake_photoprism.media import (
    _IMPORTABLE_EXT,
    _NATIVE_EXT,
    _RAW_MIME,
    _SIDECAR_MIME,
    _VIDEO_MIME,
    _ext,
    _related_groups,
    _strip_ext,
    _type_ok,
)
from tests.fake_photoprism.model import (
    _EPOCH,
    _TOKEN_JUNK,
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
from tests.fake_photoprism.views import Views
from tests.fake_photoprism.words import _xmp_fields


class FakePhotoPrism(
    Auth, Sessions, ClientConfig, Outages, Library, Changes, Albums, Counts, SearchForm,
    Search, Views, PhotoEdits, Downloads,
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

    def _upload(self, req: _Request, user_uid: str, raw_token: str) -> _Response:
        sess = self._require(req)
        if user_uid != self.user_uid or not sess.user_bound:
            return self._err(403, "Permission denied", req)
        token = _TOKEN_JUNK.sub("", raw_token)
        key = (sess.ref_id, token)
        if req.method == "POST":
            if self.readonly or not self.upload_enabled:
                return self._err(403, "Not available in read-only mode", req)
            if self.upload_limit is not None and len(req.body) > self.upload_limit + (1 << 20):
                return self._err(413, "File too large", req)
            try:
                parts = _parse_multipart(req.header("content-type"), req.body)
            except ValueError:
                return self._err(400, "Upload failed", req)
            accepted = 0
            with self._lock:
                folder = self._uploads.setdefault(key, {})
                for field_name, filename, data in parts:
                    if field_name != "files" or filename is None:
                        continue
                    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
                    if not base or base in (".", ".."):
                        continue
                    self.uploaded_names.append(base)
                    if self.new_api and (_ext(base) not in _IMPORTABLE_EXT or (
                            self.check_file_types and not _type_ok(base, data))):
                        continue  # rejected silently, not counted
                    folder[base] = (filename, data)
                    accepted += 1
            return self._json(
                200, {"code": 200, "message": f"{accepted} files uploaded in 0 s"}, req
            )
        # PUT: import the upload folder of this session + token, synchronously.
        if self.readonly or not self.import_enabled:
            return self._err(403, "Feature disabled", req)
        if self.new_api and len(req.body) > 256 * 1024:
            return self._err(413, "Request too large", req)
        try:
            form = json.loads(req.body or b"{}")
            albums = [str(a) for a in form.get("albums") or []] if isinstance(form, dict) else []
        except (ValueError, TypeError):
            return self._err(400, "Unable to do that", req)
        with self._lock:
            folder = self._uploads.pop(key, {})
            items = [("", base, data) for base, (_, data) in sorted(folder.items())]
            handled = self._import_items(items, albums)
            if self.new_api:
                # What the import did not take stays in the folder (only an empty folder is
                # removed): seen on 260630, an XMP sent without its media file is never
                # imported and stays; a later upload into the same folder finds it there.
                done = {name for _, name in handled}
                left = {b: v for b, v in folder.items() if b not in done}
                if left:
                    self._uploads[key] = left
        return self._json(200, {"code": 200, "message": "Upload has been processed"}, req)

    def _import(self, req: _Request) -> _Response:
        self._require(req)
        if self.readonly or not self.import_enabled:
            return self._err(403, "Feature disabled", req)
        try:
            form = json.loads(req.body)
            if not isinstance(form, dict):
                raise ValueError
        except ValueError:
            return self._err(400, "Unable to do that", req)
        if self.import_busy or not self.import_dir:
            return self._json(200, {"code": 200, "message": "Import completed in 0 s"}, req)
        sub = str(form.get("path") or "/").strip("/")
        root = os.path.realpath(os.path.join(self.import_dir, sub))
        if not root.startswith(os.path.realpath(self.import_dir)):
            return self._err(400, "Unable to do that", req)
        move = bool(form.get("move"))
        albums = [str(a) for a in form.get("albums") or []]
        items: list[tuple[str, str, bytes]] = []
        sources: dict[tuple[str, str], str] = {}
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for fn in sorted(filenames):
                if fn.startswith("."):
                    continue
                full = os.path.join(dirpath, fn)
                try:
                    with open(full, "rb") as fh:
                        data = fh.read()
                except OSError:
                    continue
                rel = os.path.relpath(dirpath, root)
                items.append((rel, fn, data))
                sources[(rel, fn)] = full
        with self._lock:
            done = self._import_items(items, albums)
        if move:
            for key in done:
                with contextlib.suppress(OSError):
                    os.remove(sources[key])
        return self._json(200, {"code": 200, "message": "Import completed in 0 s"}, req)

    def _index(self, req: _Request) -> _Response:
        """``POST /index {"path", "rescan"}``: index new files under ``originals_dir/path``
        with their own names (related files, same folder and stem, become one photo; content
        the library has at another path is a duplicate, not indexed); a rescan also re-reads
        every photo under the path: its ``updated_at`` moves, a caption whose source is not
        "manual" is replaced from the file's metadata, and a generated title (no source) is
        generated again (photoprism-api.md §d, §h)."""
        self._require(req)
        if self.readonly:
            return self._err(403, "Not available in read-only mode", req)
        try:
            form = json.loads(req.body or b"{}")
            if not isinstance(form, dict):
                raise ValueError
        except ValueError:
            return self._err(400, "Unable to do that", req)
        sub = str(form.get("path") or "/").strip("/")
        if any(part in ("", ".", "..") for part in sub.split("/")) and sub:
            return self._err(400, "Unable to do that", req)
        items: list[tuple[str, str, bytes]] = []
        if self.originals_dir:
            root = os.path.join(self.originals_dir, sub)
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                rel = os.path.relpath(dirpath, self.originals_dir).replace(os.sep, "/")
                rel = "" if rel == "." else rel
                for fn in sorted(filenames):
                    if fn.startswith("."):
                        continue
                    with contextlib.suppress(OSError), open(os.path.join(dirpath, fn), "rb") as fh:
                        items.append((rel, fn, fh.read()))
        with self._lock:
            known = {f.name for f in self._files.values()}
            fresh = [it for it in items if posixpath.join(it[0], it[1]) not in known]
            self._import_items(fresh, [], keep_names=True)
            if form.get("rescan"):
                now = self._now()
                for photo in self._photos.values():
                    if not any(f.root == "/" and (not sub or f.name.startswith(sub + "/"))
                               for f in photo.files):
                        continue
                    photo.updated_at = now
                    self._reindex_metadata(photo)
                self._invalidate()
        return self._json(200, {"code": 200, "message": "Indexing completed in 0 s"}, req)

    def _import_items(
        self, items: Sequence[tuple[str, str, bytes]], albums: Sequence[str],
        keep_names: bool = False,
    ) -> list[tuple[str, str]]:
        """Import (dir, client name, bytes) items; returns the keys handled (imported or
        duplicate). Related files become one photo (``_related_groups``). Files are renamed
        ``YYYY/MM/YYYYMMDD_HHMMSS_<CRC32>.<ext>`` like the upload import, the group's files
        sharing one base name and each keeping its extension, or keep ``dir/name`` with
        ``keep_names`` (indexing originals in place). An XMP sidecar's title, caption and
        dc:subject are read (source "xmp"; dc:subject as keywords on Dec 2024 servers, as
        Details.Subject on 2026 ones). Lock held."""
        now = self._now()
        handled: list[tuple[str, str]] = []
        touched: list[str] = []
        groups = _related_groups(
            (d, name, data) for d, name, data in items
            if _ext(name) in _IMPORTABLE_EXT  # non-media: ignored and left behind
            and (not self.check_file_types or _type_ok(name, data)))  # CheckType
        batch_hashes: set[str] = set()
        for (d, _), members in groups.items():
            new_media: list[tuple[str, bytes, str]] = []
            for name, data in members:
                if _ext(name) in _SIDECAR_MIME:
                    continue
                sha1 = hashlib.sha1(data).hexdigest()
                dup = self._by_hash.get(sha1)
                if dup:
                    handled.append((d, name))
                    if dup[0].photo_uid not in touched:
                        touched.append(dup[0].photo_uid)
                    continue
                if sha1 in batch_hashes:
                    handled.append((d, name))
                    continue
                batch_hashes.add(sha1)
                new_media.append((name, data, sha1))
            if not new_media:
                continue
            new_media.sort(
                key=lambda x: (_ext(x[0]) not in _NATIVE_EXT, _ext(x[0]) in _VIDEO_MIME, x[0])
            )
            main_name, main_data, main_sha1 = new_media[0]
            exts = {_ext(x[0]) for x in new_media}
            if exts & set(_RAW_MIME):
                ptype = "raw"
            elif exts & set(_VIDEO_MIME) and exts - set(_VIDEO_MIME):
                ptype = "live"
            elif exts & set(_VIDEO_MIME):
                ptype = "video"
            elif exts == {"svg"}:
                ptype = "vector"
            elif exts <= {"gif"}:
                ptype = "animated"
            else:
                ptype = "image"
            base = f"{now:%Y/%m}/{now:%Y%m%d_%H%M%S}_{zlib.crc32(main_data):08X}"

            used: set[str] = set()

            def dest(name: str, base: str = base, d: str = d, used: set[str] = used) -> str:
                """``DestinationFilename``: the canonical base and the lower-cased last
                extension; a name already taken gets ``.00001`` before it."""
                if keep_names:
                    return posixpath.join(d, name)
                found, i = f"{base}.{_ext(name)}", 0
                while found in used:
                    i += 1
                    found = f"{base}.{i:05d}.{_ext(name)}"
                used.add(found)
                return found

            taken = {f.name for f in self._files.values() if f.name.startswith(base)}
            suffix = 0
            while any(
                n.startswith(base + ("" if not suffix else f".{suffix}") + ".") for n in taken
            ):
                suffix += 1
            if suffix:
                base = f"{base}.{suffix}"
            photo = self._create_photo(
                title="",
                private=False,
                archived=False,
                type=ptype,
                quality=3,
                taken_at=now,
                original_name=_strip_ext(main_name.rsplit("/", 1)[-1]),
                now=now,
            )
            needs_preview = _ext(main_name) not in _NATIVE_EXT
            main_dest = ""
            for name, data, _sha in new_media:
                f = self._attach_file(
                    photo,
                    dest(name),
                    content=data,
                    path=None,
                    primary=name == main_name and not needs_preview,
                    original_name=name,
                    now=now,
                )
                main_dest = f.name if name == main_name else main_dest
                handled.append((d, name))
            if needs_preview:
                # The JPEG rendered from it: ``<main file name>.jpg`` in the sidecar root
                # (seen on 260630: 2018/09/20180910_031613_19887F1B.heic.jpg).
                self._attach_file(
                    photo,
                    main_dest + ".jpg",
                    content=b"\xff\xd8\xff\xe0 preview of " + main_sha1.encode(),
                    path=None,
                    root="sidecar",
                    primary=True,
                    now=now,
                )
            for name, data in members:
                if _ext(name) in _SIDECAR_MIME:
                    self._attach_file(
                        photo,
                        dest(name),
                        content=data,
                        path=None,
                        sidecar=True,
                        original_name=name,
                        now=now,
                    )
                    handled.append((d, name))
                    if _ext(name) == "xmp":
                        xmp = _xmp_fields(data, self.new_api)
                        self.set_file_metadata(photo.uid, title=xmp.get("title"),
                                               caption=xmp.get("caption"),
                                               keywords=xmp.get("keywords"),
                                               subject=xmp.get("subject"), src="xmp")
            self._reindex_metadata(photo)
            touched.append(photo.uid)
        for album in self._albums_for(albums):
            self._add_members(album, touched)
        self._invalidate()
        return handled


def _parse_multipart(content_type: str, body: bytes) -> list[tuple[str, str | None, bytes]]:
    """Split a multipart/form-data body into (field name, filename, data)."""
    msg = email.message.Message()
    msg["content-type"] = content_type
    if msg.get_content_type() != "multipart/form-data":
        raise ValueError("not multipart")
    boundary = msg.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ValueError("no boundary")
    delim = b"\r\n--" + boundary.encode("latin-1")
    chunks = (b"\r\n" + body).split(delim)
    if len(chunks) < 2:
        raise ValueError("no parts")
    out: list[tuple[str, str | None, bytes]] = []
    for raw in chunks[1:]:
        if raw.startswith(b"--"):
            break
        raw = raw.split(b"\r\n", 1)[1] if b"\r\n" in raw else b""
        head, sep, data = raw.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("bad part")
        part = email.message.Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, colon, value = line.partition(":")
            if colon:
                part[key.strip()] = value.strip()
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        out.append((name if isinstance(name, str) else "", filename, data))
    return out
