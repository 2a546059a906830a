"""Uploads into Immich (immich-api.md §6, §7, §8): look-ups by SHA-1 with ``bulk-upload-check``
(an asset in the trash apart: it is purged later, and ``/trash/restore/assets`` brings it back),
one multipart ``POST /assets`` per file with the field set of the server's generation and its
XMP sidecar as ``sidecarData`` (``201 created`` and ``200 duplicate`` are both success; a
duplicate's sidecar is dropped by the server, and it joins no album: only what the batch created
does), and albums looked up by name before one is created (Immich album titles are not unique:
never a second album of the same name).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime

import httpx

from ppsync.errors import AuthError, UploadFailed, UploadRefused, UploadTooLarge
from ppsync.redact import redact
from ppsync.servers.base import BodyOpener
from ppsync.servers.http import Parts, file_part, json_body, send
from ppsync.servers.immich.client import ImmichClient, permission_error
from ppsync.servers.immich.readers import hex_to_checksum
from ppsync.servers.immich.wire import (
    BulkCheck,
    error_message,
    parse_album,
    parse_bulk_check,
    parse_upload,
)

LOOKUP_CHUNK = 1000  # SHA-1s per bulk-upload-check: one request for most look-ups


def _check(client: ImmichClient, sha1s: Iterable[str]) -> list[BulkCheck]:
    """``bulk-upload-check`` answers for ``sha1s``, in chunks; never asked with an empty list
    (v2.5 answers that with 500)."""
    refs = list(dict.fromkeys(sha1s))
    found: list[BulkCheck] = []
    for start in range(0, len(refs), LOOKUP_CHUNK):
        chunk = refs[start:start + LOOKUP_CHUNK]
        body = {"assets": [{"id": sha1, "checksum": hex_to_checksum(sha1)} for sha1 in chunk]}
        answer = client.json("POST", "/assets/bulk-upload-check", "looking up by SHA-1",
                             json=body)
        found += parse_bulk_check(answer, chunk)
    return found


def find_by_sha1(client: ImmichClient, sha1s: Iterable[str]) -> dict[str, str]:
    """SHA-1 → the asset in the library holding it. The check answers for assets in the trash
    too; those are left out: the server purges them after trashDays (``find_in_trash``)."""
    return {check.ref: check.existing_id for check in _check(client, sha1s)
            if not check.accepted and check.existing_id and not check.existing_trashed}


def find_in_trash(client: ImmichClient, sha1s: Iterable[str]) -> dict[str, str]:
    """SHA-1 → the asset holding it only in the trash."""
    return {check.ref: check.existing_id for check in _check(client, sha1s)
            if not check.accepted and check.existing_id and check.existing_trashed}


def restore_from_trash(client: ImmichClient, assets: Sequence[str]) -> str:
    """``POST /trash/restore/assets``; "" when done, else why not: v2.5 wants the permission
    ``asset.delete`` for it (v1.135 lets any key)."""
    what = "bringing assets back from the trash"
    for start in range(0, len(assets), LOOKUP_CHUNK):
        response = client.call("POST", "/trash/restore/assets", what, accept=(403,),
                               json={"ids": list(assets[start:start + LOOKUP_CHUNK])})
        if response.status_code == 403:
            return str(permission_error(response, what))
    return ""


def album_by_name(client: ImmichClient, title: str) -> str:
    """The album called exactly ``title`` (or with this id), the first the server lists;
    created when there is none. Exactly: Immich titles are neither unique nor matched
    ignoring case, so "trip" must not fill the user's other album "Trip"."""
    listed = client.json("GET", "/albums", "listing albums")
    albums = [parse_album(a) for a in listed] if isinstance(listed, list) else []
    for album in albums:
        if album.album_id == title or album.name == title:
            return album.album_id
    created = client.json("POST", "/albums", f"creating album {title}", json={"albumName": title})
    return parse_album(created).album_id


