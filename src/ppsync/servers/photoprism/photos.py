"""PhotoPrism's photo and album JSON into the neutral ``Photo``, ``PhotoFile`` and ``Album``, and a
neutral ``PhotoEdit`` back into the fields of ``PUT /photos/<uid>``.

The only place that knows these field names (``UID``, ``Hash``, ``Files``, ``Root``, ``Primary``,
``Sidecar``, ``DeletedAt``, ``TitleSrc``...). Files marked ``Missing`` are left out; only
``Root == "/"`` files are originals (the ``sidecar`` root holds previews PhotoPrism made).
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ppsync.servers.base import MANUAL, Album, Photo, PhotoEdit, PhotoFile, Place
from ppsync.servers.photoprism.listing import ORIGINALS_ROOT, photo_flags

# Keywords count as the user's tags when a person or the file set them (Details.KeywordsSrc).
TAG_KEYWORD_SOURCES = frozenset({MANUAL, "meta", "xmp"})
# The other Details a PUT carries beside Keywords: the server's form does not start from the
# photo's details, so each one not sent is emptied (seen on a real 260630: Keywords sent,
# Subject "harbour, boat" from the XMP wiped).
_DETAIL_KEYS = ("Notes", "NotesSrc", "Subject", "SubjectSrc", "Artist", "ArtistSrc", "Copyright",
                "CopyrightSrc", "License", "LicenseSrc")
_WORD = re.compile(r"(?:[^\W_]|[-'])+")


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


def keyword_list(keywords: str) -> list[str]:
    """Details.Keywords split at commas, stripped, without empty ones."""
    return [k.strip() for k in keywords.split(",") if k.strip()]


def keyword_words(keywords: Iterable[str]) -> str:
    """What PhotoPrism stores when a PUT sets Details.Keywords (``txt.UniqueWords(txt.Words())``
    in ``SavePhotoForm``): the words (letters, digits, "-" and "'"; single Latin letters and
    numbers dropped), lower case, sorted, unique, joined with ", ". A tag of several words
    ("New York") becomes several keywords ("new", "york")."""
    words = []
    for text in keywords:
        for word in _WORD.findall(text):
            word = word.strip("- '").lower()
            if word and not (len(word.encode()) < 2 and word.isascii()) and not (
                    word[0].isdigit() and word[-1].isdigit()):
                words.append(word)
    return ", ".join(sorted(set(words)))


def _tags(details: Mapping[str, Any]) -> tuple[str, ...]:
    """Labels a person added (LabelSrc "manual", not the removed ones PhotoPrism keeps with
    uncertainty 100) and, when a person or the file set them, the keywords."""
    tags = {_text(_dict(item.get("Label")).get("Name")).strip()
            for item in details.get("Labels") or [] if isinstance(item, dict)
            and item.get("LabelSrc") == MANUAL and _number(item.get("Uncertainty")) < 100}
    info = _dict(details.get("Details"))
    if _text(info.get("KeywordsSrc")) in TAG_KEYWORD_SOURCES:
        tags.update(keyword_list(_text(info.get("Keywords"))))
    return tuple(sorted(tags - {""}))


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else 0.0


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
        tags=_tags(details), place_source=_text(details.get("PlaceSrc")),
        keywords_source=_text(_dict(details.get("Details")).get("KeywordsSrc")),
    )


def to_album(row: Mapping[str, Any]) -> Album:
    return Album(
        key=_text(row.get("UID")), title=_text(row.get("Title")),
        description=_text(row.get("Description")), caption=_text(row.get("Caption")),
        kind=_text(row.get("Type")), order=_text(row.get("Order")),
        favorite=bool(row.get("Favorite")), private=bool(row.get("Private")),
        created_at=_text(row.get("CreatedAt")), updated_at=_text(row.get("UpdatedAt")))


def time_zone_for(taken_at: datetime, zone: str) -> str:
    """The TimeZone to send with a taken time whose UTC offset ``taken_at`` carries: ``zone``
    when it is a zone name PhotoPrism finds (Go's ``time.LoadLocation``: the IANA database)
    and its offset at that moment is the one given; else the offset as PhotoPrism accepts it
    (``txt.TimeOffset``, ``tz.Offset``, both generations): "UTC" for 0, "UTC+2"/"UTC-5" for
    whole hours from -12 to +12; else "" (no zone PhotoPrism knows, e.g. +05:30: the caller
    then sends "UTC" with the local time equal to the UTC time)."""
    offset = taken_at.utcoffset() or timedelta(0)
    if zone and zone not in ("UTC", "Local") and "/" in zone:
        try:
            found = zoneinfo.ZoneInfo(zone)
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            found = None
        if found is not None and taken_at.replace(tzinfo=found).utcoffset() == offset:
            return zone
    seconds = int(offset.total_seconds())
    if seconds == 0:
        return "UTC"
    if seconds % 3600 == 0 and -12 <= seconds // 3600 <= 12:
        return f"UTC{seconds // 3600:+d}"
    return ""


def _go_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def taken_fields(edit: PhotoEdit) -> dict[str, Any]:
    """TakenAt (UTC), TakenAtLocal (the wall clock, sent as UTC like the server keeps it),
    TimeZone, TakenSrc and the date fields for ``edit.taken_at`` ("2019-03-02T18:30:00+02:00").

    Year/Month/Day go along: with TakenSrc "manual" the save keeps the form's (the photo's old)
    date fields, so the photo would stay in its old month (``UpdateDateFields``). An offset
    PhotoPrism has no zone for (not whole hours) is sent as "UTC" with the local time equal to
    the UTC time: the moment is right, the wall clock is lost. Raises ``ValueError`` for a time
    that is not ISO 8601 with an offset."""
    assert edit.taken_at is not None
    taken = datetime.fromisoformat(edit.taken_at.replace("Z", "+00:00"))
    if taken.tzinfo is None:
        raise ValueError(f"taken time without a UTC offset: {edit.taken_at!r}")
    taken = taken.replace(microsecond=0)
    utc = taken.astimezone(UTC)
    zone = time_zone_for(taken, edit.time_zone)
    local = taken.replace(tzinfo=None) if zone else utc.replace(tzinfo=None)
    return {"TakenAt": _go_time(utc), "TakenAtLocal": _go_time(local),
            "TimeZone": zone or "UTC", "TakenSrc": edit.taken_source,
            "Year": local.year, "Month": local.month, "Day": local.day}


def keyword_details(details: Mapping[str, Any], tags: Iterable[str]) -> dict[str, Any] | None:
    """The ``Details`` of a PUT that adds ``tags`` to the keywords of the photo whose
    ``GET /photos/<uid>`` answer is ``details``: its numeric ``ID`` as ``PhotoID`` (without it
    the server ignores Details), the keywords as the server will store them, source "manual",
    and every other detail with its source as it is (any not sent would be emptied). None when
    the server would store the same keywords.

    Keywords whose source is not one of ``TAG_KEYWORD_SOURCES`` are the index's own words (a
    colour, words from the file name and place) and not kept: saved under "manual" they would
    read back as tags the photo never had. A later rescan adds them to the keywords again."""
    info = _dict(details.get("Details"))
    photo_id = details.get("ID")
    if type(photo_id) is not int:
        raise ValueError("the photo's details have no numeric ID")
    current = _text(info.get("Keywords"))
    if _text(info.get("KeywordsSrc")) not in TAG_KEYWORD_SOURCES:
        current = ""
    keywords = keyword_words([*keyword_list(current), *tags])
    if not keywords or (current and keywords == keyword_words(keyword_list(current))):
        return None  # every word is there already: the server would store what it has
    body: dict[str, Any] = {key: _text(info.get(key)) for key in _DETAIL_KEYS}
    body.update(PhotoID=photo_id, Keywords=keywords, KeywordsSrc=MANUAL)
    return body


def edit_fields(current: Photo, edit: PhotoEdit, cap: str,
                details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``PUT /photos/<uid>`` body for ``edit`` (``cap``: the caption's field name;
    ``details``: the photo's ``GET /photos/<uid>`` answer, needed when the edit adds tags).

    Titles and captions go with their sources (``edit.title_source``...; restore gives each
    the source it had): a title with source "" is generated again by the save, and a caption
    that is not "manual" is replaced from the file's metadata by a rescan (photoprism-api.md
    §h). A location is set as the user's (PlaceSrc "manual"); tags are added to the keywords
    (``keyword_details``). The server starts the form from the photo, so a field left out
    keeps its value; an update still carries the sources the server holds for the texts it
    does not change, as the web UI sends them.
    """
    changes: dict[str, Any] = {}
    if edit.title is not None:
        changes["Title"], changes["TitleSrc"] = edit.title, edit.title_source
    if edit.caption is not None:
        changes[cap], changes[cap + "Src"] = edit.caption, edit.caption_source
    if edit.favorite is not None:
        changes["Favorite"] = edit.favorite
    if edit.private is not None:
        changes["Private"] = edit.private
    if edit.taken_at is not None:
        changes.update(taken_fields(edit))
    if edit.location is not None:
        changes["Lat"], changes["Lng"] = edit.location
        changes["PlaceSrc"] = MANUAL
    if edit.tags and details is not None:
        keywords = keyword_details(details, edit.tags)
        if keywords is not None:
            changes["Details"] = keywords
    if changes:
        changes.setdefault("TitleSrc", current.title_source)
        changes.setdefault(cap + "Src", current.caption_source)
    return changes
