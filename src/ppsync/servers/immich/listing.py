"""Immich's listing: ``POST /search/metadata`` walked once per visibility that belongs in the
mirror, turned into neutral remote originals, and whether the walk saw the whole library.

Walks (immich-api.md §4): ``timeline``; ``archive`` with ``include_archived``; ``hidden`` (the
videos of live photos) last, keeping only the videos of stills the walks before held (an
archived still's video stays out with it). Each asks ``withExif`` (sizes and metadata without
per-asset requests), pages by ``page`` until ``nextPage`` is null, and is offset paging, so
files are deduplicated by asset id (``fresh``). Trashed assets are not listed (``withDeleted``
is off): they have left the library, and a complete walk's removals take them away under the
policy.

A change walk (``updatedAfter``) also fetches the live videos of the stills it listed that its
hidden walk did not (``companions``): Immich trashes and restores exactly the ids it is given,
so a still restored from the trash has a new ``updatedAt`` while its video keeps its old one
(``server/src/repositories/trash.repository.ts`` ``restoreAll``), and without this the photo
would come back without its video until the next full walk. One ``GET /assets/{id}`` per such
still; none when the video changed too (an upload, say) or no live still changed.

Complete when every walk reached ``nextPage: null`` without failure and, on a full walk that
includes the archive, the unique timeline + archive assets seen (an asset archived mid-walk is
listed twice) are at least the statistics' ``total`` read before the walk when the server lets
us read it (v1.135: the count of timeline and archived assets; v2.5 asks ``asset.statistics``
of a key); without the archive walk the count cannot judge it and is not read. A change walk
(``updatedAfter``) is never complete.

Every removal of a full walk is confirmed per asset (``still_listed``), counted or not: offset
paging can skip a row when an asset earlier in the order is trashed mid-walk, and an upload
landing in the same walk makes up the count, so no count proves a missing asset is gone.

An edited image (v2.5 and later, ``isEdited``) is listed twice: its original, and its edited
rendition (``rendition_file``), which leaves the listing when the edit is reverted.

Only the user's own assets are mirrored. The search also answers a partner's assets when the
user shows that partner in their timeline (the server adds partners' ids to every search);
they are the partner's photos, which can leave with one click on the partner's side, and the
statistics do not count them. Telling them apart needs the user's id (``GET /users/me``,
``user.read`` for a v2.5 key).
"""

from __future__ import annotations

import dataclasses
import email.utils
from collections.abc import Iterator, Mapping
from datetime import datetime

from ppsync.config import MirrorConfig
from ppsync.errors import AuthError, PermissionRefused, ServerBusy, ServerDataError
from ppsync.logs import get_logger
from ppsync.models import RemoteFile, edited_key, is_edited_key, original_key
from ppsync.servers.base import Fresh
from ppsync.servers.http import json_body
from ppsync.servers.immich.client import ImmichClient
from ppsync.servers.immich.wire import (
    ImmichAsset,
    SearchPage,
    parse_asset,
    parse_search_page,
    parse_statistics,
)
from ppsync.servers.read_ahead import read_ahead

log = get_logger("ppsync.listing")


def remote_file(asset: ImmichAsset) -> RemoteFile:
    """One asset as the engine's remote original: its ``name`` is the uploaded file name (the
    engine's layout template places it); ``taken_local`` is the wall clock where taken; a live
    video's ``photo_uid`` is its still's key."""
    return RemoteFile(
        asset.asset_id, asset.photo_key, asset.original_name, asset.sha1,
        asset.size if asset.size is not None else -1,
        asset.change_stamp.isoformat().replace("+00:00", "Z"),
        photo_flags=("F" if asset.favourite else "-") + "-",
        original_name=asset.original_name,
        taken_local=asset.taken_local.isoformat(),
    )


def rendition_file(asset: ImmichAsset) -> RemoteFile | None:
    """The edited rendition of an edited image (v2.5 and later: ``isEdited``), downloaded with
    ``GET /assets/{id}/original?edited=true``, or None. The server keeps no checksum of it:
    SHA-1 "" and size -1, with ``updatedAt`` as its version (``mirror.renditions``). It is
    named ``<stem>.edited.jpg`` beside the original (the server renders edits as JPEG, its
    default full-size format), so the layout template places it next to the original."""
    if not asset.is_edited or asset.media_type != "image":
        return None  # the server edits neither videos nor live photos
    stem = asset.original_name.rsplit(".", 1)[0] if "." in asset.original_name.lstrip(".") \
        else asset.original_name
    name = f"{stem}.edited.jpg"
    return RemoteFile(
        edited_key(asset.asset_id), asset.photo_key, name, "", -1,
        asset.change_stamp.isoformat().replace("+00:00", "Z"),
        photo_flags=("F" if asset.favourite else "-") + "-", mime="image/jpeg",
        original_name=name, taken_local=asset.taken_local.isoformat(),
    )


