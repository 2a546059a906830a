"""The metadata export tables: sidecars written next to originals, and album folders.

Tables (schema 3, created by ``ppsync.state.migrations``; ``flags`` since schema 4,
``albums_unknown`` since 5)::

    photos   per photo with a metadata export: the change stamp and Favorite/Private flags the
           written sidecars reflect, the primary original's path they sit next to, which
           kinds were written, and whether they lack the album names (the server would not
           say them: written again once it can)
    photo_todo  photos this walk saw with a change stamp or flags that differ from ``photos``:
           the only ones whose details are fetched (a no-op pass leaves it empty)
    sidecar_files  file keys of metadata sidecar originals (XMP, AAE...) and their photo: search
           never lists them, so a walk that sees the photo counts them as seen
    albums / album_entries  album folders ppsync made and every entry in them (nothing else
           under the album folder is ever removed)

Several queries here also read ``files`` or fill ``walk`` (``ppsync.state.files``): sidecars and
album entries follow the mirrored originals they were made from.

One scratch table lives only as long as its walk, in the connection's TEMP schema (no schema
version: nothing of it is ever stored)::

    walk_archived  photos the current walk listed as archived where the server archives without
           moving the change stamp (PhotoPrism): which album members are archived now
"""

from __future__ import annotations

from collections.abc import Iterable

from ppsync.state.base import StateBase, _chunks


