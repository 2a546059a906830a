"""PhotoPrism's photo and album JSON into the neutral ``Photo``, ``PhotoFile`` and ``Album``, and a
neutral ``PhotoEdit`` back into the fields of ``PUT /photos/<uid>``.

The only place that knows these field names (``UID``, ``Hash``, ``Files``, ``Root``, ``Primary``,
``Sidecar``, ``DeletedAt``, ``TitleSrc``...). Files marked ``Missing`` are left out; only
``Root == "/"`` files are originals (the ``sidecar`` root holds previews PhotoPrism made).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ppsync.servers.base import MANUAL, Album, Photo, PhotoEdit, PhotoFile, Place
from ppsync.servers.photoprism.listing import ORIGINALS_ROOT, photo_flags


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def photo_file(data: Mapping[str, Any]) -> PhotoFile:
    """One entry of a photo's ``Files``."""
    size = data.get("Size")
    return PhotoFile(
        key=_text(data.get("UID")), name=_text(data.get("Name")),
        sha1=_text(data.get("Hash")).lower(), size=size if type(size) is int else -1,
        original=data.get("Root") == ORIGINALS_ROOT, sidecar=bool(data.get("Sidecar")),
        primary=bool(data.get("Primary")), root=_text(data.get("Root")),
        file_type=_text(data.get("FileType")), mime=_text(data.get("Mime")),
        missing=bool(data.get("Missing")))


def files_of(row: Mapping[str, Any]) -> list[PhotoFile]:
    """A photo's (or a merged search row's) files, in the server's order."""
    files = row.get("Files")
    if not isinstance(files, list):
        return []
    return [photo_file(f) for f in files if isinstance(f, dict)]


def caption_field(details: Mapping[str, Any]) -> str:
    """Old servers name the caption ``Description``, servers since 2025 ``Caption``."""
    return "Caption" if "Caption" in details else "Description"


def to_photo(details: Mapping[str, Any]) -> Photo:
    """``GET /photos/<uid>`` → the neutral photo document."""
    place, camera, lens = (_dict(details.get(k)) for k in ("Place", "Camera", "Lens"))
    labels = {_text(_dict(item.get("Label")).get("Name"))
              for item in details.get("Labels") or [] if isinstance(item, dict)}
    albums = {_text(a.get("UID")) for a in details.get("Albums") or []
              if isinstance(a, dict) and a.get("Type", "album") == "album"}
    cap = caption_field(details)
    return Photo(
        key=_text(details.get("UID")), media_type=_text(details.get("Type")),
        title=_text(details.get("Title")), caption=_text(details.get(cap)),
        keywords=_text(_dict(details.get("Details")).get("Keywords")),
        labels=tuple(sorted(labels - {""})),
        favorite=bool(details.get("Favorite")), private=bool(details.get("Private")),
        archived=bool(details.get("DeletedAt")),
        taken_at=_text(details.get("TakenAt")), taken_at_local=_text(details.get("TakenAtLocal")),
        taken_src=_text(details.get("TakenSrc")), time_zone=_text(details.get("TimeZone")),
        lat=float(details.get("Lat") or 0), lng=float(details.get("Lng") or 0),
        altitude=int(details.get("Altitude") or 0),
        place=Place(_text(place.get("Label")), _text(place.get("City")),
                    _text(place.get("State")), _text(place.get("Country"))),
        camera=(_text(camera.get("Make")), _text(camera.get("Model"))),
        lens=(_text(lens.get("Make")), _text(lens.get("Model"))),
        albums=tuple(sorted(albums - {""})), files=tuple(files_of(details)),
        changed=_text(details.get("UpdatedAt")), flags=photo_flags(details),
        title_source=_text(details.get("TitleSrc")), caption_source=_text(details.get(cap + "Src")),
    )


def to_album(row: Mapping[str, Any]) -> Album:
    return Album(
        key=_text(row.get("UID")), title=_text(row.get("Title")),
        description=_text(row.get("Description")), caption=_text(row.get("Caption")),
        kind=_text(row.get("Type")), order=_text(row.get("Order")),
        favorite=bool(row.get("Favorite")), private=bool(row.get("Private")),
        created_at=_text(row.get("CreatedAt")), updated_at=_text(row.get("UpdatedAt")))


def edit_fields(current: Photo, edit: PhotoEdit, cap: str) -> dict[str, Any]:
    """The ``PUT /photos/<uid>`` body for ``edit`` (``cap``: the caption's field name).

    Titles and captions go with the source ``"manual"``, as the web UI sends them: without it
    the server regenerates a title on save and replaces a caption from the file's metadata on
    the next rescan (photoprism-api.md §h). The PUT copies the form onto the photo, so an update
    also carries the sources the server holds for what it does not change.
    """
    changes: dict[str, Any] = {}
    if edit.title is not None:
        changes["Title"], changes["TitleSrc"] = edit.title, MANUAL
    if edit.caption is not None:
        changes[cap], changes[cap + "Src"] = edit.caption, MANUAL
    if edit.favorite is not None:
        changes["Favorite"] = edit.favorite
    if edit.private is not None:
        changes["Private"] = edit.private
    if changes:
        changes.setdefault("TitleSrc", current.title_source)
        changes.setdefault(cap + "Src", current.caption_source)
    return changes
