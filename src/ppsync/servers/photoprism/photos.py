"""PhotoPrism's photo and album JSON into the neutral ``Photo``, ``PhotoFile`` and ``Album``, a
neutral ``PhotoEdit`` back into the fields of ``PUT /photos/<uid>``, and tags as PhotoPrism holds
them: labels a person added (``label_key``).

The only place that knows these field names (``UID``, ``Hash``, ``Files``, ``Root``, ``Primary``,
``Sidecar``, ``DeletedAt``, ``TitleSrc``...). Files marked ``Missing`` are left out; only
``Root == "/"`` files are originals (the ``sidecar`` root holds previews PhotoPrism made).
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ppsync.servers.base import MANUAL, Album, Photo, PhotoEdit, PhotoFile, Place
from ppsync.servers.photoprism.listing import ORIGINALS_ROOT, is_archived, photo_flags

# Keywords count as the user's tags when a person or the file set them (Details.KeywordsSrc).
TAG_KEYWORD_SOURCES = frozenset({MANUAL, "meta", "xmp"})
# Labels PhotoPrism gives a photo because a word of its title, subject or keywords names a
# label (``UpdateTitleLabels``...): made from the user's words, so never subtracted from them.
_WORD_LABEL_SOURCES = frozenset({"title", "subject", "keyword"})
# ``pkg/media/colors`` names, by number: the photo's ``Color`` (its main colour, which an
# index adds to the keywords, whatever their source).
COLOUR_NAMES = ("black", "grey", "brown", "gold", "white", "purple", "blue", "cyan", "teal",
                "green", "lime", "yellow", "magenta", "orange", "red", "pink")
_PLACE_KEYS = ("Label", "District", "City", "State", "Keywords")  # words an index adds
_UNKNOWN_PLACE = frozenset({"", "Unknown", "zz"})
# ``txt.Words``: runs of letters, digits, "-" and "'".
_WORD = re.compile(r"(?:[^\W_]|[-'])+")
# ``clean.Name``: characters a label name loses.
_NAME_DROPPED = frozenset('"$%\\*`;<>{}')
_NAME_LENGTH = 160  # ``txt.ClipName``, in characters


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


def label_key(tag: str) -> str:
    """The name of the label PhotoPrism files ``tag`` under, in lower case: how labels are
    told apart (2026 servers find a label by its cleaned name in any case: ``normalizeLabelName``,
    ``sameLabelName``); "" for a tag it refuses ("Invalid name").

    The name is cleaned and capitalised (``clean.NameCapitalized``): control characters and
    ``"$%\\*`;<>{}`` dropped, "_" read as a space, white space collapsed, "/", " " and "-"
    trimmed from the ends, the parts between slashes joined by " / ", at most 160 characters.
    As a real 260630 did: "Travel/Italy" → "Travel / Italy", "boat" and "Boat" → "Boat",
    "a_b" → "A B". Only the case is left out here; the words ``txt.SpecialWords`` spells
    otherwise ("muenchen" → "München") are not known, so such a tag looks lacking and is sent
    again, finding the label it made before (nothing is added twice)."""
    if "${" in tag or "ldap://" in tag:  # ``clean.Name`` refuses these
        return ""
    cleaned = "".join(c for c in tag if c >= " " and c != "\x7f" and c not in _NAME_DROPPED)
    text = cleaned.strip()[:_NAME_LENGTH].replace("_", " ").strip("/ -")
    blocks = (" ".join(block.split()) for block in text.split("/"))
    return " / ".join(b for b in blocks if b)[:_NAME_LENGTH].strip().casefold()


def _words(text: str) -> set[str]:
    return {w.strip("-'").casefold() for w in _WORD.findall(text)} - {""}


def derived_words(details: Mapping[str, Any]) -> set[str]:
    """Words PhotoPrism puts into a photo's keywords itself, in lower case: an index adds the
    photo's main colour (``Color``), its place (``Place``: label, district, city, state and
    their keywords) and the names of its labels to the keywords, whatever their source (seen on
    260630: manual "boat, sea" became "boat, orange, sea"). The names of labels made from the
    photo's own words (``_WORD_LABEL_SOURCES``) are not counted: those words are the user's."""
    words: set[str] = set()
    colour = details.get("Color")
    if type(colour) is int and 0 <= colour < len(COLOUR_NAMES):
        words.add(COLOUR_NAMES[colour])
    for item in details.get("Labels") or []:
        if isinstance(item, dict) and item.get("LabelSrc") not in _WORD_LABEL_SOURCES:
            words |= _words(_text(_dict(item.get("Label")).get("Name")))
    place = _dict(details.get("Place"))
    for key in _PLACE_KEYS:
        if _text(place.get(key)) not in _UNKNOWN_PLACE:
            words |= _words(_text(place.get(key)))
    return words


def _tags(details: Mapping[str, Any]) -> tuple[str, ...]:
    """The user's tags: labels a person added (LabelSrc "manual", not the removed ones
    PhotoPrism keeps with uncertainty 100), and, when a person or the file set the keywords,
    the keywords PhotoPrism did not put there itself (``derived_words``: its colour, place and
    labels; a manual label is a tag already). A label's name is given with "/" between its
    parts, as it was asked for ("Travel / Italy" → "Travel/Italy": PhotoPrism writes every "/"
    of a name so, and Immich reads "/" as a tag's parent)."""
    tags = {_text(_dict(item.get("Label")).get("Name")).strip().replace(" / ", "/")
            for item in details.get("Labels") or [] if isinstance(item, dict)
            and item.get("LabelSrc") == MANUAL and _number(item.get("Uncertainty")) < 100}
    info = _dict(details.get("Details"))
    if _text(info.get("KeywordsSrc")) in TAG_KEYWORD_SOURCES:
        derived = derived_words(details)
        tags.update(k for k in keyword_list(_text(info.get("Keywords")))
                    if k.casefold() not in derived)
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
        archived=is_archived(details),
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


def edit_fields(current: Photo, edit: PhotoEdit, cap: str) -> dict[str, Any]:
    """The ``PUT /photos/<uid>`` body for ``edit`` (``cap``: the caption's field name), its
    tags left out (they are labels, each added by a request of its own).

    Titles and captions go with their sources (``edit.title_source``...; restore gives each
    the source it had): a title with source "" is generated again by the save, and a caption
    that is not "manual" is replaced from the file's metadata by a rescan (photoprism-api.md
    §h). A location is set as the user's (PlaceSrc "manual"). The server starts the form from
    the photo, so a field left out keeps its value; an update still carries the sources the
    server holds for the texts it does not change, as the web UI sends them.
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
    if changes:
        changes.setdefault("TitleSrc", current.title_source)
        changes.setdefault(cap + "Src", current.caption_source)
    return changes
