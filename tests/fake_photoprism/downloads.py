"""``/dl/{hash}`` served like Go's ``http.ServeFile``: the download token, Range and 416,
Last-Modified, gzip on old servers, and the faults of a transfer."""

from __future__ import annotations

import os
from email.utils import formatdate, parsedate_to_datetime

from tests.fake_photoprism.http import _content_disposition, _Request, _Response, _Stream
from tests.fake_photoprism.media import _BROKEN_SVG


def _parse_range(header: str, size: int) -> list[tuple[int, int]] | None:
    """Go ``net/http.parseRange``: (start, length) pairs, or None for 416.

    A set whose total exceeds the size is ignored (full body); several ranges are answered
    with the full body too (the fake does not build multipart/byteranges).
    """
    if not header.startswith("bytes="):
        return None
    ranges: list[tuple[int, int]] = []
    no_overlap = False
    for ra in header[len("bytes=") :].split(","):
        ra = ra.strip()
        if not ra:
            continue
        first, sep, last = ra.partition("-")
        if not sep:
            return None
        first, last = first.strip(), last.strip()
        if first == "":
            if not last.isdigit():
                return None
            n = int(last)
            if n > size:
                n = size
            ranges.append((size - n, n))
        else:
            if not first.isdigit():
                return None
            i = int(first)
            if i >= size:
                no_overlap = True
                continue
            if last == "":
                ranges.append((i, size - i))
            else:
                if not last.isdigit() or i > int(last):
                    return None
                j = min(int(last), size - 1)
                ranges.append((i, j - i + 1))
    if no_overlap and not ranges:
        return None
    if sum(n for _, n in ranges) > size or len(ranges) > 1:
        return []
    return ranges


class Downloads:
    """The downloads part of ``FakePhotoPrism`` (a mixin: the state is the fake's)."""

    def _token_ok(self, token: str) -> bool:
        with self._lock:
            return bool(token) and token in self._valid_tokens

    def _download(self, req: _Request, sha1: str) -> _Response:
        """``/dl/<hash>``: token, DB lookup, then ``http.ServeFile`` semantics."""
        if not self._token_ok(req.query.get("t", "")):
            return _Response(403, [("Content-Type", "image/svg+xml")], _BROKEN_SVG)
        with self._lock:
            lst = self._by_hash.get(sha1)
            f = lst[0] if lst else None
            if f is None:
                if self.new_api:
                    return self._err(404, "File not found", req)
                return self._json(404, {"error": "record not found"}, req)
            content, path, synthetic, uid, name, mime = (
                f.content,
                f.path,
                f.synthetic,
                f.uid,
                f.name,
                f.mime,
            )
            size, mtime = f.size, f.mtime
        if path is not None:
            try:
                st = os.stat(path)
                size, mtime = st.st_size, float(int(st.st_mtime))
            except OSError:
                return _Response(404, [("Content-Type", "image/svg+xml")], _BROKEN_SVG)
        last_modified = formatdate(mtime, usegmt=True)
        headers: list[tuple[str, str]] = [("Content-Disposition", _content_disposition(name))]
        # Conditional requests (no ETag on this server).
        ims = req.header("if-modified-since")
        if ims and not req.header("if-none-match"):
            try:
                if int(mtime) <= int(parsedate_to_datetime(ims).timestamp()):
                    return _Response(304, [*headers, ("Last-Modified", last_modified)])
            except (TypeError, ValueError):
                pass
        start, length, status = 0, size, 200
        range_header = req.header("range")
        if_range = req.header("if-range")
        if range_header and if_range:
            try:
                if int(parsedate_to_datetime(if_range).timestamp()) != int(mtime):
                    range_header = ""
            except (TypeError, ValueError):
                range_header = ""
        if range_header:
            parsed = _parse_range(range_header, size)
            if parsed is None:
                return _Response(
                    416,
                    [
                        ("Content-Range", f"bytes */{size}"),
                        ("Content-Type", "text/plain; charset=utf-8"),
                        ("X-Content-Type-Options", "nosniff"),
                    ],
                    b"invalid range: failed to overlap\n",
                )
            if len(parsed) == 1:
                start, length = parsed[0]
                status = 206
        use_gzip = self.gzip_downloads and not self.new_api and req.accepts_gzip()
        headers += [("Accept-Ranges", "bytes")]
        if not use_gzip:
            headers.append(("Content-Length", str(length)))
        if status == 206:
            headers.append(("Content-Range", f"bytes {start}-{start + length - 1}/{size}"))
        headers += [
            ("Content-Type", mime or "application/octet-stream"),
            ("Last-Modified", last_modified),
        ]
        if use_gzip:
            headers += [
                ("Content-Encoding", "gzip"),
                ("Vary", "Accept-Encoding"),
                ("Transfer-Encoding", "chunked"),
            ]
        with self._lock:
            self.download_count += 1
            corrupt_hash = bool(self.faults.corrupt_hash) and self.faults.corrupt_hash == sha1
            delay = self.faults.download_delay
        truncate = self._take_counter("truncate_downloads")
        corrupt = self._take_counter("corrupt_downloads") or corrupt_hash
        stream = _Stream(uid, content, path, synthetic, start, length, use_gzip, truncate, corrupt)
        return _Response(status, headers, stream=stream, delay=delay)
