"""Which albums hold a photo, for its sidecar: Immich's asset answer does not say, and a photo
leaving or joining an album does not move its ``updatedAt``.

The map (asset id → album ids) is read whole, at most once per pass, the first time a sidecar
needs it (``GET /albums`` and the members of each), so a pass that writes no sidecar sends
nothing, and a pass that writes many pays for the albums once, not per photo. ``forget`` drops
it when a new pass begins (the daemon keeps one server for every pass: a photo taken out of an
album must lose it in the sidecar written next).

The map holds ids only (asset id → album ids, members searched without EXIF): it grows with
the memberships, so no asset document is kept. A key without ``album.read`` (the README asks
it only for album folders) gets its sidecars all the same, naming no album: one warning a pass,
and ``ppsync check`` names the permission for "sidecars (album names)". Those photos come out
as ``albums_known = False``; the export writes their sidecars again in the first pass that can
read the albums (``readable``, one ``GET /albums`` a pass while some wait).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from ppsync.errors import AuthError, ServerDataError
from ppsync.logs import get_logger
from ppsync.servers.immich.client import ImmichClient
from ppsync.servers.immich.listing import check_next_page
from ppsync.servers.immich.wire import ImmichAsset, parse_album, parse_search_page

log = get_logger("ppsync.sidecars")


def album_member_assets(client: ImmichClient, album: str) -> list[ImmichAsset]:
    """The album's untrashed members, archived ones included, from the search with
    ``albumIds`` (album answers hide hidden and trashed members)."""
    members: dict[str, ImmichAsset] = {}
    for assets in _member_pages(client, album, with_exif=True):
        members.update((a.asset_id, a) for a in assets if not a.trashed)
    return list(members.values())


def album_member_ids(client: ImmichClient, album: str) -> set[str]:
    """The ids of the album's untrashed members, as ``album_member_assets`` finds them, without
    their EXIF (only the ids are kept)."""
    return {a.asset_id for assets in _member_pages(client, album, with_exif=False)
            for a in assets if not a.trashed}


def _member_pages(client: ImmichClient, album: str, *,
                  with_exif: bool) -> Iterator[Sequence[ImmichAsset]]:
    for visibility in ("timeline", "archive"):
        page: int | None = 1
        while page is not None:
            where = f"members of album {album}"
            parsed = parse_search_page(client.json(
                "POST", "/search/metadata", where,
                json={"albumIds": [album], "visibility": visibility, "page": page,
                      "size": 1000, "withExif": with_exif}), where)
            check_next_page(page, parsed.next_page, where)
            yield parsed.assets
            page = parsed.next_page


def album_ids(client: ImmichClient) -> list[str]:
    """The ids of every album the user sees (``GET /albums``)."""
    body = client.json("GET", "/albums", "listing albums")
    if not isinstance(body, list):
        raise ServerDataError("Immich albums: the answer is not a list")
    return [parse_album(raw).album_id for raw in body]


class AlbumMemberships:
    """The per-pass map; ``albums_of`` may be called from several worker threads at once."""

    def __init__(self, client: ImmichClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._read_done = False
        self._albums_of: dict[str, tuple[str, ...]] | None = None  # None: cannot be read

    def forget(self) -> None:
        """A new pass begins: read the memberships again when next needed."""
        with self._lock:
            self._read_done = False
            self._albums_of = None

    def readable(self) -> bool:
        """Can this pass read the albums (the map, read now if not yet)?"""
        with self._lock:
            return self._map() is not None

    def albums_of(self, asset_id: str) -> tuple[str, ...] | None:
        """The albums holding the asset; None when the albums cannot be read (the sidecar then
        says no album and is written again once they can be)."""
        with self._lock:  # one worker reads the map; the others wait for it
            found = self._map()
            return None if found is None else found.get(asset_id, ())

    def _map(self) -> dict[str, tuple[str, ...]] | None:
        if not self._read_done:
            self._albums_of = self._read()
            self._read_done = True
        return self._albums_of

    def _read(self) -> dict[str, tuple[str, ...]] | None:
        found: dict[str, list[str]] = {}
        try:
            for album in album_ids(self._client):
                for asset_id in album_member_ids(self._client, album):
                    found.setdefault(asset_id, []).append(album)
        except AuthError as exc:  # no map for this pass: one warning, not one a file
            log.warning("the sidecars of this pass name no album: the albums cannot be read "
                        "(an API key needs album.read for them); they are written again once "
                        "the albums can be read", error=str(exc))
            return None
        return {asset: tuple(sorted(albums)) for asset, albums in found.items()}
