"""Who may ask: app passwords (their format and checksum), auth scopes and the resource of
each route, OAuth2 clients, sessions by token (expiry, the download token they load) and
the 401/403 answers."""

from __future__ import annotations

import hashlib
import secrets
import time
import zlib

from tests.fake_photoprism.http import _Problem, _Request, _Response
from tests.fake_photoprism.model import (
    _BASE62,
    _HEX48,
    SESSION_MAX_AGE,
    FakeClient,
    _rand36,
    _Session,
)


def _crc_char(data: bytes) -> str:
    """``checksum.Char``: CRC-32 (IEEE) mod 62 in the base62 charset."""
    return _BASE62[zlib.crc32(data) % 62]


def make_app_password() -> str:
    """Return a new app password in PhotoPrism's format, e.g. ``OXiV72-wTtiL9-d04jO7-X7XP4p``."""
    chars: list[str] = []
    for i in range(26):
        if (i + 1) % 7 == 0:
            chars.append("-")
        else:
            chars.append(secrets.choice(_BASE62))
    body = "".join(chars)
    return body + _crc_char(body.encode())


def is_app_password(s: str, verify_checksum: bool = False) -> bool:
    """``rnd.IsAppPassword``: 27 chars, base62 plus three dashes, optional checksum check."""
    if len(s) != 27:
        return False
    seps = 0
    for ch in s:
        if ch == "-":
            seps += 1
        elif not ("0" <= ch <= "9" or "A" <= ch <= "Z" or "a" <= ch <= "z"):
            return False
    if seps != 3:
        return False
    return not verify_checksum or s[26] == _crc_char(s[:26].encode())


def _is_auth_any(s: str) -> bool:
    return bool(_HEX48.fullmatch(s)) or is_app_password(s)


def scope_permits(scope: str, resource: str, write: bool) -> bool:
    """``acl.ScopePermits`` for the fake: ``*`` allows all, ``read`` alone allows every read,
    otherwise the resource must be listed (``read``/``write`` in the list narrow it further).
    An empty scope is an ordinary user session, which is not scope-checked."""
    words = set(scope.lower().replace(",", " ").split())
    if not words or "*" in words:
        return True
    if words == {"read"}:
        return not write
    if resource not in words:
        return False
    return not (("read" in words and write) or ("write" in words and not write))


def _resource_of(method: str, rest: str) -> str | None:
    """The ACL resource a route under /api/v1 checks (None: not scope-checked here)."""
    first = rest.strip("/").split("/", 1)[0]
    if rest.rstrip("/").endswith("/dl"):
        return None  # downloads check the ?t= token only
    if first in ("session", "sessions"):
        return "sessions" if method == "GET" else None
    if first in ("photos", "batch", "index") and not rest.startswith("/batch/albums"):
        return "photos"
    if first in ("albums", "batch"):
        return "albums"
    if first in ("files", "users", "import"):
        return "files"
    return None


