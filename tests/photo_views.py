"""A library as photos, the way a person sees it in either server, read through the server's own
API: which originals make each photo, and its attributes. Two libraries are compared photo by
photo (keyed by the SHA-1s of their media files), whatever the servers named the files, so a
migration test can say exactly what arrived and what was lost on the way."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.conftest import admin_http
from tests.fake_immich import FakeImmich
from tests.fake_immich.user import ImmichUser
from tests.fake_photoprism import FakePhotoPrism


@dataclass(frozen=True)
class PhotoView:
    files: frozenset[str]  # SHA-1s of the photo's media originals (stills, RAWs, videos)
    primary: str  # the SHA-1 of the file on top
    live_video: str = ""  # the SHA-1 of its live video, "" for none
    sidecars: frozenset[str] = frozenset()  # SHA-1s of XMP files kept with the photo
    favorite: bool = False
    archived: bool = False
    private: bool = False
    taken: str = ""  # the UTC instant, to the second
    location: tuple[float, float] | None = None
    tags: frozenset[str] = frozenset()
    title: str = ""
    text: str = ""  # the caption (PhotoPrism) or description (Immich)
    rating: int = 0
    albums: frozenset[str] = field(default_factory=frozenset)


def _instant(value: Any) -> str:
    if not isinstance(value, str) or not value or value.startswith("0001"):
        return ""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).replace(microsecond=0).isoformat()


def _location(lat: Any, lng: Any) -> tuple[float, float] | None:
    if not lat and not lng:
        return None
    return round(float(lat), 4), round(float(lng), 4)


# PhotoPrism's colour names, by the photo's ``Color`` (``pkg/media/colors``).
COLOURS = ("black", "grey", "brown", "gold", "white", "purple", "blue", "cyan", "teal", "green",
           "lime", "yellow", "magenta", "orange", "red", "pink")


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[^\W_]+(?:[-'][^\W_]+)*", text)}


def photoprism_tags(details: dict[str, Any]) -> frozenset[str]:
    """The tags a person sees on a PhotoPrism photo: the labels a person added (LabelSrc
    "manual", not removed), named as PhotoPrism shows them ("Travel / Italy"), and the
    keywords a person or the file set (KeywordsSrc "manual", "meta", "xmp") without the words
    PhotoPrism adds to them itself: the photo's colour, its place, and the names of its
    labels (those a person added are tags already; those made from its words are not counted,
    being the user's own words)."""
    labels = details.get("Labels") or []
    tags = {item["Label"]["Name"] for item in labels
            if item.get("LabelSrc") == "manual" and item.get("Uncertainty", 0) < 100}
    info = details.get("Details") or {}
    if info.get("KeywordsSrc") not in ("manual", "meta", "xmp"):
        return frozenset(tags)
    added: set[str] = set()
    colour = details.get("Color")
    if isinstance(colour, int) and 0 <= colour < len(COLOURS):
        added.add(COLOURS[colour])
    for item in labels:
        if item.get("LabelSrc") not in ("title", "subject", "keyword"):
            added |= _words(item["Label"]["Name"])
    place = details.get("Place") or {}
    for key in ("Label", "District", "City", "State", "Keywords"):
        if place.get(key) not in (None, "", "Unknown"):
            added |= _words(place[key])
    keywords = {k.strip() for k in (info.get("Keywords") or "").split(",") if k.strip()}
    return frozenset(tags | {k for k in keywords if k.lower() not in added})


def photoprism_view(fake: FakePhotoPrism) -> dict[frozenset[str], PhotoView]:
    """Every photo of the library, archived too: files from the fake's tables, attributes as
    ``GET /api/v1/photos/<uid>`` shows them (tags: ``photoprism_tags``)."""
    titles = {album.uid: album.title for album in fake.albums()}
    out: dict[frozenset[str], PhotoView] = {}
    with admin_http(fake) as http:
        for photo in fake.photos():
            details = http.get(f"/api/v1/photos/{photo.uid}").json()
            originals = [f for f in photo.files if f.root == "/"]
            media = [f for f in originals if not f.sidecar]
            primary = next((f for f in media if f.primary), None) or next(
                (f for f in media if not f.mime.startswith("video")), media[0])
            videos = [f for f in media if f.mime.startswith("video") and f is not primary]
            view = PhotoView(
                files=frozenset(f.sha1 for f in media), primary=primary.sha1,
                live_video=videos[0].sha1 if photo.type == "live" and videos else "",
                sidecars=frozenset(f.sha1 for f in originals if f.sidecar),
                favorite=bool(details.get("Favorite")), archived=photo.archived,
                private=bool(details.get("Private")), taken=_instant(details.get("TakenAt")),
                location=_location(details.get("Lat"), details.get("Lng")),
                tags=photoprism_tags(details),
                title=details.get("Title", ""),
                text=details.get("Caption", details.get("Description", "")) or "",
                albums=frozenset(titles[a] for a in photo.album_uids if a in titles))
            out[view.files] = view
    return out


def _sha1(checksum: str) -> str:
    return base64.b64decode(checksum).hex()


def immich_view(fake: FakeImmich) -> dict[frozenset[str], PhotoView]:
    """Every photo of the admin's library (timeline, archive and hidden, not the trash): a
    stack is one photo, a still with its live video one photo."""
    user = ImmichUser(fake)
    assets: dict[str, dict[str, Any]] = {}
    for visibility in ("timeline", "archive", "hidden"):
        page: int | None = 1
        while page:
            body = user._call("POST", "/search/metadata", json={
                "visibility": visibility, "page": page, "size": 1000}).json()["assets"]
            for item in body["items"]:
                assets[item["id"]] = user._call("GET", f"/assets/{item['id']}").json()
            page = int(body["nextPage"]) if body.get("nextPage") else None
    albums: dict[str, set[str]] = {}
    for album in user._call("GET", "/albums").json():  # members: a search by album (§10)
        found = user._call("POST", "/search/metadata", json={
            "albumIds": [album["id"]], "size": 1000}).json()["assets"]["items"]
        for asset in found:
            albums.setdefault(asset["id"], set()).add(album["albumName"])
    videos = {a["livePhotoVideoId"] for a in assets.values() if a.get("livePhotoVideoId")}
    groups: dict[str, list[dict[str, Any]]] = {}
    for asset in assets.values():
        if asset["id"] in videos:
            continue
        stack = asset.get("stack") or {}
        groups.setdefault(stack.get("id") or asset["id"], []).append(asset)
    out: dict[frozenset[str], PhotoView] = {}
    for members in groups.values():
        stack = members[0].get("stack") or {}
        top = next((a for a in members if a["id"] == stack.get("primaryAssetId")), members[0])
        files = {_sha1(a["checksum"]) for a in members}
        video = top.get("livePhotoVideoId")
        live = _sha1(assets[video]["checksum"]) if video in assets else ""
        files |= {_sha1(assets[a["livePhotoVideoId"]]["checksum"]) for a in members
                  if a.get("livePhotoVideoId") in assets}
        exif = top.get("exifInfo") or {}
        view = PhotoView(
            files=frozenset(files), primary=_sha1(top["checksum"]), live_video=live,
            favorite=bool(top.get("isFavorite")), archived=top.get("visibility") == "archive",
            taken=_instant(exif.get("dateTimeOriginal") or top.get("fileCreatedAt")),
            location=_location(exif.get("latitude"), exif.get("longitude")),
            tags=frozenset(t["value"] for t in top.get("tags") or []),
            text=exif.get("description") or "", rating=exif.get("rating") or 0,
            albums=frozenset(set().union(*(albums.get(a["id"], set()) for a in members))))
        out[view.files] = view
    return out


def immich_album_files(fake: FakeImmich) -> set[tuple[str, str]]:
    """(album title, SHA-1 of each visible asset in it): an Immich album holds assets, so
    which asset of a stack is in it matters."""
    user = ImmichUser(fake)
    out = set()
    for album in user._call("GET", "/albums").json():
        found = user._call("POST", "/search/metadata", json={
            "albumIds": [album["id"]], "size": 1000}).json()["assets"]["items"]
        out |= {(album["albumName"], _sha1(a["checksum"])) for a in found
                if a.get("visibility") != "hidden"}
    return out
