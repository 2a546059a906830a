"""Who is asking: API keys with permissions, password logins that create sessions, and the
401/403 answers of the real server (``message`` is what tells them apart for people; a
client keys on the status code)."""

from __future__ import annotations

import secrets
import threading
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from tests.fake_immich.http import Request, Response
from tests.fake_immich.model import ApiKey, Generation, Session

_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            500: "Internal Server Error", 429: "Too Many Requests", 503: "Service Unavailable",
            502: "Bad Gateway"}


def error(status: int, message: str | list[str]) -> Response:
    """The NestJS error body: ``message`` (a list for validation errors), ``error``,
    ``statusCode``, ``correlationId``."""
    body = {"message": message, "error": _REASONS.get(status, "Error"), "statusCode": status,
            "correlationId": secrets.token_hex(4)}
    return json_response(status, body)


def json_response(status: int, body: Any) -> Response:
    """Compact UTF-8 JSON, as Node's ``JSON.stringify`` writes it (non-ASCII unescaped)."""
    return Response(status, [("Content-Type", "application/json; charset=utf-8")],
                    orjson.dumps(body))


class Problem(Exception):
    """Raised in route code to answer with a prepared response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


@dataclass
class Principal:
    key: ApiKey | None
    session: Session | None

    def grants(self, permission: str) -> bool:
        # A password session may do everything its user may; a key only what it holds.
        return self.key is None or self.key.grants(permission)


class Auth:
    def __init__(self, gen: Generation, email: str, password: str) -> None:
        self.gen = gen
        self.email = email
        self.password = password
        self.user_id = str(uuid.uuid4())
        self.name = "Fake User"
        self.lock = threading.Lock()
        self.keys: dict[str, ApiKey] = {}
        self.sessions: dict[str, Session] = {}
        self.logins = 0
        self.logouts = 0
        self.token_uses: dict[str, int] = {}
        self.expire_tokens_after = 0

    def user_json(self) -> dict[str, Any]:
        """The user as ``owner`` of an asset and in ``albumUsers`` (v3.1.0, findings i, k)."""
        return {"id": self.user_id, "email": self.email, "name": self.name,
                "profileImagePath": "", "avatarColor": "gray",
                "profileChangedAt": "2024-01-01T00:00:00.000000+00:00"}

    def add_key(self, permissions: list[str] | tuple[str, ...] = ("all",),
                name: str = "ppsync") -> ApiKey:
        key = ApiKey(str(uuid.uuid4()), name, secrets.token_urlsafe(32), frozenset(permissions))
        with self.lock:
            self.keys[key.secret] = key
        return key

    def login(self, email: str, password: str, device: str, now: Any) -> Session | None:
        with self.lock:
            if email.lower() != self.email.lower() or password != self.password:
                return None
            self.logins += 1
            session = Session(str(uuid.uuid4()), secrets.token_urlsafe(32), device, now)
            self.sessions[session.token] = session
            return session

    def logout(self, principal: Principal) -> None:
        with self.lock:
            if principal.session is not None:
                self.sessions.pop(principal.session.token, None)
                self.logouts += 1

    def authenticate(self, req: Request) -> Principal:
        """The credentials of a request, or a 401 ``Problem`` in the real server's words."""
        key_secret = req.header("x-api-key") or req.query.get("apiKey", "")
        bearer = ""
        scheme, _, value = req.header("authorization").partition(" ")
        if scheme.lower() == "bearer":
            bearer = value.strip()
        bearer = bearer or req.header("x-immich-user-token")
        with self.lock:
            if key_secret:
                key = self.keys.get(key_secret)
                if key is None:
                    raise Problem(error(401, "Invalid API key"))
                return Principal(key, None)
            if bearer:
                session = self.sessions.get(bearer)
                uses = self.token_uses.get(bearer, 0) + 1
                self.token_uses[bearer] = uses
                if session is not None and self.expire_tokens_after and \
                        uses > self.expire_tokens_after:
                    del self.sessions[bearer]  # expired: the session is gone server-side
                    session = None
                if session is None:
                    raise Problem(error(401, "Invalid user token"))
                return Principal(None, session)
        raise Problem(error(401, "Authentication required"))

    def require(self, principal: Principal, permission: str, *, always: bool = False) -> None:
        """403 unless the key holds ``permission``. v1.135 checks only album, tag, stack and
        key endpoints (``always``); v2.5.6 and v3 check every endpoint."""
        if not (always or self.gen.checks_all_permissions):
            return
        if not principal.grants(permission):
            raise Problem(error(403, f"Missing required permission: {permission}"))
