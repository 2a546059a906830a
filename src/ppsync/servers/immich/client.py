"""The HTTP conversation with one Immich: who we are (an API key or a password login), the
calls under the shared retry policy, 401/403 mapped onto the exception tree, and downloads of
originals resumed with Range.

Auth (immich-api.md §2): a key goes as ``x-api-key`` and is never logged out; a password login
(``POST /auth/login`` → 201 with ``accessToken``) happens once per process, its bearer token is
reused by every pass, and ``close`` logs it out (each login is a device in the user's
settings). A 401 mid-run logs in again once for a password; for a key it is final (exit 3).
A 403 names the missing permission (``Missing required permission: asset.download``); the
message carries it. A missing asset is 400, not 404 (§5).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import structlog

from ppsync.config import ServerConfig
from ppsync.errors import (
    AuthError,
    ConfigError,
    PermissionRefused,
    RemoteFileMissing,
    TransientHTTPError,
)
from ppsync.redact import redact, register_secret
from ppsync.servers.base import DownloadSink
from ppsync.servers.http import (
    TRANSIENT,
    RetryPolicy,
    http_client,
    json_body,
    send,
    status_error,
    stream_into_sink,
)
from ppsync.servers.immich.wire import (
    ServerVersion,
    error_message,
    missing_permission,
    parse_version,
)

log = structlog.get_logger("ppsync.client")


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def permission_error(response: httpx.Response, what: str) -> Exception:
    """Immich's failures by status: 403 names the missing permission, 401 says which
    credential was refused; others as ``status_error``."""
    if response.status_code == 403:
        permission = missing_permission(_body(response))
        if permission:
            return PermissionRefused(f"{what}: the API key lacks the permission {permission} "
                                     "(HTTP 403); add it to the key in Immich's account "
                                     "settings")
        return PermissionRefused(f"{what}: permission denied (HTTP 403): "
                                 f"{redact(error_message(_body(response)))}")
    return status_error(response, what)


class ImmichClient:
    """A conversation with one Immich under ``server`` (url, api_key or username + password).
    Thread-safe for downloads."""

    def __init__(self, server: ServerConfig, transport: httpx.BaseTransport | None = None,
                 *, stop: threading.Event | None = None) -> None:
        self._server = server
        self._policy = RetryPolicy(retries=server.retries, backoff=server.retry_backoff,
                                   outage_wait=server.outage_wait_seconds, url=server.url,
                                   stop=stop)
        self._http = http_client(server, f"{server.url}/api", self._policy, transport)
        self._key = server.api_key.get_secret_value()
        self._password = server.password.get_secret_value()
        for secret in (self._key, self._password):
            register_secret(secret)
        self._token = ""
        self._lock = threading.RLock()
        self.version: ServerVersion | None = None
        self.user: dict[str, Any] = {}
        self.user_id = ""  # whose library this is; "" when a key may not read it (user.read)

    @property
    def uses_key(self) -> bool:
        return bool(self._key)

    @property
    def logged_in(self) -> bool:
        return self.version is not None and (self.uses_key or bool(self._token))

    @property
    def http(self) -> httpx.Client:
        return self._http

    @property
    def policy(self) -> RetryPolicy:
        return self._policy

    def auth_headers(self) -> dict[str, str]:
        return self._headers()

    def relogin_after_401(self, what: str) -> None:
        """After a 401 to a request sent with ``auth_headers``: log in again (a password) or
        fail (a key, exit 3)."""
        if self.uses_key:
            raise AuthError(f"{what}: Immich refused the API key (HTTP 401); check "
                            "server.api_key")
        self._relogin(self._token)

    def _headers(self) -> dict[str, str]:
        if self._key:
            return {"x-api-key": self._key}
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def _send(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        return send(self._http, self._policy, method, path, what, headers=self._headers,
                    **kwargs)

    def call(self, method: str, path: str, what: str, *, accept: tuple[int, ...] = (),
             **kwargs: Any) -> httpx.Response:
        """An authenticated call; a 401 logs a password session in again once, and is final
        for a key. Statuses in ``accept`` come back like successes."""
        token_before = self._token
        response = self._send(method, path, what, **kwargs)
        if response.status_code == 401:
            if self.uses_key:
                raise AuthError(f"{what}: Immich refused the API key (HTTP 401); check "
                                "server.api_key")
            self._relogin(token_before)
            response = self._send(method, path, what, **kwargs)
            if response.status_code == 401:
                raise AuthError(f"{what}: session rejected again right after logging in")
        if not response.is_success and response.status_code not in accept:
            raise permission_error(response, what)
        return response

    def json(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        return json_body(self.call(method, path, what, **kwargs), what)

    # --- login ---------------------------------------------------------------------------------

    def probe(self) -> ServerVersion:
        """Is this an Immich? ``GET /server/ping`` must answer ``{"res": "pong"}``. Raises
        ``ConfigError`` (a wrong kind or URL) otherwise."""
        url = self._server.url
        wrong = (f"server.url: {url} does not answer like an Immich (GET /api/server/ping); "
                 "check server.url, and server.kind (\"photoprism\" for a PhotoPrism)")
        response = send(self._http, self._policy, "GET", "/server/ping", "server ping")
        body = _body(response)
        if response.status_code != 200 or not isinstance(body, dict) or body.get("res") != "pong":
            raise ConfigError(wrong)
        response = send(self._http, self._policy, "GET", "/server/version", "server version")
        if not response.is_success:
            raise ConfigError(wrong)
        return parse_version(json_body(response, "server version"))

    def login(self) -> ServerVersion:
        """Probe, then check the key (``GET /users/me`` when it may) or log in with the
        password once. Raises ``AuthError`` (exit 3) when refused."""
        version = self.probe()
        if not self.uses_key:
            with self._lock:
                if not self._token:
                    self._login()
        me = self._send("GET", "/users/me", "who am I")
        if me.status_code == 401:
            raise AuthError("Immich refused the " + ("API key (HTTP 401); check server.api_key"
                                                     if self.uses_key else "session (HTTP 401)"))
        if me.is_success:
            body = json_body(me, "users/me")
            self.user = body if isinstance(body, dict) else {}
            user_id = self.user.get("id")
            self.user_id = user_id if isinstance(user_id, str) else ""
        elif me.status_code != 403:  # a key without user.read may still mirror
            raise permission_error(me, "who am I")
        self.version = version
        return version

    def _login(self) -> None:
        response = send(self._http, self._policy, "POST", "/auth/login", "logging in",
                        retry_429=False, json={"email": self._server.username,
                                               "password": self._password})
        if response.status_code in (400, 401):
            raise AuthError(f"logging in to Immich as {self._server.username} was refused "
                            f"(HTTP {response.status_code}); check server.username (the "
                            "e-mail) and server.password")
        if not response.is_success:
            raise permission_error(response, "logging in")
        body = json_body(response, "logging in")
        token = body.get("accessToken") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthError("logging in: Immich answered without an access token")
        register_secret(token)
        self._token = token
        log.info("logged in to Immich", user=self._server.username)

    def _relogin(self, token_before: str) -> None:
        with self._lock:
            if self._token == token_before:
                log.info("the session expired; logging in again")
                self._token = ""
                self._login()

    def close(self) -> None:
        """Log out a session we logged in (never a key), then close the connections."""
        with self._lock:
            token, self._token = self._token, ""
        if token and not self.uses_key:
            try:
                send(self._http, self._policy, "POST", "/auth/logout", "logging out",
                     headers=lambda: {"Authorization": f"Bearer {token}"})
            except Exception as exc:  # a failed logout must not fail the run
                log.warning("logging out of Immich failed", error=redact(str(exc)))
        self.version = None
        self._http.close()

    def abort(self) -> None:
        self._policy.abort()
        self._http.close()

    # --- downloads -----------------------------------------------------------------------------

    def download(self, asset_id: str, sink: DownloadSink, *, edited: bool = False) -> str | None:
        """Stream the original of ``asset_id`` into ``sink``, resuming with Range. Returns the
        Last-Modified header. Raises ``RemoteFileMissing`` (400/404: gone).

        ``edited``: its edited rendition (``?edited=true``, v2.5 and later), always whole: the
        server has no hash of it, so bytes from an attempt before a new edit must not be
        resumed. 404 there also means the server has not rendered the edit yet."""
        attempts = self._policy.attempts()
        what = f"downloading the edited version of asset {asset_id}" if edited else \
            f"downloading asset {asset_id}"
        try:
            for attempt in attempts:
                with attempt:
                    if edited:
                        sink.restart()
                    return self._download_once(asset_id, sink, what, edited=edited)
        except TRANSIENT as exc:
            raise attempts.give_up(exc, what) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def may_download(self, asset_id: str) -> bool:
        """Does the server send this (listed) asset's first byte? 400 and 403 say no."""
        with self._stream(asset_id, 0, first_byte=True) as response:
            return response.status_code not in (400, 403)

    @contextmanager
    def _stream(self, asset_id: str, offset: int, first_byte: bool = False,
                edited: bool = False) -> Iterator[httpx.Response]:
        headers = {"Accept-Encoding": "identity", **self._headers()}
        if offset or first_byte:
            headers["Range"] = "bytes=0-0" if first_byte else f"bytes={offset}-"
        params = {"edited": "true"} if edited else None
        with self._http.stream("GET", f"/assets/{asset_id}/original", headers=headers,
                               params=params) as resp:
            yield resp

    def _download_once(self, asset_id: str, sink: DownloadSink, what: str,
                       edited: bool = False) -> str | None:
        offset = sink.offset()
        token_before = self._token
        with self._stream(asset_id, offset, edited=edited) as response:
            status = response.status_code
            if status == 401:
                response.read()
            elif status == 404 and edited:  # NotFoundException("Edited asset media not found")
                raise RemoteFileMissing("the server has not rendered this edit (yet) (HTTP 404); "
                                        "the next pass asks again")
            elif status in (400, 404):
                raise RemoteFileMissing(f"the server no longer has this asset (HTTP {status})")
            elif status == 403:
                response.read()
                raise permission_error(response, what)
            elif status == 416:
                sink.restart()
                raise TransientHTTPError("range not satisfiable; restarting", status)
            elif status == 429 or status >= 500:
                raise TransientHTTPError(f"{what}: HTTP {status}", status)
            elif status not in (200, 206):
                raise RemoteFileMissing(f"unexpected HTTP {status} for a download")
            else:
                return stream_into_sink(response, sink, offset)
        if self.uses_key:
            raise AuthError(f"{what}: Immich refused the API key (HTTP 401)")
        self._relogin(token_before)
        raise TransientHTTPError(f"{what}: logged in again", 401)
