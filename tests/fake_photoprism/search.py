"""``GET /photos``: the file rows of the library (cached, rebuilt after a change) in the
default and other orders, filtered by the form, paged, with the 100000 cap."""

from __future__ import annotations

from typing import Any

from tests.fake_photoprism.http import _json_bytes, _Request, _Response
from tests.fake_photoprism.model import _EPOCH, MAX_RESULTS, FakeFile
from tests.fake_photoprism.search_form import _like, _SearchForm


class Search:
    """The search part of ``FakePhotoPrism`` (a mixin: the state is the fake's)."""

    @staticmethod
    def _file_order(f: FakeFile) -> tuple[int, str]:
        return (0 if f.primary else 1, f.uid)

    def _rows(self, archived: bool) -> list[FakeFile]:
        """Search rows (non-sidecar files) in the default ``media_id`` order. Cached."""
        key = "archived" if archived else "live"
        rows = self._row_cache.get(key)
        if rows is None:
            rows = []
            for photo in reversed(list(self._photos.values())):
                if photo.archived != archived:
                    continue
                fs = [f for f in photo.files if not f.sidecar]
                if len(fs) > 1:
                    fs.sort(key=self._file_order)
                rows.extend(fs)
            self._row_cache[key] = rows
        return rows

    def _search_rows(self, form: _SearchForm) -> list[FakeFile]:
        """All matching rows in the requested order (lock held by caller)."""
        plain = (
            form.hashes is None
            and form.photo_uids is None
            and form.file_uids is None
            and form.types is None
            and form.album is None
            and not (form.path or form.name or form.filename or form.original or form.title)
            and not form.words
            and form.added is None
            and form.updated is None
            and form.edited is None
            and form.favorite is None
            and not (form.public or form.private or form.review or form.hidden)
            and form.quality == 0
            and not form.primary
            and not form.error
            and form.order in ("", "added", "imported")
        )
        if plain:
            return self._rows(form.archived)
        if form.error:
            return []
        if form.hashes is not None or form.file_uids is not None:
            cand: list[FakeFile] = []
            if form.hashes is not None:
                for h in form.hashes:
                    cand.extend(self._by_hash.get(h, []))
            else:
                cand = [self._files[u] for u in form.file_uids or [] if u in self._files]
            if form.hashes is not None and form.file_uids is not None:
                cand = [f for f in cand if f.uid in form.file_uids]
            seen: set[str] = set()
            base: list[FakeFile] = []
            for f in cand:
                if f.uid not in seen:
                    seen.add(f.uid)
                    base.append(f)
            base.sort(key=lambda f: (-self._photos[f.photo_uid].id, 0 if f.primary else 1, f.uid))
        elif form.hidden:
            base = self._rows(False)
        else:
            base = self._rows(form.archived)
        out: list[FakeFile] = []
        verdict: dict[str, bool] = {}
        for f in base:
            ok = verdict.get(f.photo_uid)
            if ok is None:
                ok = verdict[f.photo_uid] = self._photo_matches(self._photos[f.photo_uid], form)
            if not ok:
                continue
            if f.sidecar and form.order not in ("size", "similar", "random") and not form.primary:
                continue
            if form.primary and not f.primary:
                continue
            if form.order == "size" and (f.root == "sidecar" or f.sidecar):
                continue
            if form.filename and not _like(form.filename, f.name):
                continue
            out.append(f)
        self._apply_order(out, form.order)
        return out

    def _apply_order(self, rows: list[FakeFile], order: str) -> None:
        if order in (
            "",
            "added",
            "imported",
            "edited",
            "updated",
            "updated_at",
            "archived",
            "random",
            "similar",
            "relevance",
            "duration",
        ):
            if order in ("edited", "updated", "updated_at", "archived"):

                def ts(f: FakeFile) -> float:
                    p = self._photos[f.photo_uid]
                    d = {"edited": p.edited_at, "archived": p.deleted_at}.get(order, p.updated_at)
                    return -(d or _EPOCH).timestamp()

                rows.sort(key=ts)  # stable: media_id order kept within equal keys
            return
        photos = self._photos
        if order == "newest":
            rows.sort(key=lambda f: -photos[f.photo_uid].taken_at.timestamp())
        elif order == "oldest":
            rows.sort(key=lambda f: photos[f.photo_uid].taken_at.timestamp())
        elif order == "name":
            rows.sort(key=lambda f: self._photo_path_name(photos[f.photo_uid]))
        elif order == "title":
            rows.sort(
                key=lambda f: (
                    photos[f.photo_uid].title,
                    self._photo_path_name(photos[f.photo_uid])[1],
                )
            )
        elif order == "size":
            rows.sort(key=lambda f: -f.size)

    def _search(self, req: _Request) -> _Response:
        self._require(req)
        with self._lock:
            form = self._parse_search(req)
            faults = self.faults
            limit = MAX_RESULTS if form.count < 0 or form.count > MAX_RESULTS else form.count
            offset = max(form.offset, 0)
            if faults.empty_listing:
                page: list[FakeFile] = []
            else:
                rows = self._search_rows(form)
                if faults.listing_limit_rows is not None:
                    rows = rows[: max(faults.listing_limit_rows, 0)]
                page = rows[offset : offset + limit]
            if form.merged:
                body: list[dict[str, Any]] = self._merged_json(page)
            else:
                body = [self._row_json(self._photos[f.photo_uid], f) for f in page]
            headers = [
                ("Cache-Control", "no-store"),
                ("X-Count", str(len(page))),
                ("X-Limit", form.limit_header),
                ("X-Offset", form.offset_header),
                ("X-Preview-Token", self.preview_token),
                ("X-Download-Token", self.download_token),
            ]
            malformed = faults.malformed_listing
            mode = faults.malformed_listing_mode
            hook = faults.after_search
        if hook is not None:
            hook(dict(req.query))
        if malformed:
            if mode == "wrong_shape":
                return self._json(
                    200, {"photos": body[:1], "count": len(page)}, req, headers=headers
                )
            text = _json_bytes(body[:2] or [{"UID": "p"}])
            resp = self._json(200, None, req, headers=headers)
            resp.body = text[: max(1, len(text) // 2)]
            return resp
        resp = self._json(200, body, req, headers=headers)
        resp.delay = faults.listing_delay
        return resp