class ExportMixin(StateBase):
    """Photo metadata sidecars (``photos``, ``photo_todo``, ``sidecar_files``) and album
    folders (``albums``, ``album_entries``)."""

    # --- photo metadata (sidecars) ----------------------------------------------------------

    def note_photos(self, seen: dict[str, tuple[str, str]], kinds: str) -> None:
        """Per walk page, ``seen`` = photo UID → (change stamp, flags) as the rows show them:
        queue the photos whose sidecars are missing, older than their change stamp, written with
        other Favorite/Private flags (a star does not move the change stamp) or as other kinds, and
        mark the sidecar originals of every photo in the page as seen by this walk. One
        SELECT when nothing changed."""
        uids = list(seen)
        sql = ("SELECT photo_uid, updated_at, flags, kinds FROM photos "
               "WHERE photo_uid IN ({marks})")
        known = {row[0]: ((row[1], row[2]), row[3]) for row in self._rows_in(sql, uids)}
        stale = [(uid, *seen[uid]) for uid in uids if known.get(uid) != (seen[uid], kinds)]
        with self.transaction():
            if stale:
                self.db.conn.executemany(
                    "INSERT OR REPLACE INTO photo_todo (photo_uid, updated_at, flags) "
                    "VALUES (?, ?, ?)", stale)
            for chunk in _chunks(uids):
                marks = ",".join("?" * len(chunk))
                self.db.execute(
                    "INSERT OR IGNORE INTO walk (file_uid, path) "
                    "SELECT s.file_uid, claim_key(f.path) FROM sidecar_files s "
                    "JOIN files f ON f.file_uid = s.file_uid "
                    f"WHERE s.photo_uid IN ({marks})", chunk)

    def photo_todo(self, limit: int) -> list[tuple[str, str, str]]:
        """Up to ``limit`` queued (photo UID, change stamp, flags)."""
        sql = "SELECT photo_uid, updated_at, flags FROM photo_todo ORDER BY photo_uid LIMIT ?"
        return [(r[0], r[1], r[2]) for r in self.db.execute(sql, [limit]).fetchall()]

    def done_todo(self, photo_uids: list[str]) -> None:
        with self.transaction():
            self.db.conn.executemany("DELETE FROM photo_todo WHERE photo_uid = ?",
                                     [(u,) for u in photo_uids])

    def photo_row(self, photo_uid: str) -> tuple[str, str, str] | None:
        """(updated_at, path, kinds) of a photo's written sidecars, or None."""
        row = self.db.execute("SELECT updated_at, path, kinds FROM photos WHERE photo_uid = ?",
                              [photo_uid]).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def save_photo(self, photo_uid: str, seen: tuple[str, str], path: str, kinds: str, *,
                   albums_known: bool = True) -> None:
        """The photo's sidecars now reflect ``seen`` = (change stamp, flags); without album
        names when not ``albums_known``."""
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO photos (photo_uid, updated_at, flags, path, "
                            "kinds, albums_unknown) VALUES (?, ?, ?, ?, ?, ?)",
                            [photo_uid, *seen, path, kinds, int(not albums_known)])

    def any_photo_without_albums(self) -> bool:
        """Are there sidecars written without album names (``save_photo``)?"""
        sql = "SELECT 1 FROM photos WHERE albums_unknown = 1 LIMIT 1"
        return self.db.execute(sql).fetchone() is not None

    def requeue_photos_without_albums(self) -> int:
        """Queue every photo whose sidecars lack the album names, with the change stamp and
        flags they were written from (so the next walk sees no difference); how many."""
        with self.transaction():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO photo_todo (photo_uid, updated_at, flags) "
                "SELECT photo_uid, updated_at, flags FROM photos WHERE albums_unknown = 1")
            return int(cursor.rowcount)

    def drop_photo(self, photo_uid: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM photos WHERE photo_uid = ?", [photo_uid])

    def orphan_photos(self) -> list[tuple[str, str, str]]:
        """(photo UID, path, kinds) of sidecars whose original is no longer held there (a file
        kept from an earlier server keeps its sidecars: they are its metadata's only record)."""
        # NOT IN builds one lookup table; a correlated NOT EXISTS let the planner scan the
        # files table per photo (quadratic: 1.5 s at 5,000 photos).
        sql = ("SELECT photo_uid, path, kinds FROM photos WHERE path NOT IN "
               "(SELECT path FROM files WHERE status IN ('active', 'kept'))")
        return [(r[0], r[1], r[2]) for r in self.db.execute(sql).fetchall()]

    def photo_has_active_file(self, photo_uid: str) -> bool:
        sql = "SELECT 1 FROM files WHERE photo_uid = ? AND status = 'active' LIMIT 1"
        return self.db.execute(sql, [photo_uid]).fetchone() is not None

    def requeue_photo(self, photo_uid: str) -> None:
        """Queue a photo for export in this pass. A photo the walk queued keeps the walk's
        change stamp; otherwise the one its sidecars were written from (the details' when none),
        so the next walk does not see a difference that is only a matter of formatting."""
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO photo_todo (photo_uid, updated_at, flags) VALUES (?, "
                "COALESCE((SELECT updated_at FROM photos WHERE photo_uid = ?), ''), "
                "COALESCE((SELECT flags FROM photos WHERE photo_uid = ?), ''))",
                [photo_uid, photo_uid, photo_uid])

    def set_sidecar_files(self, photo_uid: str, file_uids: Iterable[str]) -> None:
        """The photo's metadata sidecar originals are exactly these file keys from now on."""
        with self.transaction():
            self.db.execute("DELETE FROM sidecar_files WHERE photo_uid = ?", [photo_uid])
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO sidecar_files (file_uid, photo_uid) VALUES (?, ?)",
                [(uid, photo_uid) for uid in file_uids])

    def note_archived(self, photo_uids: Iterable[str]) -> None:
        """Per walk page: these photos are archived, as the walk listed them."""
        uids = [(uid,) for uid in set(photo_uids)]
        if not uids:
            return
        with self.transaction():
            self._walk_archived()
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO temp.walk_archived (photo_uid) VALUES (?)", uids)

    def archived_members(self, album_uid: str) -> list[str]:
        """The album's recorded members that the current walk listed as archived, sorted."""
        self._walk_archived()
        sql = ("SELECT e.photo_uid FROM album_entries e JOIN temp.walk_archived a "
               "ON a.photo_uid = e.photo_uid WHERE e.album_uid = ? ORDER BY e.photo_uid")
        return [r[0] for r in self.db.execute(sql, [album_uid]).fetchall()]

    def _walk_archived(self) -> None:
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS walk_archived "
                        "(photo_uid TEXT PRIMARY KEY)")

    # --- album folders ----------------------------------------------------------------------

    def active_path_under(self, folder: str) -> str | None:
        """A mirrored original inside ``folder/`` (the album folder must hold none)."""
        # ``+status``: a range of the path index, not a read of every active row
        sql = ("SELECT path FROM files WHERE +status = 'active' AND path >= ? AND path < ? "
               "LIMIT 1")
        row = self.db.execute(sql, [folder + "/", folder + "0"]).fetchone()
        return str(row[0]) if row else None

    def album_rows(self) -> dict[str, tuple[str, str, str]]:
        """Album folders ppsync made: album UID → (folder name, change stamp, mode)."""
        sql = "SELECT album_uid, folder, updated_at, mode FROM albums"
        return {r[0]: (r[1], r[2], r[3]) for r in self.db.execute(sql).fetchall()}

    def save_album(self, album_uid: str, folder: str, updated_at: str, mode: str) -> None:
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO albums (album_uid, folder, updated_at, mode) "
                            "VALUES (?, ?, ?, ?)", [album_uid, folder, updated_at, mode])

    def drop_album(self, album_uid: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM albums WHERE album_uid = ?", [album_uid])
            self.db.execute("DELETE FROM album_entries WHERE album_uid = ?", [album_uid])

    def album_entries(self, album_uid: str) -> dict[str, tuple[str, str, str, str]]:
        """photo UID → (entry name or '' for none, file key, source path, SHA-1)."""
        sql = ("SELECT photo_uid, entry, file_uid, source, sha1 FROM album_entries "
               "WHERE album_uid = ?")
        return {r[0]: (r[1], r[2], r[3], r[4])
                for r in self.db.execute(sql, [album_uid]).fetchall()}

    def set_album_entries(self, album_uid: str,
                          entries: dict[str, tuple[str, str, str, str]]) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM album_entries WHERE album_uid = ?", [album_uid])
            self.db.conn.executemany(
                "INSERT INTO album_entries (album_uid, photo_uid, entry, file_uid, source, sha1) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(album_uid, photo, *values) for photo, values in entries.items()])

    def stale_albums(self) -> set[str]:
        """Albums whose entries no longer match the mirror: an original moved, changed, left,
        or (for a member without an entry) is mirrored now."""
        sql = ("SELECT DISTINCT e.album_uid FROM album_entries e LEFT JOIN files f "
               "ON f.file_uid = e.file_uid AND f.status = 'active' "
               "WHERE (f.file_uid IS NULL) != (e.entry = '') "
               "OR (e.entry != '' AND (f.path != e.source OR f.sha1 != e.sha1))")
        return {r[0] for r in self.db.execute(sql).fetchall()}
