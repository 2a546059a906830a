"""Changing the library as a user or a rescan would: edit, rename and delete files, delete,
archive and restore photos, edit their metadata (with its sources), places and labels."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fake_photoprism.media import _colour_of
from tests.fake_photoprism.model import FakeFile, FakePhoto
from tests.fake_photoprism.times import _utc_of_local
from tests.fake_photoprism.words import _keyword_words, _src_wins


class Changes:
    """The changes part of ``FakePhotoPrism`` (a mixin: the state is the fake's)."""

    def edit_file(self, file_uid: str, content: bytes) -> None:
        """Replace a file's content in place: same UID and name, new hash, size and mtime."""
        with self._lock:
            f = self._files[file_uid]
            self._unindex_hash(f)
            now = self._now()
            f.content, f.path, f.synthetic = content, None, False
            f.sha1 = hashlib.sha1(content).hexdigest()
            f.size = len(content)
            f.mtime = float(max(int(now.timestamp()), int(f.mtime) + 1))
            f.updated_at = now
            self._by_hash.setdefault(f.sha1, []).append(f)
            self._photos[f.photo_uid].updated_at = now
            self._invalidate()

    def rename_file(self, file_uid: str, new_name: str) -> None:
        """Move a file: same UID and hash, new name; the photo's ``updated_at`` moves."""
        with self._lock:
            f = self._files[file_uid]
            now = self._now()
            f.name = new_name
            f.updated_at = now
            self._photos[f.photo_uid].updated_at = now
            self._invalidate()

    def set_file_name_raw(self, file_uid: str, name: str) -> None:
        """Set any name, unvalidated (``../../etc/x``, ``/abs``, ``a\\x00b``, very long …)."""
        with self._lock:
            self._files[file_uid].name = name
            self._invalidate()

    def _unindex_hash(self, f: FakeFile) -> None:
        lst = self._by_hash.get(f.sha1)
        if lst is not None:
            lst[:] = [x for x in lst if x is not f]
            if not lst:
                del self._by_hash[f.sha1]

    def delete_file(self, file_uid: str) -> None:
        """Hard-delete one file. A photo left without files is deleted too; a deleted primary
        is replaced by the next non-sidecar file (as re-indexing would do)."""
        with self._lock:
            f = self._files.pop(file_uid)
            self._unindex_hash(f)
            photo = self._photos[f.photo_uid]
            photo.files = [x for x in photo.files if x is not f]
            if not photo.files:
                self._drop_photo(photo)
            else:
                if f.primary:
                    for cand in sorted(photo.files, key=lambda x: (x.root != "/", x.uid)):
                        if not cand.sidecar:
                            cand.primary = True
                            break
                photo.updated_at = self._now()
            self._invalidate()

    def _drop_photo(self, photo: FakePhoto) -> None:
        for f in photo.files:
            self._files.pop(f.uid, None)
            self._unindex_hash(f)
        photo.files = []
        self._photos.pop(photo.uid, None)
        for album in self._albums.values():
            if photo.uid in album.photo_uids:
                album.photo_uids.remove(photo.uid)

    def delete_photo(self, photo_uid: str) -> None:
        """Hard-delete a photo and its files (gone from search; ``/dl`` gives 404 JSON)."""
        with self._lock:
            self._drop_photo(self._photos[photo_uid])
            self._invalidate()

    def archive_photo(self, photo_uid: str) -> None:
        """Like ``Photo.Archive``: ``deleted_at`` set, and every album entry of the photo hidden
        (``photos_albums.hidden = 1``, as removing it from the album does). Albums then neither
        list it (``s=``, even with ``archived=true``) nor appear in its details; the albums'
        own ``UpdatedAt`` does not change (the server updates only the entries). Nor does the
        photo's: ``Photo.Archive`` writes ``deleted_at`` with a column update, so a change
        query (``updated=``) never sees an archived photo."""
        with self._lock:
            photo = self._photos[photo_uid]
            if not photo.archived:
                photo.archived, photo.deleted_at = True, self._now()
                for album in self._albums.values():
                    if photo_uid in album.photo_uids:
                        album.photo_uids.remove(photo_uid)
                photo.album_uids.clear()
                self._invalidate()

    def restore_photo(self, photo_uid: str) -> None:
        """Like ``Photo.Restore``: only ``deleted_at`` is cleared; album entries hidden by
        archiving stay hidden. ``UpdatedAt`` does not move: the server clears the column with
        GORM's ``UpdateColumn`` (``internal/api/batch_photos.go`` ``BatchPhotosRestore`` and
        ``internal/entity/photo.go`` ``Photo.Restore``), which skips the update hooks, so a
        change feed (``updated=``) does not list a photo restored from the archive."""
        with self._lock:
            photo = self._photos[photo_uid]
            if photo.archived:
                photo.archived, photo.deleted_at = False, None
                self._invalidate()

    def update_photo(self, photo_uid: str, **changes: Any) -> None:
        """Set FakePhoto attributes (title, caption, favorite, private, quality, type, taken_at)
        and bump ``updated_at`` / ``edited_at``; use this rather than assigning directly."""
        with self._lock:
            photo = self._photos[photo_uid]
            for key, value in changes.items():
                if key not in {
                    "title",
                    "caption",
                    "favorite",
                    "private",
                    "quality",
                    "type",
                    "taken_at",
                }:
                    raise AttributeError(key)
                setattr(photo, key, value)
                if key == "title":
                    photo.title_src = "manual"  # the web UI sends TitleSrc "manual"
                elif key == "caption":
                    photo.caption_src = "manual"
            now = self._now()
            photo.updated_at = photo.edited_at = now
            self._invalidate()

    def like_photo(self, photo_uid: str, favorite: bool = True) -> None:
        """Star (or unstar) a photo as the UI's heart does: a column update that leaves
        ``updated_at`` alone (photoprism-api.md §h)."""
        with self._lock:
            self._photos[photo_uid].favorite = favorite
            self._invalidate()

    def age_library(self, seconds: float) -> None:
        """Move every photo's and file's timestamps ``seconds`` into the past: a library
        last changed that long ago (so a change pass lists none of it)."""
        delta = timedelta(seconds=seconds)
        with self._lock:
            for photo in self._photos.values():
                photo.created_at -= delta
                photo.updated_at -= delta
                if photo.edited_at is not None:
                    photo.edited_at -= delta
                for f in photo.files:
                    f.created_at -= delta
                    f.updated_at -= delta
            self._invalidate()

    def set_file_caption(self, photo_uid: str, caption: str) -> None:
        """What the file's own metadata says the caption is (a rescan reads it back)."""
        with self._lock:
            self._photos[photo_uid].meta_caption = caption

    def set_file_metadata(
        self,
        photo_uid: str,
        *,
        title: str | None = None,
        caption: str | None = None,
        keywords: str | None = None,
        taken: tuple[datetime, str] | None = None,
        place: tuple[float, float] | None = None,
        src: str = "meta",
        subject: str | None = None,
    ) -> None:
        """What the photo's files say (``src``: "meta" from the media file, "xmp" from an XMP
        sidecar): a rescan sets each value whose source does not outrank it (SrcPriority).
        ``taken``: (local wall clock, zone name); ``subject``: Details.Subject."""
        with self._lock:
            photo = self._photos[photo_uid]
            photo.meta_src = src
            if title is not None:
                photo.meta_title = title
            if caption is not None:
                photo.meta_caption = caption
            if keywords is not None:
                photo.meta_keywords = keywords
            if subject is not None:
                photo.meta_subject = subject
            if taken is not None:
                local, zone = taken[0].replace(tzinfo=UTC), taken[1]
                photo.meta_taken = (_utc_of_local(local, zone, self.new_api), local, zone)
            if place is not None:
                photo.meta_place = place

    def set_photo_metadata(
        self,
        photo_uid: str,
        *,
        keywords: str | None = None,
        keywords_src: str = "meta",
        location: tuple[float, float] | None = None,
        place_src: str = "meta",
        taken: tuple[datetime, str] | None = None,
        taken_src: str = "meta",
    ) -> None:
        """Seed what the library holds for a photo, as an index or a person left it:
        ``keywords`` (Details.Keywords as given, with ``keywords_src``), ``location``
        (lat, lng with ``place_src``), ``taken`` (local wall clock, zone name; TakenAt is
        computed like the server does, with ``taken_src``). Bumps ``updated_at``."""
        with self._lock:
            photo = self._photos[photo_uid]
            if keywords is not None:
                photo.details["Keywords"], photo.details["KeywordsSrc"] = keywords, keywords_src
            if location is not None:
                (photo.lat, photo.lng), photo.place_src = location, place_src
            if taken is not None:
                local, zone = taken[0].replace(tzinfo=UTC), taken[1]
                photo.taken_at_local, photo.time_zone, photo.taken_src = local, zone, taken_src
                photo.taken_at = _utc_of_local(local, zone, self.new_api)
                photo.ymd = None
            photo.updated_at = self._now()
            self._invalidate()

    def set_place(self, photo_uid: str, label: str, city: str, state: str) -> None:
        """What a server with places on finds for the photo's location: the place's label
        ("Berlin, Germany"), city and state, shown in ``Place``; a 2026 rescan adds their
        words to the keywords (``locKeywords``)."""
        with self._lock:
            photo = self._photos[photo_uid]
            photo.place = (label, city, state)
            photo.updated_at = self._now()
            self._invalidate()

    def add_label(self, photo_uid: str, name: str, src: str = "manual",
                  uncertainty: int = 0) -> None:
        """Give the photo a label: ``src`` "manual" (a person added it), "image" (the
        classifier), ...; a person removing a classifier's label leaves it "manual" with
        uncertainty 100 (``internal/api/photo_label.go``). The label is found or made as
        ``POST /photos/<uid>/label`` does (``_find_or_make_label``); one the photo has is
        replaced."""
        with self._lock:
            photo = self._photos[photo_uid]
            label = self._find_or_make_label(name, 0)
            photo.labels = [lb for lb in photo.labels if lb[0] != label] + [
                (label, src, uncertainty)]
            photo.updated_at = self._now()
            self._invalidate()

    def _reindex_metadata(self, photo: FakePhoto) -> None:
        """What an index does with the file's metadata (``index_mediafile.go``: SetTitle,
        SetCaption, SetTakenAt, SetCoordinates, Details.SetKeywords with "meta" or "xmp"): a
        value replaces the photo's unless the photo's source outranks the file's; empty values
        change nothing. A title whose source is "" is then generated again. 2026 servers (as
        seen on 260630) then add the words the index finds itself, here the primary file's
        main colour, to the keywords whatever their source: "boat, sea" (manual) becomes
        "boat, orange, sea", still "manual"; a photo without keywords gets "orange" with
        source "" (``index_mediafile.go``: UniqueWords of the keywords, file-name words and
        ``FileMainColor``). The words of its place (``set_place``) and of the labels the
        classifier or the place gave it go there too (``locKeywords``,
        ``photoLabels.Keywords()``); those of labels a person added do not (seen on 260630: 13
        manual labels, keywords still "orange" after a rescan)."""
        src = photo.meta_src
        if photo.meta_title and (_src_wins(src, photo.title_src) or not photo.title):
            photo.title, photo.title_src = photo.meta_title, src
        if photo.meta_caption and (_src_wins(src, photo.caption_src) or not photo.caption):
            photo.caption, photo.caption_src = photo.meta_caption, src
        have = photo.details.get("Keywords", "")
        if photo.meta_keywords and (_src_wins(src, photo.details.get("KeywordsSrc", ""))
                                    or not have):
            photo.details["Keywords"], photo.details["KeywordsSrc"] = photo.meta_keywords, src
        if photo.meta_subject and (_src_wins(src, photo.details.get("SubjectSrc", ""))
                                   or not photo.details.get("Subject")):
            photo.details["Subject"], photo.details["SubjectSrc"] = photo.meta_subject, src
        if photo.meta_taken is not None and _src_wins(src, photo.taken_src):
            photo.taken_at, photo.taken_at_local, photo.time_zone = photo.meta_taken
            photo.taken_src, photo.ymd = src, None
        if photo.meta_place is not None and _src_wins(src, photo.place_src):
            (photo.lat, photo.lng), photo.place_src = photo.meta_place, src
        if not photo.title_src:  # UpdateTitle: only a generated title is redone
            photo.title = self._generated_title(photo)
        if self.new_api:
            primary = next((f for f in photo.files if f.primary), None)
            photo.main_colour = _colour_of(primary.sha1 if primary else "")
            labels = [name for name, src, uncertainty in photo.labels if uncertainty < 100
                      and src not in ("manual", "title", "subject", "keyword")]
            words = ", ".join(w for w in (photo.details.get("Keywords", ""),
                                          photo.main_colour, *photo.place, *labels) if w)
            photo.details["Keywords"] = _keyword_words(words)
            photo.details.setdefault("KeywordsSrc", "")
