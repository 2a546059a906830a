"""The form of ``GET /photos``: its parameters and ``q`` terms parsed as each API generation
does, and whether a photo matches it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from tests.fake_photoprism.http import _parse_bool, _parse_int, _Problem, _Request
from tests.fake_photoprism.media import _strip_ext
from tests.fake_photoprism.model import _SHA1_RE, _UID_RE, FakeAlbum, FakePhoto
from tests.fake_photoprism.times import _parse_time

_QUERY_TERM = re.compile(r'(\w+):(?:"([^"]*)"|(\S*))')


# Sort orders the real search accepts (sortby constants); "favorites" is rejected for photos.
_ORDERS_OLD = {
    "",
    "added",
    "imported",
    "newest",
    "oldest",
    "name",
    "title",
    "size",
    "relevance",
    "duration",
    "similar",
    "edited",
    "updated",
    "archived",
    "random",
}


_ORDERS_NEW = _ORDERS_OLD | {"updated_at"}


def _like(pattern: str, value: str) -> bool:
    """``OrLike``: ``|``-separated alternatives, ``*``/``%`` wildcards, case-insensitive."""
    for alt in pattern.split("|"):
        alt = alt.strip()
        if not alt:
            continue
        rx = "".join(".*" if ch in "*%" else re.escape(ch) for ch in alt)
        if re.fullmatch(rx, value, flags=re.IGNORECASE | re.DOTALL):
            return True
    return False


@dataclass
class _SearchForm:
    count: int
    limit_header: str
    offset: int
    offset_header: str
    merged: bool
    order: str
    archived: bool = False
    public: bool = False
    private: bool = False
    review: bool = False
    hidden: bool = False
    error: bool = False
    primary: bool = False
    quality: int = 0
    favorite: bool | None = None
    hashes: list[str] | None = None
    photo_uids: list[str] | None = None
    file_uids: list[str] | None = None
    types: list[str] | None = None
    path: str = ""
    name: str = ""
    filename: str = ""
    original: str = ""
    title: str = ""
    words: list[str] = field(default_factory=list)
    added: datetime | None = None
    updated: datetime | None = None
    edited: datetime | None = None
    album: FakeAlbum | None = None


class SearchForm:
    """The search_form part of ``FakePhotoPrism`` (a mixin: the state is the fake's)."""

    def _parse_search(self, req: _Request) -> _SearchForm:
        q = req.query

        def bad(msg: str = "Unable to do that") -> _Problem:
            return _Problem(self._err(400, msg, req))

        try:
            count = _parse_int(q.get("count", ""))
            offset = _parse_int(q.get("offset", ""))
            merged = _parse_bool(q.get("merged", ""))
            form = _SearchForm(
                count=count,
                limit_header=str(count),
                offset=offset,
                offset_header=str(offset),
                merged=merged,
                order=q.get("order", ""),
            )
            form.archived = _parse_bool(q.get("archived", ""))
            form.public = _parse_bool(q.get("public", ""))
            form.private = _parse_bool(q.get("private", ""))
            form.review = _parse_bool(q.get("review", ""))
            form.hidden = _parse_bool(q.get("hidden", ""))
            form.error = _parse_bool(q.get("error", ""))
            form.primary = _parse_bool(q.get("primary", ""))
            form.quality = _parse_int(q.get("quality", ""))
            form.added = _parse_time(q.get("added", ""))
            form.updated = _parse_time(q.get("updated", ""))
            form.edited = _parse_time(q.get("edited", ""))
            for flag, typ in (
                ("video", "video"),
                ("raw", "raw"),
                ("live", "live"),
                ("vector", "vector"),
                ("animated", "animated"),
            ):
                if _parse_bool(q.get(flag, "")):
                    form.types = [typ]
            if _parse_bool(q.get("photo", "")) and form.types is None:
                form.types = (
                    ["image", "raw", "live"]
                    if self.new_api
                    else ["image", "live", "animated", "vector", "raw"]
                )
        except ValueError:
            raise bad() from None
        if count == 0:
            raise bad()
        fav = q.get("favorite", "")
        if fav:
            form.favorite = fav.lower() not in ("false", "no", "0", "off")
        params = {
            k: v
            for k, v in q.items()
            if k in ("hash", "uid", "path", "name", "filename", "original", "title", "type")
        }
        text = q.get("q", "")
        for mt in _QUERY_TERM.finditer(text):
            key = mt.group(1).lower()
            value = mt.group(2) if mt.group(2) is not None else mt.group(3)
            if key in ("hash", "uid", "path", "name", "filename", "original", "title", "type"):
                params[key] = value
            elif key == "favorite":
                form.favorite = value.lower() not in ("false", "no", "0", "off")
            elif key == "archived":
                form.archived = value.lower() in ("true", "yes", "1")
            elif key == "private":
                form.private = value.lower() in ("true", "yes", "1")
        form.words = [w.lower() for w in _QUERY_TERM.sub(" ", text).split()]
        if params.get("hash"):
            form.hashes = [h.strip().lower() for h in params["hash"].split("|") if h.strip()]
        if params.get("uid"):
            ids = [u.strip().lower() for u in params["uid"].split("|") if u.strip()]
            if all(_SHA1_RE.fullmatch(u) for u in ids):
                form.hashes = ids
            elif all(_UID_RE.fullmatch(u) and u[0] == "p" for u in ids):
                form.photo_uids = ids
            elif all(_UID_RE.fullmatch(u) and u[0] == "f" for u in ids):
                form.file_uids = ids
            else:
                raise bad("Invalid ID specified")
        if params.get("type"):
            form.types = [t.strip().lower() for t in params["type"].split("|")]
        form.path = params.get("path", "")
        form.name = params.get("name", "")
        form.filename = params.get("filename", "")
        form.original = params.get("original", "")
        form.title = params.get("title", "")
        scope = q.get("s", "")
        if scope:
            album = self._albums.get(scope.lower())
            if not scope.lower().startswith("a") or album is None:
                raise _Problem(self._json(400, {"error": "Invalid ID specified"}, req))
            form.album = album
        orders = _ORDERS_NEW if self.new_api else _ORDERS_OLD
        if form.order not in orders:
            raise _Problem(self._json(400, {"error": "Invalid sort order"}, req))
        return form

    def _photo_matches(self, p: FakePhoto, form: _SearchForm) -> bool:
        if form.hidden:
            if p.quality != -1 or p.archived:
                return False
        elif form.archived:
            if p.quality <= -1 or not p.archived:
                return False
        else:
            if p.archived:
                return False
            if form.review:
                if p.quality >= 3:
                    return False
            elif form.quality != 0 and not form.private and p.quality < form.quality:
                return False
        if form.public and p.private:
            return False
        if form.private and not form.public and not p.private:
            return False
        if form.favorite is not None and p.favorite != form.favorite:
            return False
        if form.photo_uids is not None and p.uid not in form.photo_uids:
            return False
        if form.types is not None and p.type not in form.types:
            return False
        if form.album is not None and p.uid not in form.album.photo_uids:
            return False
        if form.added is not None and p.created_at < form.added.replace(microsecond=0):
            return False
        if form.updated is not None and p.updated_at < form.updated.replace(microsecond=0):
            return False
        if form.edited is not None and (
            p.edited_at is None or p.edited_at < form.edited.replace(microsecond=0)
        ):
            return False
        if form.order == "edited" and p.edited_at is None:
            return False
        if form.order in ("updated", "updated_at") and p.updated_at <= p.created_at:
            return False
        if form.path or form.name:
            ppath, pname = self._photo_path_name(p)
            if form.path:
                want = form.path[1:] if form.path.startswith("/") else form.path
                if want.endswith("/"):
                    if ppath != want[:-1]:
                        return False
                elif not _like(want, ppath):
                    return False
            if form.name and not _like(
                "|".join(_strip_ext(x.rsplit("/", 1)[-1]) for x in form.name.split("|")), pname
            ):
                return False
        if form.original and not _like(form.original, p.original_name):
            return False
        if form.title and not _like(form.title, p.title):
            return False
        if form.words:
            hay = f"{p.title} {p.caption}".lower()
            if not all(w in hay for w in form.words):
                return False
        return True
