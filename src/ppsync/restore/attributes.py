"""Pure: what a photo's sidecar asks of the target's photo, and what the target cannot hold.

``metadata_changes`` compares a ``ppsync-photo/1`` sidecar with the target's ``Photo`` and
returns an edit that sets only what differs, so a second restore sends nothing. ``not_carried``
lists what the target has no place for (with why), for the run report: a loss said, not a
failure. The mapping, row by row, is the table in README "Restore and migration".

Text keeps its source. PhotoPrism tells a title or caption a person typed (``manual``, ``batch``)
or one read from the file (``meta``, ``xmp``) from one it made up (``auto``, ``name``,
``estimate``...): a made-up text is not carried (the target makes its own), the others go with
their source. A sidecar written before sources were recorded has none: its text goes as a
person's, as it always did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ppsync.restore.taken import taken_time_change
from ppsync.servers.base import MANUAL, Capabilities, Photo, PhotoEdit

KEPT_SOURCES = frozenset({MANUAL, "batch", "meta", "xmp"})
NO_TAKEN_TIME = frozenset({"auto"})  # PhotoPrism did not know when it was taken
GUESSED_PLACE = frozenset({"estimate"})  # PhotoPrism guessed it from photos taken nearby
_CLOSE = 1e-6  # degrees: equal locations (a float through JSON and back)


@dataclass(frozen=True, slots=True)
class Loss:
    """One attribute of one photo the target does not hold."""

    what: str
    why: str


def _text(sidecar: dict[str, Any], field: str) -> tuple[str, str] | None:
    """(text, source) of ``title``/``caption`` when it is carried; None when empty or made up."""
    value = sidecar.get(field)
    if not isinstance(value, str) or not value:
        return None
    key = {"title": "title_src", "caption": "caption_src"}[field]
    source = sidecar.get(key, MANUAL)
    if not isinstance(source, str) or source not in KEPT_SOURCES:
        return None
    return value, source


def wanted_text(sidecar: dict[str, Any], capabilities: Capabilities,
                ) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    """(title, caption) as the target will hold them: on a server with one description
    (Immich) the caption goes there, or the title when there is no caption."""
    title, caption = _text(sidecar, "title"), _text(sidecar, "caption")
    if capabilities.separate_title_and_caption:
        return title, caption
    return None, caption or title


def _tags(sidecar: dict[str, Any]) -> set[str]:
    tags = sidecar.get("tags")
    return {t for t in tags if isinstance(t, str) and t} if isinstance(tags, list) else set()


def _location(sidecar: dict[str, Any]) -> tuple[float, float] | None:
    lat, lng = sidecar.get("lat"), sidecar.get("lng")
    if not isinstance(lat, int | float) or not isinstance(lng, int | float) or \
            isinstance(lat, bool) or isinstance(lng, bool) or (lat == 0 and lng == 0):
        return None
    if sidecar.get("place_src") in GUESSED_PLACE:
        return None
    return float(lat), float(lng)


def _rating(sidecar: dict[str, Any]) -> int:
    rating = sidecar.get("rating")
    return rating if isinstance(rating, int) and not isinstance(rating, bool) else 0


def _changed_text(want: tuple[str, str] | None, value: str, source: str,
                  capabilities: Capabilities) -> bool:
    if want is None:
        return False
    return value != want[0] or (capabilities.text_sources and source != want[1])


def _taken(sidecar: dict[str, Any], current: Photo) -> str | None:
    if sidecar.get("taken_src") in NO_TAKEN_TIME:
        return None
    return taken_time_change(sidecar, current)


def metadata_changes(sidecar: dict[str, Any], current: Photo, capabilities: Capabilities,
                     held: Callable[[Iterable[str]], frozenset[str]] = frozenset) -> PhotoEdit:
    """What makes the target's photo ``current`` match the sidecar, as far as the target can
    hold it; an edit that sets nothing when it already does. ``held``: tags as the target
    holds them (``PhotoServer.held_tags``), to tell which the photo lacks."""
    title, caption = wanted_text(sidecar, capabilities)
    favorite, private = sidecar.get("favorite"), sidecar.get("private")
    taken = _taken(sidecar, current) if capabilities.taken_time else None
    location = _location(sidecar) if capabilities.location else None
    if location is not None and abs(location[0] - current.lat) < _CLOSE and \
            abs(location[1] - current.lng) < _CLOSE:
        location = None
    rating = _rating(sidecar) if capabilities.rating else 0
    lacking = held(_tags(sidecar)) - held(current.tags)
    missing_tags = {t for t in _tags(sidecar) if held([t]) & lacking}
    zone, taken_src = sidecar.get("time_zone"), sidecar.get("taken_src")
    return PhotoEdit(
        title=title[0] if title and _changed_text(
            title, current.title, current.title_source, capabilities) else None,
        title_source=title[1] if title else MANUAL,
        caption=caption[0] if caption and _changed_text(
            caption, current.caption, current.caption_source, capabilities) else None,
        caption_source=caption[1] if caption else MANUAL,
        favorite=favorite if isinstance(favorite, bool) and current.favorite != favorite
        else None,
        private=private if capabilities.private and isinstance(private, bool)
        and current.private != private else None,
        taken_at=taken,
        time_zone=zone if isinstance(zone, str) else "",
        taken_source=taken_src if isinstance(taken_src, str) and taken_src else MANUAL,
        location=location,
        rating=rating if rating and rating != current.rating else None,
        tags=tuple(sorted(missing_tags)) if missing_tags else None,
    )


def not_carried(sidecar: dict[str, Any], capabilities: Capabilities) -> list[Loss]:
    """What of this photo the target has no place for, each with why (README's table)."""
    losses: list[Loss] = []
    if sidecar.get("private") is True and not capabilities.private:
        losses.append(Loss("private", "this server has no private mark (Immich's locked "
                                      "folder hides a photo from every API key, so ppsync could "
                                      "not check it there): the photo is visible"))
    title, caption = _text(sidecar, "title"), _text(sidecar, "caption")
    if title and caption and not capabilities.separate_title_and_caption:
        losses.append(Loss("title", "this server keeps one description per photo, which holds "
                                    f"the caption; the title {title[0]!r} has no place"))
    if _rating(sidecar) and not capabilities.rating:
        losses.append(Loss("rating", f"{_rating(sidecar)} stars: this server has no rating"))
    people = sidecar.get("people")
    if isinstance(people, list) and people:
        losses.append(Loss("people", "the names of the people recognised in it: the target "
                                     "recognises faces itself; ppsync cannot name them there"))
    return losses
