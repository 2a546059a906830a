"""Logging in and out: ``POST /session`` (passwords, app passwords, 2FA, the login limiter),
``GET``/``DELETE /session``, ``POST /oauth/token`` (client credentials) and the session
and user JSON they answer."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import parse_qs

from tests.fake_photoprism.http import _Request, _Response
from tests.fake_photoprism.model import _UID_RE, MAX_LOGIN_BODY, _Session
from tests.fake_photoprism.times import _go_time


class Sessions:
    """The sessions part of ``FakePhotoPrism`` (a mixin: the state is the fake's)."""

    def _user_json(self) -> dict[str, Any]:
        now = _go_time(self._last_ts)
        d: dict[str, Any] = {
            "ID": 1,
            "UID": self.user_uid,
            "AuthProvider": "local",
            "AuthMethod": "",
            "AuthID": "",
            "Name": self.username,
            "DisplayName": self.username.title(),
            "Email": "",
            "Role": "admin",
            "Attr": "",
            "SuperAdmin": True,
            "CanLogin": True,
            "LoginAt": now,
            "WebDAV": True,
            "BasePath": "",
            "UploadPath": "",
            "CanInvite": True,
            "Thumb": "",
            "ThumbSrc": "",
            "CreatedAt": _go_time(self._user_created),
            "UpdatedAt": now,
        }
        if self.new_api:
            d["Scope"] = ""
        return d

    def _session_json(self, sess: _Session, req: _Request) -> dict[str, Any]:
        expires = sess.expires_in
        if expires:
            expires = max(0, int(sess.created + expires - time.time()))
        return {
            "status": "success",
            "id": sess.token,
            "session_id": sess.id,
            "access_token": sess.token,
            "token_type": "Bearer",
            "expires_in": expires,
            "provider": sess.provider,
            "scope": sess.scope,
            "user": self._user_json() if sess.user_bound else {"UID": "", "Name": ""},
            "data": {"tokens": None, "shares": None},
            "config": self._config_json(True),
        }

    def _oauth_token(self, req: _Request) -> _Response:
        """``POST /api/v1/oauth/token`` with grant ``client_credentials`` (oauth_token.go)."""
        with self._lock:
            self.token_requests += 1
        if req.header("cdn-host"):
            return self._not_found(req)
        invalid = {"error": "invalid credentials", "code": 401, "message": "Invalid credentials"}
        client_id = client_secret = grant = ""
        basic = req.header("authorization")
        if basic.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(basic[6:].strip(), validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                decoded = ""
            client_id, _, client_secret = decoded.partition(":")
            grant = "client_credentials"
        if not (client_id and client_secret):
            if req.header("content-type").lower().startswith("application/json"):
                try:
                    form = json.loads(req.body or b"{}")
                except ValueError:
                    return self._err(400, "Unable to do that", req)
                if not isinstance(form, dict):
                    return self._err(400, "Unable to do that", req)
                fields = {str(k): str(v) for k, v in form.items()}
                if not self.new_api:
                    # Dec 2024: the form's JSON tag for the secret is misspelled, so a JSON
                    # body never carries it (fixed in later servers).
                    fields.pop("client_secret", None)
            else:
                parsed = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
                fields = {k: v[0] for k, v in parsed.items()}
            client_id = fields.get("client_id", "")
            client_secret = fields.get("client_secret", "")
            grant = fields.get("grant_type", "") or "client_credentials"
        # form.Validate() runs before the limiter: malformed credentials cost nothing.
        if grant != "client_credentials" or not _UID_RE.fullmatch(client_id) or (
                not client_id.startswith("c")) or not client_secret.isalnum():
            return self._json(401, invalid, req)
        with self._lock:
            if not self._login_bucket.take(1) or self._auth_bucket.available() < 1:
                return self._json(429, {"error": "rate limit exceeded", "code": 429}, req)
            client = self.clients.get(client_id)
            if client is None or not client.enabled or client.secret != client_secret:
                return self._json(401, invalid, req)  # the limiter token stays spent
            self._login_bucket.give(1)
            sess = self._new_session("client", None)
            sess.scope = client.scope
            sess.expires_in = client.expires_in
            sess.client_id = client.client_id
            sess.user_bound = client.user
        body = {
            "status": "success",
            "session_id": sess.id,
            "access_token": sess.token,
            "token_type": "Bearer",
            "expires_in": sess.expires_in,
            "client_name": client.name,
            "scope": client.scope,
        }
        if self.new_api:
            body["client_role"] = "client"
        return self._json(200, body, req)

    def _route_session(self, req: _Request, seg: list[str]) -> _Response:
        if req.header("cdn-host"):
            return self._not_found(req)
        if req.method == "POST" and len(seg) == 1:
            return self._login(req)
        if req.method == "GET" and seg == ["session"]:
            sess = self._require(req)
            return self._json(200, self._session_json(sess, req), req)
        if req.method == "DELETE" and len(seg) <= 2:
            sess = self._require(req)
            if len(seg) == 2 and seg[1] != sess.id:
                return self._err(403, "Permission denied", req)
            with self._lock:
                if sess.app_password is not None:
                    self.app_password_deleted = True
                    self.app_passwords.discard(sess.app_password)
                    self._app_sessions.pop(sess.app_password, None)
                    for tok in [
                        t
                        for t, s in self._sessions.items()
                        if s.parent_app_password == sess.app_password
                    ]:
                        del self._sessions[tok]
                else:
                    self._sessions.pop(sess.token, None)
            return self._json(200, {"status": "deleted", "session_id": sess.id}, req)
        return self._not_found(req)

    def _login(self, req: _Request) -> _Response:
        with self._lock:
            self.login_attempts += 1
        if self.new_api and len(req.body) > MAX_LOGIN_BODY:
            return self._err(413, "Request too large", req)
        try:
            form = json.loads(req.body or b"null")
            if not isinstance(form, dict):
                raise ValueError("not an object")
        except ValueError:
            return self._err(400, "Unable to do that", req)
        username = str(form.get("username") or "")
        password = str(form.get("password") or "")
        code = str(form.get("code") or "")
        cost = 3 if code else 1
        with self._lock:
            if self._auth_bucket.available() < 1 or not self._login_bucket.take(cost):
                return self._json(429, {"error": "rate limit exceeded", "code": 429}, req)
            provider: str | None = None
            parent: str | None = None
            if username and username == self.username and password == self.password:
                provider = "local"
            elif username and username == self.username and password in self.app_passwords:
                provider, parent = "application", password
            if provider is None:
                if self.new_api:
                    return self._err(401, "Invalid credentials", req)
                return self._json(401, {"error": "Invalid credentials"}, req)
            if provider == "local" and self.passcode is not None:
                if not code:
                    body: dict[str, Any] = {"code": 32, "message": "Enter verification code"}
                    if self.new_api:
                        body["messageId"] = "Enter verification code"
                    else:
                        body = {"error": "passcode required", **body}
                    return self._json(401, body, req)
                if code != self.passcode:
                    msg = (
                        "Invalid verification code, please try again"
                        if self.new_api
                        else "invalid passcode"
                    )
                    return self._err(401, msg, req)
            self._login_bucket.give(cost)
            sess = self._new_session(provider, parent)
        return self._json(200, self._session_json(sess, req), req)
