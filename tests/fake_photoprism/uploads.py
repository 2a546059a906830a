"""Uploads (``POST``/``PUT /users/{uid}/upload/{token}``), the server-side import and
``POST /index``: what is taken, what stays behind, and related files grouped."""

from __future__ import annotations

import contextlib
import email.message
import hashlib
import json
import os
import posixpath
import zlib
from collections.abc import Sequence

from tests.fake_photoprism.http import _Request, _Response
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
from tests.fake_photoprism.model import _TOKEN_JUNK
from tests.fake_photoprism.words import _xmp_fields


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


class Uploads:
    """The uploads part of ``FakePhotoPrism`` (a mixin: the state is the fake's)."""

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
