"""Turns search pages into a stream of remote originals, one page at a time.

Pages come from ``GET /photos?merged=true`` in the default order (newest added first), advancing
``offset`` by the rows the server counted (``X-Count``), finished when ``X-Count < X-Limit``.
Merged results hold a photo's files in ``Files``; a photo cut by a page edge shows up at the end
of one page and the start of the next, which the photo count stitches back together. Files are
deduplicated by FileUID through a caller-supplied filter (new imports during a walk shift rows
down and repeat them), and only ``Root == "/"`` files are originals: the ``sidecar`` root holds
generated previews. Memory holds one page, never the listing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ppsync.client import PhotoPrismClient
from ppsync.config import MirrorConfig
from ppsync.errors import ServerDataError
from ppsync.models import RemoteFile

ORIGINALS_ROOT = "/"
Dedupe = Callable[[list[RemoteFile]], list[RemoteFile]]


@dataclass(slots=True)
class WalkStats:
    rows: int = 0  # file rows, as the server counted them
    photos: int = 0  # distinct photos (stitched across page edges)
    originals: int = 0  # distinct originals yielded after dedupe
    pages: int = 0
    anomalies: list[str] = field(default_factory=list)


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ServerDataError(f"{where}: field {key!r} is missing or not text")
    return value


def _files_of(element: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    """The per-file dicts of a merged result (or the row itself when ``Files`` is null)."""
    files = element.get("Files")
    if isinstance(files, list) and files:
        if not all(isinstance(f, dict) for f in files):
            raise ServerDataError(f"{where}: Files holds something other than objects")
        return files
    # Unmerged shape: the file fields sit at the top level, without Size.
    return [{
        "UID": element.get("FileUID"), "Name": element.get("FileName"),
        "Root": element.get("FileRoot"), "Hash": element.get("Hash"), "Size": -1,
        "PhotoUID": element.get("UID"),
    }]


def parse_element(element: Any, where: str) -> tuple[str, int, list[RemoteFile]]:
    """One merged search result → (photo UID, rows it stands for, its originals).

    Raises ``ServerDataError`` when a field we depend on is missing or of the wrong type.
    """
    if not isinstance(element, dict):
        raise ServerDataError(f"{where}: a search result is not an object")
    photo_uid = _text(element, "UID", where)
    updated = element.get("UpdatedAt") if isinstance(element.get("UpdatedAt"), str) else ""
    files = _files_of(element, where)
    originals = []
    for index, data in enumerate(files):
        spot = f"{where}, file {index}"
        if data.get("Root") != ORIGINALS_ROOT:
            continue
        sha1 = _text(data, "Hash", spot).lower()
        if len(sha1) != 40 or any(c not in "0123456789abcdef" for c in sha1):
            raise ServerDataError(f"{spot}: Hash is not a SHA-1")
        size = data.get("Size", -1)
        if not isinstance(size, int) or isinstance(size, bool):
            raise ServerDataError(f"{spot}: Size is not a number")
        originals.append(RemoteFile(
            file_uid=_text(data, "UID", spot),
            photo_uid=photo_uid,
            name=_text(data, "Name", spot),
            sha1=sha1,
            size=size,
            photo_updated_at=str(updated),
            mime=str(data.get("Mime") or ""),
        ))
    return photo_uid, len(files), originals


def search_params(mirror: MirrorConfig) -> list[dict[str, str | int]]:
    """The searches whose union is the mirror: the library, plus the archive when asked."""
    base: dict[str, str | int] = {"merged": "true"}
    if not mirror.include_private:
        base["public"] = "true"
    if mirror.query:
        base["q"] = mirror.query
    searches = [base]
    if mirror.include_archived:
        searches.append({**base, "archived": "true"})
    return searches


class Walker:
    """Iterate ``pages()`` for lists of new originals; read ``stats`` afterwards."""

    def __init__(self, client: PhotoPrismClient, mirror: MirrorConfig, dedupe: Dedupe) -> None:
        self._client = client
        self._mirror = mirror
        self._dedupe = dedupe
        self.stats = WalkStats()

    def pages(self) -> Iterator[list[RemoteFile]]:
        for params in search_params(self._mirror):
            yield from self._walk(params)

    def _walk(self, params: Mapping[str, str | int]) -> Iterator[list[RemoteFile]]:
        count = self._mirror.page_size
        offset = 0
        previous_last_photo = ""
        while True:
            page = self._client.search_page(params, offset, count)
            where = f"search page at offset {offset}"
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
            if page.x_count < page.x_limit or page.x_count == 0:
                return
            offset += page.x_count
