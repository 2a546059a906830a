"""The HTTP conversation with one PhotoPrism (see ../shared/photoprism-api.md); with
``downloads`` and ``writes`` (its mixins), the only code that knows PhotoPrism's URLs.

Owns: login (password, configured token, or OAuth2 client credentials) and the session token,
the download token and its refresh, search paging and photo details. Every request goes through
the one retry policy of ``ppsync.servers.http``, where httpx errors and HTTP status codes become
``ppsync.errors`` types. Never logs a password, secret or token: URLs that carry the download
token are logged through ``ppsync.redact``.

Auth rules that keep PhotoPrism's limiter happy (10 failed logins or token requests per IP, then
1 per minute; 60 bad-token requests lock out even valid tokens): one login (or token request) per
401, a second 401 in a row is fatal, a 429 on login is never retried, and neither a configured
token (app password) nor a client's token is ever logged out. A client's token is renewed shortly
before it expires. A token whose scope is narrow (``photos albums files``) may not read
``GET /session`` (403): a client's token, whose scope is known, is never asked for it; an app
password, whose scope is not, is asked once per login and its 403 taken as a narrow scope. The
download token then comes from ``GET /config`` or a search's ``X-Download-Token`` header.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
import structlog

from ppsync.config import ServerConfig
from ppsync.errors import (
    AuthError,
    ConfigError,
    ServerDataError,
)
from ppsync.redact import register_secret
from ppsync.servers.http import TRANSIENT, RetryPolicy, http_client, json_body, send, status_error
from ppsync.servers.photoprism.downloads import DownloadsMixin
from ppsync.servers.photoprism.scopes import scope_permits
from ppsync.servers.photoprism.values import SearchPage, SessionInfo
from ppsync.servers.photoprism.writes import WritesMixin

log = structlog.get_logger("ppsync.client")

_TRANSIENT = TRANSIENT
# A client's access token is renewed this long before it expires (or a tenth of its lifetime).
RENEW_AHEAD = 300.0
_RATE_LIMITED = ("PhotoPrism's login rate limit is exhausted for this address; wait a few "
                 "minutes before trying again")



def _counts(config: Mapping[str, Any]) -> dict[str, int]:
    if config.get("mode") == "public":
        return {}  # the public config (no session, or a scope without "config"): all zeros
    counts = config.get("count")
    if not isinstance(counts, dict):
        return {}
    return {k: v for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool)}


def _int_header(response: httpx.Response, name: str, what: str) -> int:
    value = response.headers.get(name)
    try:
        return int(value) if value is not None else -1
    except ValueError:
        raise ServerDataError(f"{what}: header {name} is not a number") from None


class PhotoPrismClient(DownloadsMixin, WritesMixin):
    """A logged-in conversation with one PhotoPrism server. Thread-safe for downloads.

    ``stop`` is the pass's stop event: a wait for the server (a retry's backoff, an outage)
    ends as soon as it is set.
    """

    def __init__(self, server: ServerConfig, transport: httpx.BaseTransport | None = None,
                 *, stop: threading.Event | None = None) -> None:
        self._server = server
        self._policy = RetryPolicy(retries=server.retries, backoff=server.retry_backoff,
                                   outage_wait=server.outage_wait_seconds, url=server.url,
                                   stop=stop)
        self._http = http_client(server, f"{server.url}/api/v1", self._policy, transport)
        self._lock = threading.RLock()  # relogin holds it while adopting the new session
        self._session_token = server.token.get_secret_value()
        for secret in (self._session_token, server.password.get_secret_value(),
                       server.client_secret.get_secret_value()):
            register_secret(secret)
        self._logged_in_with_password = False
        self._renew_at = 0.0  # monotonic time to renew a client's access token (0: never)
        self._client_scope = ""
        self._client_name = ""
        self._session_hidden = False  # GET /session refused (403): a narrowly scoped token
        self._download_token = ""
        self._token_generation = 0
        self.session: SessionInfo | None = None
        self.server_config: dict[str, Any] = {}

    # --- plumbing ----------------------------------------------------------------------------

    @property
    def _uses_client(self) -> bool:
        return bool(self._server.client_id)

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._session_token}"} if self._session_token else {}

    def _send(
        self, method: str, path: str, what: str, *, retry_429: bool = True, bearer: bool = True,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request with the retry policy (transient failures, outages and, unless told
        not to, 429). Returns the final response whatever its status."""
        return send(self._http, self._policy, method, path, what, retry_429=retry_429,
                    headers=self._auth_headers if bearer else dict, **kwargs)

    def _api(
        self, method: str, path: str, what: str, *, accept: tuple[int, ...] = (),
        errors: Callable[[httpx.Response, str], Exception] = status_error, **kwargs: Any
    ) -> httpx.Response:
        """An authenticated API call: on 401, log in again (or, for a client, get a new token)
        once, then give up (exit 3).

        Statuses in ``accept`` are returned like successes; other failures become ``errors``.
        """
        self._renew_if_due()
        token_before = self._session_token
        response = self._send(method, path, what, **kwargs)
        if response.status_code == 401:
            self._relogin(token_before, what)
            response = self._send(method, path, what, **kwargs)
            if response.status_code == 401:
                raise AuthError(f"{what}: session rejected again right after logging in")
        if not response.is_success and response.status_code not in accept:
            raise errors(response, what)
        self._note_download_token(response)
        return response

    def _relogin(self, token_before: str, what: str) -> None:
        with self._lock:
            if self._session_token != token_before:
                return  # another thread already logged in again
            if self._uses_client:
                log.info("access token rejected; requesting a new one")
                self._request_client_token()
                return
            if not self._server.password.get_secret_value():
                raise AuthError(f"{what}: the configured token was rejected (HTTP 401)")
            log.info("session expired; logging in again")
            self._login_with_password()

    def _renew_if_due(self) -> None:
        """Renew a client's access token shortly before it expires (not after: a request
        with an expired token costs a bad-token limiter slot and a retry)."""
        if not self._renew_at or time.monotonic() < self._renew_at:
            return
        with self._lock:
            if self._renew_at and time.monotonic() >= self._renew_at:
                log.info("access token about to expire; requesting a new one")
                self._request_client_token()

    def _note_download_token(self, response: httpx.Response) -> None:
        token = response.headers.get("X-Download-Token")
        if token and token != self._download_token:
            register_secret(token)
            with self._lock:
                self._download_token = token
                self._token_generation += 1

    # --- session -----------------------------------------------------------------------------

    @property
    def logged_in(self) -> bool:
        return self.session is not None

    def login(self) -> SessionInfo:
        """Authenticate (client credentials, configured token or password login) and fetch
        the download token.

        Raises ``AuthError`` (bad credentials, 2FA, rate limit), ``ServerUnreachable``,
        ``ServerDataError``.
        """
        if self._uses_client:
            self._request_client_token()
            self._load_session(self._client_scope, "client")
        elif self._session_token:
            self._load_session(None, "application")
        else:
            self._login_with_password()
        if not self._download_token:
            self.refresh_download_token()
        assert self.session is not None
        return self.session

    def _check_is_photoprism(self) -> None:
        """After a refused login: is this a PhotoPrism at all? ``GET /status`` (no auth) says
        ``{"status": "operational"}``. Raises ``ConfigError`` naming server.kind otherwise."""
        response = self._send("GET", "/status", "server status", bearer=False)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not (response.is_success and isinstance(body, dict)
                and body.get("status") == "operational"):
            raise ConfigError(f"server.url: {self._server.url} does not answer like a PhotoPrism "
                              "(GET /api/v1/status); check server.url, and server.kind "
                              '("immich" for an Immich)')

    def _login_with_password(self) -> None:
        body = {
            "username": self._server.username,
            "password": self._server.password.get_secret_value(),
        }
        # A 429 here is PhotoPrism's login limiter: retrying would only dig the hole deeper.
        response = self._send("POST", "/session", "logging in", retry_429=False, json=body)
        payload = json_body(response, "login") if response.content else {}
        if not isinstance(payload, dict):
            raise ServerDataError("login: the answer is not a JSON object")
        if response.status_code in (401, 404, 405):
            self._check_is_photoprism()
        if response.status_code == 401:
            if isinstance(payload, dict) and payload.get("code") == 32:
                raise AuthError("login needs a 2FA passcode; create an app password for ppsync "
                                "and set it as server.token")
            raise AuthError(f"login as {self._server.username!r} refused: wrong username or "
                            "password (HTTP 401)")
        if response.status_code == 429:
            raise AuthError(_RATE_LIMITED)
        if not response.is_success:
            raise status_error(response, "logging in")
        # Servers before Jan 2024 only send "id", which is the same token.
        token = payload.get("access_token") or payload.get("id")
        if not isinstance(token, str) or not token:
            raise ServerDataError("login: the answer has no access_token or id")
        register_secret(token)
        self._session_token = token
        self._logged_in_with_password = True
        self._adopt_session(payload, "local", "")

    def _request_client_token(self) -> None:
        """``POST /oauth/token`` with grant ``client_credentials``. The secret goes in a form
        body: the server cannot read it from JSON. Counts against the login limiter like a
        password, so it is never retried on 401 or 429."""
        client_id = self._server.client_id
        what = "requesting an access token"
        form = {"grant_type": "client_credentials", "client_id": client_id,
                "client_secret": self._server.client_secret.get_secret_value()}
        response = self._send("POST", "/oauth/token", what, retry_429=False, bearer=False,
                              data=form)
        status = response.status_code
        if status == 401:
            raise AuthError(f"client {client_id} refused: wrong client_id or client_secret, or "
                            "the client is disabled (HTTP 401)")
        if status == 429:
            raise AuthError(_RATE_LIMITED)
        if status == 404:
            raise AuthError(f"{what}: this PhotoPrism has no OAuth2 token endpoint (HTTP 404); "
                            "client credentials need a release from 2024 or later")
        if status == 403:
            raise AuthError(f"{what}: the server refuses client credentials (HTTP 403; "
                            "public mode?)")
        if not response.is_success:
            raise status_error(response, what)
        payload = json_body(response, what)
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            raise ServerDataError(f"{what}: the answer has no access_token")
        assert isinstance(payload, dict)
        register_secret(token)
        expires_in = payload.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 0.0
        with self._lock:
            self._session_token = token
            self._client_scope = str(payload.get("scope") or "")
            self._client_name = str(payload.get("client_name") or "")
            self._renew_at = (time.monotonic() + lifetime - min(RENEW_AHEAD, lifetime / 10)
                              if lifetime > 0 else 0.0)
        log.info("access token received", client=self._client_name or client_id,
                 scope=self._client_scope, expires_in=int(lifetime))

    def _load_session(self, scope: str | None, provider: str) -> None:
        """Who a token acts for. ``GET /session`` when the scope allows it or is unknown (a
        configured token); a narrow scope gets 403 there, so then the server config, and the
        user from ``server.user_uid``."""
        if scope is None or scope_permits(scope, "sessions", write=False):
            response = self._api("GET", "/session", "checking the session", accept=(403,))
            if response.status_code != 403:
                self._adopt_session(json_body(response, "session"), provider, scope)
                return
            log.info("this token may not read its session (narrow scope); reading the config")
        self._session_hidden = True
        payload = json_body(self._api("GET", "/config", "reading the server config"), "config")
        config = payload if isinstance(payload, dict) else {}
        self._adopt_config(config)
        self.session = SessionInfo(
            user_uid=self._server.user_uid, user_name="",
            server_version=str(config.get("version", "unknown")), provider=provider,
            scope=scope, client_name=self._client_name,
        )

    def _adopt_config(self, config: dict[str, Any]) -> None:
        """Keep the config (library counts, version) and its download token, if it holds a
        real one: a token whose scope lacks ``config`` gets the public config on new servers,
        whose ``"public"`` token is only valid in public mode."""
        self.server_config = config
        token = config.get("downloadToken")
        if isinstance(token, str) and token and (token != "public" or config.get("public")):
            register_secret(token)
            with self._lock:
                self._download_token = token
                self._token_generation += 1

    def _adopt_session(self, payload: Any, default_provider: str, scope: str | None) -> None:
        if not isinstance(payload, dict):
            raise ServerDataError("session: the answer is not a JSON object")
        user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
        config = payload.get("config") if isinstance(payload.get("config"), dict) else {}
        assert isinstance(user, dict) and isinstance(config, dict)
        self._adopt_config(config)
        answered_scope = payload.get("scope")
        self.session = SessionInfo(
            user_uid=str(user.get("UID", "")) or self._server.user_uid,
            user_name=str(user.get("Name", "")),
            server_version=str(config.get("version", "unknown")),
            provider=str(payload.get("provider") or default_provider),
            role=str(user.get("Role", "")),
            scope=answered_scope if isinstance(answered_scope, str) else scope,
            client_name=self._client_name,
        )

    def refresh_download_token(self) -> None:
        """Make the download token valid again and re-read it. A restart empties the server's
        in-memory token map; any authenticated request loads the session back into it. A
        one-row search does that and carries ``X-Download-Token``; ``GET /config`` is asked
        only when the header is missing. Never ``GET /session``: a narrow scope gets 403."""
        what = "refreshing the download token"
        response = self._api("GET", "/photos", what, params={"count": 1, "merged": "true"})
        if not response.headers.get("X-Download-Token"):
            payload = json_body(self._api("GET", "/config", what), what)
            if isinstance(payload, dict):
                self._adopt_config(payload)
        with self._lock:
            self._token_generation += 1  # other downloads that were refused just retry
        if not self._download_token:
            raise AuthError("the server gave no download token; the account or token may lack "
                            "download rights")

    def can_read(self, resource: str) -> bool:
        """Does the server let this session read ``resource`` (photos, albums, files)? For a
        token whose scope cannot be read: one harmless request each, 403 meaning no."""
        probes = {
            "photos": ("/photos", {"count": 1}),
            "albums": ("/albums", {"count": 1, "type": "album"}),
            "files": ("/files/" + "0" * 40, {}),  # 404 (no such file) means allowed
        }
        path, params = probes[resource]
        response = self._api("GET", path, f"trying to read {resource}", accept=(403, 404),
                             params=params)
        return response.status_code != 403

    def fetch_counts(self) -> dict[str, int]:
        """The server's own library totals (``config.count``), for judging a walk; empty when
        the server answers with its public config (a token without the ``config`` scope)."""
        response = self._api("GET", "/config", "reading the server config")
        payload = json_body(response, "config")
        return _counts(payload if isinstance(payload, dict) else {})

    def abort(self) -> None:
        """Close every connection now: in-flight downloads fail at once and stay resumable,
        and every wait for the server ends."""
        self._policy.abort()
        self._http.close()

    def close(self) -> None:
        """Log out password sessions; never a configured token (that would delete an app
        password on the server) nor a client's token (it expires on its own)."""
        try:
            if self._logged_in_with_password and self._session_token and not self._http.is_closed:
                self._http.delete("/session", headers=self._auth_headers(), timeout=5)
        except httpx.HTTPError:
            pass  # logging out is a courtesy; the session expires on its own
        finally:
            self._http.close()

    # --- search ------------------------------------------------------------------------------

    def search_page(self, params: Mapping[str, str | int], offset: int, count: int) -> SearchPage:
        """One page of ``GET /photos``. Raises ``ServerDataError`` on malformed answers."""
        query = {**params, "count": count, "offset": offset}
        response = self._api("GET", "/photos", "listing photos", params=query)
        rows = json_body(response, "listing photos")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ServerDataError("listing photos: the answer is not a list of photos")
        x_count = _int_header(response, "X-Count", "listing photos")
        x_limit = _int_header(response, "X-Limit", "listing photos")
        if x_count < 0:
            raise ServerDataError("listing photos: the answer has no X-Count header")
        return SearchPage(rows=rows, x_count=x_count, x_limit=x_limit if x_limit >= 0 else count,
                          server_date=response.headers.get("Date", ""))

    def albums_page(self, types: Sequence[str], offset: int, count: int) -> SearchPage:
        """One page of ``GET /albums`` (``count`` is required) of the given album types, in
        the server's default order. ``x_count`` is the number of albums in the page."""
        what = "listing albums"
        query: dict[str, str | int] = {"count": count, "offset": offset, "type": "|".join(types)}
        response = self._api("GET", "/albums", what, params=query)
        rows = json_body(response, what)
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ServerDataError(f"{what}: the answer is not a list of albums")
        x_count = _int_header(response, "X-Count", what)
        return SearchPage(rows=rows, x_count=x_count if x_count >= 0 else len(rows),
                          x_limit=count, server_date=response.headers.get("Date", ""))

    def album_members_page(self, album_uid: str, offset: int, count: int) -> SearchPage:
        """One merged search page of the photos in an album (``s=<album uid>``)."""
        return self.search_page({"s": album_uid, "merged": "true"}, offset, count)

    def photo_details(self, photo_uid: str) -> dict[str, Any] | None:
        """``GET /photos/<uid>``: the photo entity with Files (sidecars included), Labels,
        Details and Albums; None when the photo is gone (404)."""
        return self._object_or_none(f"/photos/{photo_uid}", f"reading photo {photo_uid}")

    def _object_or_none(self, path: str, what: str) -> dict[str, Any] | None:
        """GET a JSON object; None when the server answers 404."""
        response = self._api("GET", path, what, accept=(404,))
        if response.status_code == 404:
            return None
        payload = json_body(response, what)
        if not isinstance(payload, dict):
            raise ServerDataError(f"{what}: the answer is not a JSON object")
        return payload
