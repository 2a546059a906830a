"""PhotoPrism's write side: uploads into upload folders and their import, the import folder,
indexing, look-ups by SHA-1, albums by title, photo updates and archiving.

A mixin of ``client.PhotoPrismClient`` (which owns the session, the retry policy and ``_api``);
split out so each module stays readable. Upload bodies are streamed and re-opened per attempt.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from ppsync.config import ServerConfig
from ppsync.errors import (
    AuthError,
    RemoteFileMissing,
    ServerDataError,
    UploadFailed,
    UploadRefused,
    UploadTooLarge,
)
from ppsync.servers.base import BodyOpener
from ppsync.servers.http import RetryPolicy, file_part, json_body, send, status_error
from ppsync.servers.photoprism.values import SessionInfo

# Imports run inside the request (PUT upload, POST import/): give them time to finish.
IMPORT_TIMEOUT = 1800.0
_UPLOADED = re.compile(r"(\d+) files? uploaded")
_ALBUM_UID = re.compile(r"a[0-9a-z]{15}")
REFUSED = ("the server refuses uploads (HTTP 403): upload or import is disabled, the server is "
           "read-only, or this account may not upload. Nothing was changed in the inbox")


def _upload_status_error(response: httpx.Response, what: str) -> Exception:
    """Upload and import answers: 403 ends the pass (exit 3), 413/507/400 fail one upload."""
    status = response.status_code
    if status == 403:
        return UploadRefused(f"{what}: {REFUSED}")
    if status == 413:
        return UploadTooLarge(f"{what}: larger than the server accepts (HTTP 413)")
    if status == 507:
        return UploadFailed(f"{what}: the server is out of storage or quota (HTTP 507)")
    if status == 400:
        return UploadFailed(f"{what}: the server could not read the upload (HTTP 400)")
    return status_error(response, what)


class WritesMixin:
    """The writes of a ``PhotoPrismClient``; the attributes below are the client's."""

    _server: ServerConfig
    _http: httpx.Client
    _policy: RetryPolicy
    _session_token: str
    _session_hidden: bool
    session: SessionInfo | None

    def _auth_headers(self) -> dict[str, str]:
        raise NotImplementedError

    def _renew_if_due(self) -> None:
        raise NotImplementedError

    def _relogin(self, token_before: str, what: str) -> None:
        raise NotImplementedError

    def _api(self, method: str, path: str, what: str, *, accept: tuple[int, ...] = (),
             errors: Callable[[httpx.Response, str], Exception] = status_error,
             **kwargs: Any) -> httpx.Response:
        raise NotImplementedError

    def _object_or_none(self, path: str, what: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def _upload_url(self, token: str) -> str:
        if self.session is not None and self.session.user_uid:
            return f"/users/{self.session.user_uid}/upload/{token}"
        if self._session_hidden:
            raise AuthError("uploading needs the user this token acts for, and this token's "
                            "scope does not let it read its session: set server.user_uid to "
                            "that user's UID (`photoprism users ls` shows it)")
        raise AuthError("uploading needs a session with a user (log in as a user, or use an "
                        "app password or a client of a user)")

    def upload_file(self, token: str, name: str, open_body: BodyOpener) -> int | None:
        """POST one file (multipart field ``files``) into the upload folder ``token``.

        ``open_body`` is called for every attempt, so a retried POST sends the file again from
        its first byte; the body is streamed in chunks, never read whole into memory. Returns how
        many files the server says it accepted (new servers count only accepted files; None when
        the answer does not say). Raises ``UploadRefused`` (403), ``UploadTooLarge`` (413),
        ``UploadFailed`` (507, 400), ``ServerBusy``/``ServerUnreachable`` after retries.
        """
        what = f"uploading {name}"

        def post() -> httpx.Response:
            return send(self._http, self._policy, "POST", self._upload_url(token), what,
                        headers=self._auth_headers, timeout=self._long_timeout(),
                        files=lambda: file_part("files", name, open_body))

        self._renew_if_due()
        token_before = self._session_token
        response = post()
        if response.status_code == 401:
            self._relogin(token_before, what)
            response = post()
        if not response.is_success:
            raise _upload_status_error(response, what)
        payload = json_body(response, what) if response.content else {}
        match = _UPLOADED.search(str(payload.get("message", ""))) if isinstance(
            payload, dict) else None
        return int(match.group(1)) if match else None

    def import_upload(self, token: str, albums: list[str]) -> None:
        """PUT the upload folder ``token`` to import it into ``albums`` (UIDs or titles).

        Synchronous on the server; it reports nothing per file, so confirm each file by SHA-1
        afterwards. Raises ``UploadRefused`` (403) and the usual server errors.
        """
        self._api("PUT", self._upload_url(token), "importing the upload",
                  errors=_upload_status_error, json={"albums": albums},
                  timeout=self._long_timeout())

    def import_folder(self, path: str, albums: list[str]) -> None:
        """``POST /import/`` (the trailing slash matters) for ``path`` inside the server's
        import folder, moving what it imports into originals. A busy server answers 200 and
        does nothing: confirm each file by SHA-1 afterwards."""
        self._api("POST", "/import/", "importing the import folder", errors=_upload_status_error,
                  json={"path": path, "move": True, "albums": albums},
                  timeout=self._long_timeout())

    def index_folder(self, path: str) -> None:
        """``POST /index`` for ``path`` (a folder inside the server's originals, "/" for the
        top): index the files there in place, keeping their names. Synchronous; a busy
        indexer answers 200 and does nothing, so confirm each file by SHA-1 afterwards."""
        self._api("POST", "/index", f"indexing {path}", json={
            "path": path, "rescan": False, "cleanup": False}, timeout=self._long_timeout())

    def find_file(self, sha1: str) -> dict[str, Any] | None:
        """The server's file with this SHA-1 (``GET /files/<sha1>``), or None (404)."""
        return self._object_or_none(f"/files/{sha1}", f"looking up {sha1}")

    def file_exists(self, sha1: str) -> bool:
        return self.find_file(sha1) is not None

    def album_uid(self, name: str) -> str:
        """The UID of the album ``name`` (an existing album's UID, else a title: found or
        created by ``POST /albums``). The December 2024 server answers 200 whether it found or
        created the album, never 201; servers since October 2025 answer 201 for a new one."""
        if _ALBUM_UID.fullmatch(name):
            found = self._api("GET", f"/albums/{name}", f"reading album {name}",
                              accept=(403, 404))
            if found.is_success:
                return name
        what = f"creating album {name!r}"
        payload = json_body(self._api("POST", "/albums", what, json={"Title": name}), what)
        uid = payload.get("UID") if isinstance(payload, dict) else None
        if not isinstance(uid, str) or not uid:
            raise ServerDataError(f"{what}: the answer has no UID")
        return uid

    def update_photo(self, photo_uid: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT /api/v1/photos/<uid>`` with the given entity fields (Title, Caption,
        Description, Favorite, Private, ...); returns the updated photo."""
        response = self._api("PUT", f"/photos/{photo_uid}", f"updating photo {photo_uid}",
                             json=dict(fields))
        payload = json_body(response, "update photo")
        return payload if isinstance(payload, dict) else {}

    def add_photo_label(self, photo_uid: str, name: str) -> None:
        """``POST /api/v1/photos/<uid>/label`` as the web UI sends it (Priority 10, Uncertainty
        0): the label ``name`` (found in any case, or made) given to the photo as a person's
        (LabelSrc "manual"). Sending it again finds the same label, so a retry adds nothing
        twice; each call bumps the photo's UpdatedAt. Raises ``RemoteFileMissing`` when the
        photo is gone (404), the usual server errors otherwise (400 "Invalid name" for a
        name PhotoPrism cleans to nothing)."""
        what = f"adding label {name!r} to photo {photo_uid}"
        response = self._api("POST", f"/photos/{photo_uid}/label", what, accept=(404,),
                             json={"Name": name, "Priority": 10, "Uncertainty": 0})
        if response.status_code == 404:
            raise RemoteFileMissing(f"photo {photo_uid} is gone: label {name!r} not added")

    def add_to_album(self, album_uid: str, photo_uids: list[str]) -> None:
        self._api("POST", f"/albums/{album_uid}/photos", f"adding photos to album {album_uid}",
                  json={"photos": photo_uids})

    def _long_timeout(self) -> httpx.Timeout:
        timeout = self._server.timeout
        return httpx.Timeout(max(timeout, IMPORT_TIMEOUT), connect=min(timeout, 15.0),
                             write=timeout)

    # --- restore ------------------------------------------------------------------------------

    def archive_photos(self, photo_uids: list[str]) -> None:
        """``POST /batch/photos/archive``: move these photos to PhotoPrism's archive."""
        self._api("POST", "/batch/photos/archive", "archiving photos",
                  json={"photos": photo_uids})
