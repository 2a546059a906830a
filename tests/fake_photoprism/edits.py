"""Editing photos over the API: ``/photos/{uid}`` (``SavePhotoForm``: sources, the taken
time with its zone, location, keywords), labels, likes, and ``/batch/photos/*``."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from tests.fake_photoprism.http import _Request, _Response
from tests.fake_photoprism.media import _BROKEN_SVG
from tests.fake_photoprism.model import FakePhoto
from tests.fake_photoprism.times import _tz_is_utc, _tz_name, _utc_of_local
from tests.fake_photoprism.words import (
    _DETAIL_KEYS,
    _keyword_words,
    _label_name,
    _slug,
    _title_case,
)


class PhotoEdits:
    """The edits part of ``FakePhotoPrism`` (a mixin: the state is the fake's)."""

    def _route_photos(self, req: _Request, seg: list[str]) -> _Response:
        m, n = req.method, len(seg)
        if n == 1 and m == "GET":
            return self._search(req)
        if n == 3 and seg[2] == "dl" and m == "GET":
            with self._lock:
                photo = self._photos.get(seg[1])
                prim = next((f for f in photo.files if f.primary), None) if photo else None
            if not self._token_ok(req.query.get("t", "")):
                return _Response(403, [("Content-Type", "image/svg+xml")], _BROKEN_SVG)
            if prim is None:
                return self._err(404, "Entity not found", req)
            return self._download(req, prim.sha1)
        if n == 2 and m in ("GET", "PUT"):
            self._require(req)
            with self._lock:
                photo = self._photos.get(seg[1])
                if photo is None:
                    return self._err(404, "Entity not found", req)
                if m == "PUT":
                    if self.readonly:
                        return self._err(403, "Not available in read-only mode", req)
                    try:
                        form = json.loads(req.body or b"{}")
                        if not isinstance(form, dict):
                            raise ValueError
                    except ValueError:
                        return self._err(400, "Unable to do that", req)
                    problem = self._apply_photo_form(photo, form)
                    if problem:
                        return self._err(400, problem, req)
                return self._json(200, self._photo_entity_json(photo), req, indent=4)
        if n == 3 and seg[2] == "label" and m == "POST":
            return self._add_photo_label(req, seg[1])
        if n == 3 and seg[2] == "like" and m in ("POST", "DELETE"):
            # SetFavorite: a column update, UpdatedAt untouched (photoprism-api.md §h).
            self._require(req)
            with self._lock:
                photo = self._photos.get(seg[1])
                if photo is None:
                    return self._err(404, "Entity not found", req)
                photo.favorite = m == "POST"
                self._invalidate()
                return self._json(200, {"photo": self._photo_entity_json(photo)}, req)
        if n == 4 and seg[2] == "files" and m == "DELETE":
            self._require(req)
            with self._lock:
                photo = self._photos.get(seg[1])
                f = self._files.get(seg[3])
                if photo is None or f is None or f.photo_uid != photo.uid:
                    return self._err(404, "Entity not found", req)
                if f.primary:
                    return self._err(500, "Failed to delete file", req)
                self.delete_file(f.uid)
                return self._json(200, self._photo_entity_json(photo), req, indent=4)
        return self._not_found(req)

    def _add_photo_label(self, req: _Request, photo_uid: str) -> _Response:
        """``POST /photos/<uid>/label`` (``AddPhotoLabel``), as a real 260630 answered it: the
        label named ``Name`` found or made (``_find_or_make_label``; Priority only for a new
        one), given to the photo with LabelSrc "manual" and the Uncertainty sent; a label the
        photo has already changes only when its uncertainty was higher (then to "manual" and
        the one sent). Every call saves the photo (``SaveLabels``): UpdatedAt moves even when
        nothing else did. The keywords stay as they are on a 2026 server (seen on 260630: 13
        labels added, Keywords "orange" before, after and after a rescan); a Dec 2024 server
        adds the words of the labels' names to them (``SaveLabels``, ``Labels.Keywords``). A
        name that is nothing once cleaned is 400 "Invalid name" (2026; Dec 2024 makes a
        label "Unknown"). The answer is the photo."""
        self._require(req)
        try:
            form = json.loads(req.body or b"{}")
            if not isinstance(form, dict):
                raise ValueError
            name = form.get("Name", "")
            uncertainty, priority = form.get("Uncertainty", 0), form.get("Priority", 0)
            if not isinstance(name, str) or type(uncertainty) is not int or \
                    type(priority) is not int:
                raise ValueError  # Go's JSON binding refuses another type
        except ValueError:
            return self._err(400, "Unable to do that", req)
        with self._lock:
            photo = self._photos.get(photo_uid)
            if photo is None:
                return self._err(404, "Entity not found", req)
            label = self._find_or_make_label(name, priority)
            if not label:
                return self._err(400, "Invalid name", req)
            had = next((lb for lb in photo.labels if lb[0] == label), None)
            if had is None:
                photo.labels.append((label, "manual", uncertainty))
            elif had[2] > uncertainty:
                photo.labels[photo.labels.index(had)] = (label, "manual", uncertainty)
            if not self.new_api:
                words = [lb[0] for lb in photo.labels if lb[2] < 100
                         and lb[1] not in ("title", "subject", "keyword")]
                photo.details["Keywords"] = _keyword_words(", ".join(
                    [photo.details.get("Keywords", ""), *words]))
            photo.updated_at = self._now()
            self._invalidate()
            return self._json(200, self._photo_entity_json(photo), req, indent=4)

    def _find_or_make_label(self, name: str, priority: int) -> str:
        """The name of the label ``name`` asks for, made with ``priority`` when there is none;
        "" when the name is nothing once cleaned (2026). 2026 servers clean the name
        (``_label_name``) and find a label by that name in any case (``findLabelByExactName``,
        ``sameLabelName``): "boat" finds "Boat", "NEW YORK" finds "New York", and a label
        keeps the name it was made with. Names that differ but make the same slug are
        different labels, the later one's slug made unique with a hash ("Travel Italy" beside
        "Travel / Italy": "travel-italy-b2757907", as seen on 260630). Dec 2024 servers only
        title-case the name ("" → "Unknown") and find a label by its slug."""
        if self.new_api:
            name = _label_name(name)
            if not name:
                return ""
            key = name.lower()
        else:
            name = _title_case(name.strip()[:160]) or "Unknown"
            key = _slug(name)
        found = self._labels.get(key)
        if found is None:
            slug = _slug(name)
            if self.new_api and any(label[4] == slug for label in self._labels.values()):
                slug = slug[:71].rstrip("-") + "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
            found = self._labels[key] = (len(self._labels) + 1, self._new_uid("l"),
                                         self._now(), name, slug, priority)
        return found[3]

    def _apply_photo_form(self, photo: FakePhoto, form: dict[str, Any]) -> str | None:
        """``PUT /photos/<uid>`` (``internal/api/photos.go`` UpdatePhoto, ``entity.SavePhotoForm``;
        the same in the Dec 2024 and the 2026 source). Returns an error text for a 400.

        The form is first filled from the photo (``form.NewPhoto(m)``), then the JSON is bound
        onto it (keys matched ignoring case), so a field left out keeps the photo's value, its
        source included. Then: a TimeZone that is UTC makes TakenAtLocal = TakenAt; any other
        zone recomputes TakenAt from TakenAtLocal (a zone the server does not know, "" or
        "+05:30", reads the local time as UTC), so TakenAt alone does not move the photo. 2026
        servers save the zone normalised (``tz.Name``: "+02:00" → "UTC+2", "" → "Local") and
        copy a Description into an empty Caption. Year/Month/Day follow TakenAtLocal unless
        TakenSrc is "manual" (or "batch", 2026): then they are what the form says.
        ``Details`` is applied only when ``Details.PhotoID`` equals the photo's numeric ID
        (deepcopier skips the field when filling the form); its Keywords are stored as unique
        lower-case words (``txt.UniqueWords(txt.Words(...))``); on 2026 servers every other
        Details field not sent (Subject, Notes, their sources ...) is emptied, as a real
        260630 did (Dec 2024 not probed; the fake keeps them there). Last, a title whose
        source is "" is generated again (``UpdateTitle``/``GenerateTitle``; Dec 2024 also
        when the title is empty), and with it a caption whose source is "" is emptied (no
        people known)."""
        lower = {str(k).lower(): v for k, v in form.items()}

        def text(key: str, current: str) -> str:
            value = lower.get(key, current)
            return value if isinstance(value, str) else current

        def number(key: str, current: float) -> float:
            value = lower.get(key, current)
            return float(value) if isinstance(value, (int, float)) and not isinstance(
                value, bool) else current

        times: dict[str, datetime] = {}
        for key in ("takenat", "takenatlocal"):
            if key in lower:
                try:  # Go keeps the offset sent; the local time is read by its wall clock
                    parsed = datetime.fromisoformat(str(lower[key]).replace("z", "Z"))
                except ValueError:
                    return "Unable to do that"
                if parsed.tzinfo is None:
                    parsed = parsed.replace(tzinfo=UTC)
                times[key] = (parsed.replace(tzinfo=UTC) if key == "takenatlocal"
                              else parsed.astimezone(UTC))
        title, title_src = text("title", photo.title), text("titlesrc", photo.title_src)
        cap = "caption" if self.new_api else "description"
        caption, caption_src = text(cap, photo.caption), text(cap + "src", photo.caption_src)
        if self.new_api and not caption and isinstance(lower.get("description"), str) \
                and lower["description"]:
            caption, caption_src = lower["description"], text("descriptionsrc", "")
        photo.title, photo.title_src, photo.caption, photo.caption_src = (
            title, title_src, caption, caption_src)
        if "favorite" in lower:
            photo.favorite = bool(lower["favorite"])
        if "private" in lower:
            photo.private = bool(lower["private"])
        if lower.get("type"):
            photo.type = str(lower["type"])
        if "quality" in lower and isinstance(lower["quality"], int):
            photo.quality = lower["quality"]
        old_ymd = self._ymd(photo)
        photo.taken_src = text("takensrc", photo.taken_src)
        photo.time_zone = text("timezone", photo.time_zone)
        photo.taken_at = times.get("takenat", photo.taken_at)
        photo.taken_at_local = times.get("takenatlocal", self._local(photo))
        photo.lat, photo.lng = number("lat", photo.lat), number("lng", photo.lng)
        photo.place_src = text("placesrc", photo.place_src)
        if self.new_api:
            photo.time_zone = _tz_name(photo.time_zone)
        if _tz_is_utc(photo.time_zone, self.new_api):
            photo.taken_at_local = photo.taken_at.replace(tzinfo=UTC)
        else:
            photo.taken_at = _utc_of_local(photo.taken_at_local, photo.time_zone, self.new_api)
        ymd = [lower.get(k, v) for k, v in zip(("year", "month", "day"), old_ymd, strict=True)]
        manual = ("manual", "batch") if self.new_api else ("manual",)
        if photo.taken_src in manual and all(isinstance(v, int) for v in ymd):
            photo.ymd = (ymd[0], ymd[1], ymd[2])
        else:
            photo.ymd = None
        details = lower.get("details")
        if isinstance(details, dict) and details.get("PhotoID") == photo.id:
            if self.new_api:
                # The form's Details start empty (deepcopier does not fill them from the
                # photo), and all of them are copied: what is not sent becomes "" (seen on
                # 260630: Keywords sent, Subject "harbour, boat"/xmp wiped to "").
                sent = {str(k).lower(): v for k, v in details.items()}
                for key in _DETAIL_KEYS:
                    value = sent.get(key.lower(), "")
                    photo.details[key] = value if isinstance(value, str) else ""
            for key, value in details.items():
                if key in _DETAIL_KEYS and isinstance(value, str) and not self.new_api:
                    photo.details[key] = value
            photo.details["Keywords"] = _keyword_words(photo.details.get("Keywords", ""))
        if not photo.title_src or (not self.new_api and not photo.title):
            photo.title = self._generated_title(photo)
            if not photo.caption_src:
                photo.caption = ""
        now = self._now()
        photo.updated_at = photo.edited_at = now
        self._invalidate()
        return None

    @staticmethod
    def _local(photo: FakePhoto) -> datetime:
        """The photo's TakenAtLocal (its wall clock, as a UTC value)."""
        local = photo.taken_at_local
        return local if local is not None else photo.taken_at.astimezone(UTC)

    def _ymd(self, photo: FakePhoto) -> tuple[int, int, int]:
        if photo.ymd is not None:
            return photo.ymd
        local = self._local(photo)
        return local.year, local.month, local.day

    def _generated_title(self, photo: FakePhoto) -> str:
        """What ``UpdateTitle`` makes of a photo without place or labels: its file name as
        words, or ``UnknownTitle``: "Unknown" on Dec 2024 servers, "" on 2026 ones
        (``entity_const.go``; seen on 260630: photos uploaded as IMG_0200.heic or with a
        title saved as "" with source "" have the title "")."""
        words = re.sub(r"[_\-.]+", " ", photo.original_name).strip()
        if words and not re.fullmatch(r"[A-Za-z]{0,4} ?\d*", words):
            return words.title()
        return "" if self.new_api else "Unknown"

    def _batch(self, req: _Request, action: str) -> _Response:
        self._require(req)
        if action not in ("archive", "restore", "delete", "private", "approve"):
            return self._not_found(req)
        if self.readonly:
            return self._err(403, "Not available in read-only mode", req)
        try:
            form = json.loads(req.body or b"{}")
            if not isinstance(form, dict):
                raise ValueError
        except ValueError:
            return self._err(400, "Unable to do that", req)
        uids = [str(u) for u in form.get("photos") or []]
        with self._lock:
            if action == "delete" and form.get("all"):
                uids = [p.uid for p in self._photos.values() if p.archived]
            if not uids:
                return self._err(400, "No items selected", req)
            if action == "delete" and not self.delete_enabled:
                return self._err(403, "Feature disabled", req)
            for uid in uids:
                if uid not in self._photos:
                    continue
                if action == "archive":
                    self.archive_photo(uid)
                elif action == "restore":
                    self.restore_photo(uid)
                elif action == "delete":
                    self.delete_photo(uid)
                elif action == "private":
                    p = self._photos[uid]
                    self.update_photo(uid, private=not p.private)
                elif action == "approve":
                    self.update_photo(uid, quality=max(self._photos[uid].quality, 3))
        message = {
            "archive": "Selection archived",
            "restore": "Selection restored",
            "delete": "Permanently deleted",
            "private": "Selection marked as private",
            "approve": "Selection approved",
        }[action]
        return self._json(200, {"code": 200, "message": message}, req)
