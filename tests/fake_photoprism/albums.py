"""Albums: built by a test, and the ``/albums`` routes (list, create, rename, members, delete)
with ``POST /batch/albums/delete``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from tests.fake_photoprism.http import _parse_int, _Request, _Response
from tests.fake_photoprism.model import MAX_RESULTS, FakeAlbum
from tests.fake_photoprism.words import _slug


class Albums:
    """The albums part of ``FakePhotoPrism`` (a mixin: the state is the fake's)."""

    def add_album(self, title: str, type: str = "album", photo_uids: Iterable[str] = ()) -> str:
        """Create an album and return its UID (``a…``)."""
        with self._lock:
            now = self._now()
            album = FakeAlbum(
                uid=self._new_uid("a"),
                id=self._next_album_id,
                title=title,
                type=type,
                photo_uids=[],
                created_at=now,
                updated_at=now,
            )
            self._next_album_id += 1
            self._albums[album.uid] = album
            self._add_members(album, photo_uids)
            self._invalidate()
            return album.uid

    def _add_members(self, album: FakeAlbum, photo_uids: Iterable[str]) -> list[str]:
        added: list[str] = []
        for uid in photo_uids:
            photo = self._photos.get(uid)
            if photo is None or uid in album.photo_uids:
                continue
            album.photo_uids.append(uid)
            if album.uid not in photo.album_uids:
                photo.album_uids.append(album.uid)
            added.append(uid)
        if added:
            album.updated_at = self._now()
        return added

    def _approve(self, photo_uids: Iterable[str]) -> None:
        """What ``POST /albums/:uid/photos`` does after adding (``api/album.go``
        ``AddPhotosToAlbum``, issue 4229; the Review feature is on): every selected photo in
        review (``Photo.Approved``: an image, quality < 3, never edited) is approved, and
        ``Photo.Approve`` first *restores* it from the archive, then sets quality 3 and
        ``edited_at``. An import adding a duplicate to its albums (``AddPhotoToUserAlbums``)
        does not do this. Lock held."""
        now = self._now()
        for uid in photo_uids:
            photo = self._photos.get(uid)
            if photo is None or photo.quality >= 3 or photo.type != "image" or photo.edited_at:
                continue
            photo.archived, photo.deleted_at = False, None
            photo.quality, photo.edited_at, photo.updated_at = 3, now, now

    def _remove_members(self, album: FakeAlbum, photo_uids: Iterable[str]) -> list[str]:
        removed: list[str] = []
        for uid in photo_uids:
            if uid in album.photo_uids:
                album.photo_uids.remove(uid)
                removed.append(uid)
                photo = self._photos.get(uid)
                if photo is not None and album.uid in photo.album_uids:
                    photo.album_uids.remove(album.uid)
        if removed:
            album.updated_at = self._now()
        return removed

    def set_album_members(self, album_uid: str, photo_uids: Iterable[str]) -> None:
        with self._lock:
            album = self._albums[album_uid]
            self._remove_members(album, list(album.photo_uids))
            self._add_members(album, photo_uids)
            self._invalidate()

    def rename_album(self, album_uid: str, title: str) -> None:
        with self._lock:
            album = self._albums[album_uid]
            album.title, album.updated_at = title, self._now()
            self._invalidate()

    def delete_album(self, album_uid: str) -> None:
        """Soft-delete (hidden from the album list; ``s=`` on it still resolves)."""
        with self._lock:
            album = self._albums[album_uid]
            album.deleted_at = album.updated_at = self._now()
            self._invalidate()

    def albums(self, include_deleted: bool = False) -> list[FakeAlbum]:
        with self._lock:
            return [a for a in self._albums.values() if include_deleted or a.deleted_at is None]

    def album(self, album_uid: str) -> FakeAlbum:
        with self._lock:
            return self._albums[album_uid]

    def _route_albums(self, req: _Request, seg: list[str]) -> _Response:
        self._require(req)
        m, n = req.method, len(seg)
        tokens = [
            ("X-Preview-Token", self.preview_token),
            ("X-Download-Token", self.download_token),
        ]
        if n == 1 and m == "GET":
            q = req.query
            try:
                count = _parse_int(q.get("count", ""))
                offset = max(_parse_int(q.get("offset", "")), 0)
            except ValueError:
                return self._err(400, "Unable to do that", req)
            if count == 0:
                return self._err(400, "Unable to do that", req)
            limit = MAX_RESULTS if count < 0 or count > MAX_RESULTS else count
            types = [t for t in q.get("type", "").split("|") if t]
            text = q.get("q", "").lower()
            with self._lock:
                albums = [
                    a
                    for a in self._albums.values()
                    if a.deleted_at is None
                    and (not types or a.type in types)
                    and text in a.title.lower()
                ]
                if q.get("order", "") == "added":
                    albums.sort(key=lambda a: a.uid, reverse=True)
                else:
                    albums.sort(key=lambda a: a.uid, reverse=True)
                    albums.sort(key=lambda a: a.title)
                    albums.sort(key=lambda a: not a.favorite)
                page = albums[offset : offset + limit]
                body = [self._album_json(a) for a in page]
            headers = [
                ("X-Count", str(len(page))),
                ("X-Limit", str(count)),
                ("X-Offset", str(offset)),
                *tokens,
            ]
            return self._json(200, body, req, headers=headers)
        if n == 1 and m == "POST":
            try:
                form = json.loads(req.body or b"null")
                title = (
                    str(form.get("Title") or form.get("title") or "").strip()
                    if isinstance(form, dict)
                    else ""
                )
            except ValueError:
                title = ""
            if not title:
                return self._err(400, "Unable to do that", req)
            with self._lock:
                for a in self._albums.values():
                    if a.type == "album" and a.slug == _slug(title):
                        if a.deleted_at is not None:
                            a.deleted_at = None
                            a.updated_at = self._now()
                            self._invalidate()
                        return self._json(200, self._album_json(a), req)
                uid = self.add_album(title)
                status = 201 if self.new_api else 200
                extra = [("Location", f"/api/v1/albums/{uid}")] if self.new_api else []
                return self._json(status, self._album_json(self._albums[uid]), req, headers=extra)
        with self._lock:
            album = self._albums.get(seg[1]) if n >= 2 else None
            if album is not None and album.deleted_at is not None and self.new_api:
                album = None  # seen on 260630: a deleted album is "Album not found"
            if album is None:
                return self._err(404, "Album not found", req)
            if n == 2 and m == "GET":
                return self._json(200, self._album_json(album), req)
            if n == 2 and m == "PUT":
                try:
                    form = json.loads(req.body or b"{}")
                except ValueError:
                    return self._err(400, "Unable to do that", req)
                if isinstance(form, dict) and form.get("Title"):
                    self.rename_album(album.uid, str(form["Title"]))
                return self._json(200, self._album_json(album), req)
            if n == 2 and m == "DELETE":
                self.delete_album(album.uid)
                return self._json(200, self._album_json(album), req)
            if n == 3 and seg[2] == "photos" and m in ("POST", "DELETE"):
                try:
                    form = json.loads(req.body or b"{}")
                    uids = (
                        [str(u) for u in form.get("photos", [])] if isinstance(form, dict) else []
                    )
                except (ValueError, TypeError):
                    return self._err(400, "Unable to do that", req)
                if not uids:
                    return self._err(400, "No items selected", req)
                if m == "POST":
                    changed = self._add_members(album, uids)
                    if changed:
                        self._approve(uids)
                    msg = f"Selection added to {album.title}"
                else:
                    changed = self._remove_members(album, uids)
                    msg = f"Entries removed from {album.title}"
                self._invalidate()
                body2: dict[str, Any] = {
                    "code": 200,
                    "message": msg,
                    "album": self._album_json(album),
                    "photos": changed,
                }
                if m == "POST":
                    body2["added"] = changed
                return self._json(200, body2, req)
        return self._not_found(req)

    def _batch_albums_delete(self, req: _Request) -> _Response:
        """``POST /batch/albums/delete {"albums": [uid, ...]}`` (``BatchAlbumsDelete``, both
        generations): the albums found are soft-deleted (seen on 260630: 200 "Albums
        deleted", then ``GET /albums/<uid>`` 404; POSTing the title again restores the album
        with its old UID)."""
        self._require(req)
        if self.readonly:
            return self._err(403, "Not available in read-only mode", req)
        try:
            form = json.loads(req.body or b"{}")
            uids = [str(u) for u in form.get("albums") or []] if isinstance(form, dict) else []
        except (ValueError, TypeError, AttributeError):
            return self._err(400, "Unable to do that", req)
        if not uids:
            return self._err(400, "No albums selected", req)
        with self._lock:
            found = [u for u in uids if u in self._albums
                     and self._albums[u].deleted_at is None]
            if not found:
                return self._err(404, "Entity not found", req)
            for uid in found:
                self.delete_album(uid)
        return self._json(200, {"code": 200, "message": "Albums deleted"}, req)

    def _albums_for(self, names: Sequence[str]) -> list[FakeAlbum]:
        """Album UIDs are used as-is; other strings are titles (missing albums are created)."""
        out: list[FakeAlbum] = []
        for raw in names:
            name = str(raw).strip()
            if not name:
                continue
            album = self._albums.get(name)
            if album is None:
                album = next(
                    (
                        a
                        for a in self._albums.values()
                        if a.type == "album" and a.slug == _slug(name) and a.deleted_at is None
                    ),
                    None,
                )
            if album is None:
                album = self._albums[self.add_album(name)]
            out.append(album)
        return out