class ImmichListing:
    """One walk; see the module docstring."""

    def __init__(self, client: ImmichClient, mirror: MirrorConfig, fresh: Fresh,
                 since: str = "") -> None:
        self._client = client
        self._mirror = mirror
        self._fresh = fresh
        self._since = since
        self._listed = 0
        self._walked = 0  # unique timeline + archive assets seen, for the statistics check
        self._complete = False
        self._why = "the walk did not finish"
        self._started: datetime | None = None
        self._expected: int | None = None
        self._stills: dict[str, tuple[str, datetime]] = {}  # live video id → (still, taken)
        self._partners = 0  # partners' shared assets the searches answered, left out
        self._videos_walked: set[str] = set()  # hidden assets the hidden walk answered

    @property
    def listed(self) -> int:
        return self._listed

    def visibilities(self) -> list[str]:
        # hidden last: its live videos take their stills' keys, noted by the walks before
        return ["timeline"] + (["archive"] if self._mirror.include_archived else []) + ["hidden"]

    def _statistics(self) -> int | None:
        """The count to check the walk against, or None. The count is optional (every
        removal is confirmed per asset), so a statistics call that outlasted its retries or
        answered what we cannot read costs the cross-check, not the pass."""
        try:
            return parse_statistics(
                self._client.json("GET", "/assets/statistics", "asset statistics"))[2]
        except AuthError:
            return None  # a key without asset.statistics: ``ppsync check`` says so
        except (ServerBusy, ServerDataError) as exc:
            log.warning("the library's count could not be read; the walk is not checked "
                        "against it (removals are still confirmed one by one)", error=str(exc))
            return None

    def pages(self) -> Iterator[list[RemoteFile]]:
        if not self._client.user_id:
            raise PermissionRefused("the API key lacks user.read (Missing required permission: "
                            "user.read): ppsync needs it to tell your assets from a partner's")
        if not self._since and self._mirror.include_archived:
            # The count covers timeline + archive: it can judge only a walk of both.
            self._expected = self._statistics()
        for visibility in self.visibilities():
            yield from self._walk(visibility)
        if self._since:
            yield from self._companions()
        self._judge()

    def _walk(self, visibility: str) -> Iterator[list[RemoteFile]]:
        # The next page is fetched and parsed while this one is planned (``read_ahead``);
        # what touches the state (``fresh``) stays on this thread.
        for parsed in read_ahead(self._search_pages(visibility), "ppsync-listing"):
            own = [a for a in parsed.assets if self._own(a)]
            self._partners += len(parsed.assets) - len(own)
            assets = [self._linked(a) for a in own
                      if not a.trashed and a.visibility == visibility]
            if visibility == "hidden":  # only the videos of stills this walk holds
                self._videos_walked.update(a.asset_id for a in assets)
                assets = [a for a in assets if a.photo_key != a.asset_id]
            renditions = [r for r in map(rendition_file, assets) if r is not None]
            files = self._fresh([remote_file(a) for a in assets] + renditions)
            if visibility != "hidden":
                # after ``fresh``: an asset archived mid-walk is listed by both walks and must
                # count once against the statistics, or it stands in for a skipped one; an
                # edited rendition is no asset of its own
                self._walked += sum(not is_edited_key(f.file_uid) for f in files)
            self._listed += len(files)
            if files:
                yield files

    def _search_pages(self, visibility: str) -> Iterator[SearchPage]:
        """The pages of one visibility's search, one request at a time, following
        ``nextPage``."""
        page: int | None = 1
        size = min(self._mirror.page_size, 1000)
        while page is not None:
            body: dict[str, object] = {"page": page, "size": size, "withExif": True,
                                       "visibility": visibility, "order": "asc"}
            if self._since:
                body["updatedAfter"] = self._since
            response = self._client.call("POST", "/search/metadata",
                                         f"listing {visibility} page {page}", json=body)
            if self._started is None:
                self._started = _server_time(response.headers.get("Date"))
            where = f"search/metadata ({visibility})"
            parsed = parse_search_page(json_body(response, where), where)
            check_next_page(page, parsed.next_page, where)
            yield parsed
            page = parsed.next_page

    def _companions(self) -> Iterator[list[RemoteFile]]:
        """The live videos of the stills this change walk listed that its hidden walk did not
        (see the module docstring), each asked for by id. A video that is still in the library
        and still hidden (so still linked) joins the walk like any listed file."""
        files = []
        for video_id in [v for v in self._stills if v not in self._videos_walked]:
            response = self._client.call("GET", f"/assets/{video_id}", f"asset {video_id}",
                                         accept=(400, 404))
            if response.status_code in (400, 404):
                continue  # gone (a purge is seen by the next full walk)
            asset = parse_asset(json_body(response, f"asset {video_id}"), "asset")
            if asset.trashed or asset.visibility != "hidden" or not self._own(asset):
                continue
            files.append(remote_file(self._linked(asset)))
        files = self._fresh(files)
        self._listed += len(files)
        if files:
            yield files

    def _linked(self, asset: ImmichAsset) -> ImmichAsset:
        """A still notes its live video; the video (walked later, in ``hidden``) takes the
        still's photo key and taken time, so it lands next to it and shares its suffix."""
        if asset.live_photo_video_id:
            self._stills[asset.live_photo_video_id] = (asset.asset_id, asset.taken_local)
        still = self._stills.get(asset.asset_id)
        if still is None:
            return asset
        return dataclasses.replace(asset, photo_key=still[0], taken_local=still[1])

    def _judge(self) -> None:
        if self._partners:
            log.info("left out partners' assets shown in your timeline", assets=self._partners)
        if self._since:
            self._why = "a change pass lists only what changed"
            return
        # Statistics count non-trashed timeline and archived assets; without include_archived
        # the archive is not walked, so the count can only be a floor for the timeline then.
        if self._expected is not None and self._mirror.include_archived \
                and self._walked < self._expected:
            self._why = f"the walk saw {self._walked} assets but the server counts {self._expected}"
            return
        self._complete, self._why = True, ""

    def verdict(self) -> tuple[bool, str]:
        return self._complete, self._why

    def must_confirm_removals(self) -> bool:
        """Always, on a full walk: see the module docstring."""
        return not self._since

    def still_listed(self, files: Mapping[str, str]) -> set[str]:
        """Which of these assets (id → SHA-1) are still in the library and in the walk's
        visibilities (``GET /assets/{id}``: gone is 400, trashed says so). A hidden asset (a
        live photo's video) counts only when a still this walk held links to it: the video of
        an archived (without ``include_archived``) or trashed still stays hidden and untrashed
        on the server, yet leaves the mirror with its still. A still the walk skipped is
        itself among ``files`` and found here, so a shifted row still stops the removals."""
        found: set[str] = set()
        walked = set(self.visibilities())
        for key in files:
            # an edited rendition is still listed while its asset is and is still edited
            asset_id = original_key(key)
            response = self._client.call("GET", f"/assets/{asset_id}", f"asset {asset_id}",
                                         accept=(400, 404))
            if response.status_code in (400, 404):
                continue
            asset = parse_asset(json_body(response, f"asset {asset_id}"), "asset")
            if asset.trashed or asset.visibility not in walked or not self._own(asset):
                continue  # a partner's (an older ppsync mirrored them): left out, as walked
            if asset.visibility == "hidden" and asset_id not in self._stills:
                continue
            if is_edited_key(key) and rendition_file(asset) is None:
                continue  # the edit was reverted: the rendition has left the library
            found.add(key)
        return found

    def started(self) -> datetime | None:
        return self._started

    def _own(self, asset: ImmichAsset) -> bool:
        """The user's own asset (or one whose owner the server did not say): a partner's is
        left out of the walk and of the removal check alike."""
        return not asset.owner_id or asset.owner_id == self._client.user_id


def check_next_page(page: int, next_page: int | None, where: str) -> None:
    """Raise ``ServerDataError`` when the page after ``page`` is not a later one: paging by
    such answers would never end."""
    if next_page is not None and next_page <= page:
        raise ServerDataError(f"Immich {where}: nextPage {next_page} after page {page}; the paging "
                              "would never end")


def _server_time(header: str | None) -> datetime | None:
    if not header:
        return None
    try:
        return email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
