"""The taken time restore puts back: the sidecar's instant, in the zone it was taken in.

A photo without EXIF (a scan, a screenshot, most videos) gets its date on a new server from
whatever the upload says; the sidecar knows the old server's taken time as an instant
(``taken_at``, UTC) and a wall clock (``taken_at_local``). Their difference is the photo's UTC
offset at that instant, so the time is sent as that wall clock with that offset, which is
what both kinds of sidecar hold (an Immich ``timeZone`` such as "UTC+2" and a PhotoPrism
``TimeZone`` such as "Europe/Berlin" both end up as the offset they had then).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ppsync.servers.base import Photo

_FIRST_YEAR = 1800  # before photography: a server's "unknown" (PhotoPrism's year 1)
_MAX_OFFSET = timedelta(hours=18)  # the widest UTC offset ISO 8601 (and Python) take


def _instant(value: object) -> datetime | None:
    """An ISO time as an aware UTC instant (no zone: UTC); None when it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _wall_clock(value: object) -> datetime | None:
    """A local taken time as a naive wall clock: servers write it with "Z" or with nothing."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return None


def _same_time(a: datetime | None, b: datetime | None) -> bool:
    """Whether two times (both instants or both wall clocks) are the same: equal, or equal to
    the second when one side has no sub-seconds. Immich keeps EXIF SubSec, a PhotoPrism
    sidecar has whole seconds: setting "the same" time again would drop the sub-seconds that
    put a burst in order."""
    if a is None or b is None:
        return a is b
    if a.microsecond and b.microsecond:
        return a == b
    return a.replace(microsecond=0) == b.replace(microsecond=0)


def taken_time_change(sidecar: dict[str, Any], current: Photo) -> str | None:
    """The taken time to set on ``current`` (ISO, wall clock + offset), or None: the sidecar
    has none, or the server already holds that instant (and that wall clock, when the
    sidecar knows it), so a second restore sends nothing."""
    utc = _instant(sidecar.get("taken_at"))
    if utc is None or utc.year < _FIRST_YEAR:
        return None
    local = _wall_clock(sidecar.get("taken_at_local"))
    offset = local - utc.replace(tzinfo=None) if local is not None else None
    if offset is not None and (abs(offset) >= _MAX_OFFSET or offset % timedelta(minutes=1)):
        offset = None  # not a time zone's offset: the instant alone is what is known
    same_instant = _same_time(_instant(current.taken_at), utc)
    if same_instant and (offset is None or _same_time(_wall_clock(current.taken_at_local), local)):
        return None
    zone = timezone(offset) if offset is not None else UTC
    return utc.astimezone(zone).isoformat()
