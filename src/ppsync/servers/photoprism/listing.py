"""PhotoPrism's listing: search pages into a stream of neutral remote originals, and whether the
walk saw the whole library.

Pages come from ``GET /photos?merged=true`` in the default order (newest added first), advancing
``offset`` by the rows the server counted (``X-Count``), finished when ``X-Count < X-Limit``.
Merged results hold a photo's files in ``Files``; a photo cut by a page edge shows up at the end
of one page and the start of the next, which the photo count stitches back together. Files are
deduplicated by FileUID through a caller-supplied filter (new imports during a walk shift rows
down and repeat them), and only ``Root == "/"`` files are originals: the ``sidecar`` root holds
generated previews. Memory holds one page, never the listing.

A walk is complete when every page added up (``X-Count`` against the rows in its body), the library
totals that move rows (``LISTING_COUNTS``) read before and after it are equal, and an admin's
unfiltered walk saw at least as many photos as the server counts (``judge_walk``). A session the
server does not show its totals (a scope without ``config``) cannot see rows shift under its walk:
``still_listed`` then asks again, by hash, for each file the walk missed before any is removed.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Generator, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from ppsync.config import MirrorConfig
from ppsync.errors import ServerDataError
from ppsync.models import RemoteFile
from ppsync.servers.base import Fresh
from ppsync.servers.photoprism.client import PhotoPrismClient
from ppsync.servers.photoprism.values import SearchPage

ORIGINALS_ROOT = "/"
# The totals of ``config.count`` that move when photos or originals enter or leave a listing
# (photoprism-api.md, photoprism-api-changes.md §8: new servers add media, animated, audio,
# documents). A total the server does not send is missing on both sides and compares equal.
LISTING_COUNTS = ("all", "photos", "videos", "live", "media", "animated", "audio", "documents",
                  "hidden", "archived", "review", "private", "files")
HASH_BATCH = 50  # SHA-1s per lookup: ~2 KB of query string, well within any proxy's limit
_SHA1 = re.compile(r"[0-9a-f]{40}")


@dataclass(slots=True)
class WalkStats:
    rows: int = 0  # file rows, as the server counted them
    photos: int = 0  # distinct photos (stitched across page edges)
    originals: int = 0  # distinct originals yielded after dedupe
    pages: int = 0
    anomalies: list[str] = field(default_factory=list)
    server_date: str = ""  # Date header of the first page: when the server began answering


def _files_of(element: Mapping[str, Any]) -> list[Any]:
    """The per-file dicts of a merged result (or the row itself when ``Files`` is null)."""
    files = element.get("Files")
    if isinstance(files, list) and files:
        return files
    # Unmerged shape: the file fields sit at the top level, without Size.
    return [{
        "UID": element.get("FileUID"), "Name": element.get("FileName"),
        "Root": element.get("FileRoot"), "Hash": element.get("Hash"), "Size": -1,
    }]


def photo_flags(element: Mapping[str, Any]) -> str:
    """A result's Favorite and Private flags as ``"F-"``, ``"-P"``, ... ("" when it has
    neither field), with ``"A"`` appended while the photo is archived (``DeletedAt`` set).
    The like button writes Favorite, and archiving or restoring writes ``deleted_at``, without
    touching UpdatedAt (photoprism-api.md §h, ``Photo.Archive``/``Restore``), so sidecars
    compare these too. A photo that is not archived gets no mark, so the flags an older ppsync
    stored still compare equal."""
    flags = ""
    if "Favorite" in element or "Private" in element:
        flags = ("F" if element.get("Favorite") is True else "-") + (
            "P" if element.get("Private") is True else "-")
    return flags + ("A" if is_archived(element) else "")


def is_archived(element: Mapping[str, Any]) -> bool:
    """Is this search result or photo in PhotoPrism's archive? ``DeletedAt`` is omitted or
    null for a photo that is not (newer servers may send Go's zero time)."""
    deleted = element.get("DeletedAt")
    return type(deleted) is str and bool(deleted) and not deleted.startswith("0001-")


def _original(data: Any, photo_uid: str, updated: str, where: str,
              flags: str = "") -> RemoteFile | None:
    """One ``Files`` entry → a RemoteFile if it is an original, None for other roots."""
    if not isinstance(data, dict):
        raise ServerDataError(f"{where}: a file entry is not an object")
    if data.get("Root") != ORIGINALS_ROOT:
        return None
    uid, name, sha1, size = data.get("UID"), data.get("Name"), data.get("Hash"), data.get(
        "Size", -1)
    if type(uid) is not str or type(name) is not str or type(sha1) is not str:
        raise ServerDataError(f"{where}: UID, Name or Hash missing or not text")
    sha1 = sha1.lower()
    if not _SHA1.fullmatch(sha1):
        raise ServerDataError(f"{where}: Hash is not a SHA-1")
    if type(size) is not int:
        raise ServerDataError(f"{where}: Size is not a number")
    mime = data.get("Mime")
    return RemoteFile(uid, photo_uid, name, sha1, size, updated,
                      mime if type(mime) is str else "", flags)


def parse_element(element: Any, where: str) -> tuple[str, int, list[RemoteFile]]:
    """One merged search result → (photo UID, rows it stands for, its originals).

    Raises ``ServerDataError`` when a field we depend on is missing or of the wrong type.
    """
    if not isinstance(element, dict):
        raise ServerDataError(f"{where}: a search result is not an object")
    photo_uid = element.get("UID")
    if type(photo_uid) is not str:
        raise ServerDataError(f"{where}: field 'UID' is missing or not text")
    updated = element.get("UpdatedAt")
    updated = updated if type(updated) is str else ""
    files = _files_of(element)
    flags = photo_flags(element)
    taken = _taken_local(element.get("TakenAtLocal"))
    originals = []
    for data in files:
        original = _original(data, photo_uid, updated, where, flags)
        if original is not None:
            originals.append(replace(original, taken_local=taken) if taken else original)
    return photo_uid, len(files), originals


def _taken_local(value: Any) -> str:
    """``TakenAtLocal`` (the local wall clock, written as if UTC) as a zone-less ISO time for
    the layout template; "" for Go's zero time or anything unreadable."""
    if type(value) is not str or len(value) < 19 or value.startswith("0001-"):
        return ""
    try:
        return datetime.fromisoformat(value[:19]).isoformat()
    except ValueError:
        return ""


def search_params(mirror: MirrorConfig, updated_since: str = "") -> list[dict[str, str | int]]:
    """The searches whose union is the mirror: the library, plus the archive when asked.

    ``updated_since`` (RFC 3339) makes a change pass: only photos whose ``updated_at`` is at or
    after it. PhotoPrism sets ``updated_at`` when a photo is created, and bumps it when a file
    is added, renamed or re-indexed with new content, so one filter sees new photos, new files,
    moves and edits alike.
    """
    base: dict[str, str | int] = {"merged": "true"}
    if updated_since:
        base["updated"] = updated_since
    if not mirror.include_private:
        base["public"] = "true"
    if mirror.query:
        base["q"] = mirror.query
    searches = [base]
    if mirror.include_archived:
        searches.append({**base, "archived": "true"})
    return searches


def judge_walk(
    stats: WalkStats, counts_before: Mapping[str, int], counts_after: Mapping[str, int],
    mirror: MirrorConfig, *, admin: bool,
) -> tuple[bool, str]:
    """Can this walk be trusted as the whole library? Returns (complete, reason if not).

    Incomplete when a page did not add up (X-Count against the rows in its body), when the
    library changed while we walked (a total in ``LISTING_COUNTS`` differs before and after:
    concurrent deletions shift rows up and hide files), or when the walk saw fewer photos than
    the server says it holds. Other totals (favourites, albums, labels, places, ...) change
    with every star and background job and do not move rows, so they are not compared.
    """
    if stats.anomalies:
        return False, stats.anomalies[0]
    changed = sorted(k for k in LISTING_COUNTS if counts_before.get(k) != counts_after.get(k))
    if changed:
        return False, f"the library changed during the walk ({', '.join(changed)})"
    expected = expected_photos(counts_before, mirror) if admin else None
    if expected is not None and stats.photos < expected:
        return False, f"the walk saw {stats.photos} photos but the server counts {expected}"
    return True, ""


def expected_photos(counts: Mapping[str, int], mirror: MirrorConfig) -> int | None:
    """The fewest photos an unfiltered admin walk can see, from the server's ``config.count``;
    None when the configured filters make the server's totals incomparable.

    ``count.all`` leaves out private and review photos that an admin's walk does list, so it
    is a lower bound, never an exact total. (Other roles see only what is shared with them, so
    the check is made for admins only.)"""
    if mirror.query or not mirror.include_private or "all" not in counts:
        return None
    expected = counts["all"]
    if mirror.include_archived:
        expected += counts.get("archived", 0)
    return expected


class Walker:
    """A ``servers.base.Listing``: iterate ``pages()`` for lists of new originals, then ask
    ``verdict()``; ``stats`` holds what the walk counted."""

    def __init__(self, client: PhotoPrismClient, mirror: MirrorConfig, dedupe: Fresh,
                 updated_since: str = "", extra: Mapping[str, str] | None = None) -> None:
        self._client = client
        self._mirror = mirror
        self._dedupe = dedupe
        self._updated_since = updated_since
        self._extra = dict(extra or {})  # more filters on every search (e.g. ``hash``)
        self._counts_before: dict[str, int] = {}
        # False when the server would not tell its totals (a scope without "config" gets the
        # public config): they cannot show that rows shifted under the walk.
        self._counts_known = True
        self.stats = WalkStats()

    @property
    def listed(self) -> int:
        return self.stats.originals

    def pages(self) -> Iterator[list[RemoteFile]]:
        # Totals read around *this* walk: a session's login-time totals go stale as soon as
        # the library changes, and a long-lived daemon keeps its session for days.
        if not self._updated_since and not self._extra:  # a lookup is judged by its caller
            self._counts_before = self._client.fetch_counts()
        for params in search_params(self._mirror, self._updated_since):
            yield from self._walk({**params, **self._extra})

    def verdict(self) -> tuple[bool, str]:
        if self._updated_since:
            return False, "a change pass never removes files"
        counts_after = self._client.fetch_counts()
        self._counts_known = bool(self._counts_before) and bool(counts_after)
        session = self._client.session
        admin = session is not None and session.role == "admin"
        return judge_walk(self.stats, self._counts_before, counts_after, self._mirror,
                          admin=admin)

    def must_confirm_removals(self) -> bool:
        """After ``verdict()``: a full walk without the server's totals (see ``still_listed``)."""
        return not self._updated_since and not self._counts_known

    def still_listed(self, files: Mapping[str, str]) -> set[str]:
        """Which of these files (FileUID → SHA-1) the walk's own searches list right now.

        Asks ``GET /photos?hash=h1|h2|…`` with the same filters as the walk (public,
        archived, q), in batches; a file it returns with the same FileUID is still on the
        server and in the mirror's scope, however the walk came to miss it."""
        found: set[str] = set()
        sha1s = sorted(set(files.values()))
        for start in range(0, len(sha1s), HASH_BATCH):
            batch = "|".join(sha1s[start:start + HASH_BATCH])
            lookup = Walker(self._client, self._mirror, lambda page: page, extra={"hash": batch})
            for page in lookup.pages():
                found.update(f.file_uid for f in page if f.file_uid in files)
        return found

    def started(self) -> datetime | None:
        """The first page's Date header: when the server began answering."""
        if not self.stats.server_date:
            return None
        try:
            return email.utils.parsedate_to_datetime(self.stats.server_date).astimezone(UTC)
        except (TypeError, ValueError):
            return None

    def _walk(self, params: Mapping[str, str | int]) -> Iterator[list[RemoteFile]]:
        count = self._mirror.page_size
        offset = 0
        previous_last_photo = ""
        # The next page is fetched while this one is planned: the server's time to build a
        # page and ours to plan it overlap instead of adding up. Two pages in memory at most.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ppsync-walk") as prefetch:
            upcoming: Future[SearchPage] | None = prefetch.submit(
                self._client.search_page, params, offset, count)
            while upcoming is not None:
                page = upcoming.result()
                last = page.x_count < page.x_limit or page.x_count == 0
                next_offset = offset + page.x_count
                upcoming = None if last else prefetch.submit(
                    self._client.search_page, params, next_offset, count)
                previous_last_photo = yield from self._page(page, offset, previous_last_photo)
                page.rows.clear()  # free this page now, not when a later GC finds it
                offset = next_offset

    def _page(self, page: SearchPage, offset: int,
              previous_last_photo: str) -> Generator[list[RemoteFile], None, str]:
        """Parse one page and yield its new originals; returns the page's last photo UID."""
        where = f"search page at offset {offset}"
        self.stats.server_date = self.stats.server_date or page.server_date
        rows_in_body = 0
        found: list[RemoteFile] = []
        for index, element in enumerate(page.rows):
            photo_uid, rows, originals = parse_element(element, f"{where}, result {index}")
            rows_in_body += rows
            # A photo cut by the page edge continues as the first result of this page.
            if not (index == 0 and photo_uid == previous_last_photo):
                self.stats.photos += 1
            previous_last_photo = photo_uid
            found.extend(originals)
        if rows_in_body != page.x_count:
            self.stats.anomalies.append(
                f"{where}: X-Count says {page.x_count} rows but the body holds {rows_in_body}"
            )
        self.stats.rows += page.x_count
        self.stats.pages += 1
        fresh = self._dedupe(found)
        self.stats.originals += len(fresh)
        yield fresh
        return previous_last_photo