class Auth:
    """The auth part of ``FakePhotoPrism`` (a mixin: the state is the fake's)."""

    def add_client(
        self, scope: str = "photos albums files", *, name: str = "ppsync",
        expires_in: int = 86_400, user: bool = True,
    ) -> FakeClient:
        """``photoprism clients add [--name N] [--scope S] [--expires S] [admin]``: a client id
        (a UID starting with ``c``) and a 32-character alphanumeric secret."""
        with self._lock:
            client = FakeClient(self._new_uid("c"), secrets.token_hex(16), name, scope,
                                expires_in, user)
            self.clients[client.client_id] = client
            return client

    def add_app_password(self, scope: str = "*") -> str:
        """``photoprism auth add --scope S admin``: an app password of the admin."""
        token = make_app_password()
        with self._lock:
            self.app_passwords.add(token)
            self.app_password_scopes[token] = scope
        return token

    def rotate_download_token(self) -> None:
        """Model a password change: new user tokens, other sessions deleted.

        The old token stays valid until a restart, as on the real server.
        """
        with self._lock:
            self.download_token = _rand36(8)
            self.preview_token = _rand36(8)
            self._sessions.clear()

    def _unauthorized(self, req: _Request) -> _Response:
        with self._lock:
            self.unauthorized += 1
        return self._err(401, "Please log in to your account", req)

    @staticmethod
    def _token_of(req: _Request) -> str | None:
        for name in ("x-auth-token", "x-session-id"):
            value = req.header(name).strip()
            if value:
                return value if _is_auth_any(value) else None
        auth = req.header("authorization")
        if auth:
            scheme, _, token = auth.strip().partition(" ")
            token = token.strip()
            if scheme.lower() == "bearer" and token and _is_auth_any(token):
                return token
        return None

    def _session(self, req: _Request) -> _Session | None:
        """``api.Session``: resolve the request's token, consuming the bad-token limiter."""
        token = self._token_of(req)
        if token is None:
            return None
        with self._lock:
            if self._auth_bucket.available() < 1:
                return None
            sess = self._sessions.get(token)
            if sess is not None and sess.app_password is None and (self._expired(sess) or (
                    sess.parent_app_password and sess.parent_app_password not in self.app_passwords
            )):
                del self._sessions[token]
                sess = None
            if sess is None and token in self.app_passwords:
                sess = self._app_sessions.get(token)
                if sess is None:
                    sess = _Session(
                        token=token,
                        id=hashlib.sha256(token.encode()).hexdigest(),
                        ref_id="sess" + _rand36(8),
                        provider="application",
                        scope=self.app_password_scopes.get(token, "*"),
                        expires_in=0,
                        created=time.time(),
                        app_password=token,
                    )
                    self._app_sessions[token] = sess
            if sess is None:
                self._auth_bucket.take(1)
                return None
            sess.requests += 1
            # Loading a session puts the user's tokens into the in-memory map.
            self._valid_tokens.add(self.download_token)
            self._valid_tokens.add(self.preview_token)
            return sess

    def _expired(self, sess: _Session) -> bool:
        """Past its lifetime, or past ``faults.expire_sessions_after`` requests."""
        limit = self.faults.expire_sessions_after
        return bool((limit and sess.requests >= limit) or (
            sess.expires_in and time.time() >= sess.created + sess.expires_in))

    def _require(self, req: _Request) -> _Session:
        sess = self._session(req)
        if sess is None:
            raise _Problem(self._unauthorized(req))
        if sess.app_password is not None and self.new_api and not self.app_passwords_enabled:
            raise _Problem(self._err(403, "Permission denied", req))
        return sess

    def _new_session(self, provider: str, parent: str | None) -> _Session:
        token = secrets.token_hex(24)
        sess = _Session(
            token=token,
            id=hashlib.sha256(token.encode()).hexdigest(),
            ref_id="sess" + _rand36(8),
            provider=provider,
            scope="",
            expires_in=SESSION_MAX_AGE,
            created=time.time(),
            parent_app_password=parent,
        )
        self._sessions[token] = sess
        self._valid_tokens.add(self.download_token)
        self._valid_tokens.add(self.preview_token)
        return sess

    def _check_scope(self, req: _Request, rest: str) -> None:
        """403 for a live session whose scope does not cover the route's resource (looked up
        without side effects; unknown tokens are left to the route, which answers 401)."""
        resource = _resource_of(req.method, rest)
        token = self._token_of(req)
        if resource is None or token is None:
            return
        with self._lock:
            sess = self._sessions.get(token) or self._app_sessions.get(token)
            if sess is not None and sess.app_password is None and self._expired(sess):
                return
            scope = sess.scope if sess is not None else self.app_password_scopes.get(token, "")
        if not scope_permits(scope, resource, req.method != "GET"):
            raise _Problem(self._err(403, "Permission denied", req))