def add_to_album(client: ImmichClient, album: str, assets: Sequence[str]) -> set[str]:
    """Put ``assets`` into ``album``; already a member (``duplicate``) is fine. Returns the
    assets the server says it added (not those that were members already)."""
    if not assets:
        return set()
    answer = client.json("PUT", f"/albums/{album}/assets", f"adding to album {album}",
                         json={"ids": list(assets)})
    failed = [str(r.get("error")) for r in answer if isinstance(r, dict)
              and r.get("success") is False and r.get("error") != "duplicate"] \
        if isinstance(answer, list) else []
    if failed:
        raise UploadFailed(f"adding to album {album}: {', '.join(sorted(set(failed)))}")
    return {str(r.get("id")) for r in answer if isinstance(r, dict)
            and r.get("success") is True} if isinstance(answer, list) else set()


class ImmichUpload:
    """An upload batch: each file one POST; ``commit`` puts what it created into albums."""

    def __init__(self, client: ImmichClient) -> None:
        self._client = client
        self._created: list[str] = []

    def send(self, name: str, open_body: BodyOpener, modified: datetime, *,
             sidecar: tuple[str, BodyOpener] | None = None) -> int | None:
        what = f"uploading {name}"
        # The file's mtime for both dates (immich-api.md §6): the server keeps them for a file
        # without EXIF (a scan, a screenshot, most videos), so "now" would date it today.
        when = modified.astimezone(UTC).isoformat().replace("+00:00", "Z")
        fields = {"fileCreatedAt": when, "fileModifiedAt": when}
        response = self._post(name, open_body, fields, what, sidecar)
        if response.status_code == 401:
            response = self._post(name, open_body, fields, what, sidecar, relogin=True)
        status = response.status_code
        if status == 413:
            raise UploadTooLarge(f"{what}: too large for the server (HTTP 413)")
        if status == 400:
            return 0  # an unsupported type: the engine reports it as refused
        if status == 403:
            error = permission_error(response, what)
            raise UploadRefused(str(error)) if isinstance(error, AuthError) else error
        if status not in (200, 201):
            raise UploadFailed(f"{what}: HTTP {status} "
                               f"{redact(error_message(_json(response)))}".rstrip())
        result = parse_upload(status, json_body(response, what))
        if result.created:
            self._created.append(result.asset_id)
        return 1

    def _post(self, name: str, open_body: BodyOpener, dates: dict[str, str], what: str,
              sidecar: tuple[str, BodyOpener] | None, *,
              relogin: bool = False) -> httpx.Response:
        if relogin:
            self._client.relogin_after_401(what)
        fields = dict(dates)
        version = self._client.version
        if version is None or version.needs_device_fields:
            fields["deviceId"] = "ppsync"
            fields["deviceAssetId"] = "ppsync-" + hashlib.sha1(name.encode()).hexdigest()[:16]
        return send(self._client.http, self._client.policy, "POST", "/assets", what,
                    headers=self._client.auth_headers, data=fields,
                    files=lambda: _parts(name, open_body, sidecar))

    def commit(self, albums: Sequence[str]) -> int:
        """Put the assets this batch created into ``albums``; returns how many the server
        added to at least one of them. An asset the server answered ``200 duplicate`` for
        (its content arrived between the look-up and the POST) is an old one: it is left as
        it is, like every duplicate the inbox finds."""
        added: set[str] = set()
        if not self._created:
            return 0
        for title in albums:
            added |= add_to_album(self._client, album_by_name(self._client, title),
                                  self._created)
        return len(added)


@contextmanager
def _parts(name: str, open_body: BodyOpener,
           sidecar: tuple[str, BodyOpener] | None) -> Iterator[Parts]:
    """``assetData`` and, with a sidecar, ``sidecarData`` (its own file name, which must end
    in ``.xmp``): both opened anew for every attempt. No ``filename`` form field is sent: the
    server would judge the sidecar by that name (immich-api.md §11) and refuse it."""
    with ExitStack() as stack:
        parts = stack.enter_context(file_part("assetData", name, open_body))
        if sidecar is not None:
            parts = parts + stack.enter_context(file_part("sidecarData", *sidecar))
        yield parts


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None
