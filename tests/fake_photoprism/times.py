"""Times as PhotoPrism reads and writes them: time zones by name or offset (the two API
generations differ; ``pkg/time/tz``), local and UTC taken times, Go's time format, and
query times."""

from __future__ import annotations

import functools
import re
import zoneinfo
from datetime import UTC, datetime, timedelta, timezone, tzinfo


def _offset_names() -> dict[str, int]:
    """``txt.TimeOffset`` (Dec 2024) = ``tz.Offset`` (2026): the bare UTC offsets both accept as
    a TimeZone, whole hours from -12 to +12 only (no "+05:30")."""
    table = {n: 0 for n in ("Z", "UTC", "UTC+0", "UTC-0", "UTC+00:00", "UTC-00:00")}
    for h in range(1, 13):
        for n in (f"{h:02d}:00", f"+{h}", f"+{h:02d}", f"+{h:02d}:00", f"UTC+{h}",
                  f"UTC+{h:02d}:00"):
            table[n] = h * 3600
        for n in (f"-{h}", f"-{h:02d}", f"-{h:02d}:00", f"UTC-{h}", f"UTC-{h:02d}:00"):
            table[n] = -h * 3600
    return table


_OFFSETS = _offset_names()


def _tz_is_utc(zone: str, new_api: bool) -> bool:
    """``Photo.TimeZoneUTC``: old servers compare with "UTC" ignoring case; new ones
    (``tz.IsUTC``) also take "Z", "Zulu" and "Etc/UTC"."""
    if not new_api:
        return zone.upper() == "UTC"
    return 0 < len(zone) <= 7 and zone.upper() in ("UTC", "Z", "ZULU", "ETC/UTC")


def _tz_name(zone: str) -> str:
    """``tz.Name`` (2026 servers normalise the TimeZone they save): "" → "Local",
    "+02:00" → "UTC+2", "Etc/GMT+02" → "UTC+2" (sic), "UTC+05:45" → "Asia/Kathmandu"."""
    zone = zone.strip()
    if _tz_is_utc(zone, True):
        return "UTC"
    if zone == "" or zone.casefold() == "local":
        return "Local"
    zone = zone[:64]
    if zone in ("0", "Etc/UTC", "Etc/UTC+0", "Etc/UTC+00", "Etc/UTC+00:00", "UTC+00", "UTC-00",
                "Zulu", "Etc/Zulu") or _OFFSETS.get(zone) == 0:
        return "UTC"
    if zone in ("Etc/GMT", "GMT", "gmt", "GMT+0", "Etc/GMT+0", "Etc/GMT+00", "Etc/GMT-00",
                "Etc/GMT+00:00", "Etc/GMT-00:00"):
        return "GMT"
    if zone in ("Etc/GMT+05:45", "GMT+05:45", "UTC+05:45", "Z+05:45"):
        return "Asia/Kathmandu"
    gmt = re.fullmatch(r"(?:Etc/GMT([+-])(\d\d)(?::00)?|GMT([+-])(\d{1,2}))", zone)
    if gmt:
        sign, hours = (gmt.group(1), gmt.group(2)) if gmt.group(1) else (gmt.group(3),
                                                                           gmt.group(4))
        if 1 <= int(hours) <= 12:
            return f"UTC{sign}{int(hours)}"
    seconds = _OFFSETS.get(zone)
    if seconds:
        return f"UTC{seconds // 3600:+d}"
    return zone


def _tz_find(zone: str, new_api: bool) -> tzinfo:
    """``tz.Find`` / ``txt.TimeZone``: the location a TimeZone names; a zone neither knows
    ("", "Local", "+05:30", "Mars/Base") is a fixed zone at offset 0, so the local time is
    then taken as UTC."""
    if _tz_is_utc(zone, new_api):
        return UTC
    name = _tz_name(zone) if new_api else zone
    if name in ("", "Local"):
        return UTC
    seconds = _OFFSETS.get(name)
    if seconds is not None:
        return timezone(timedelta(seconds=seconds))
    try:
        return zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return UTC


def _utc_of_local(local: datetime, zone: str, new_api: bool) -> datetime:
    """``Photo.GetTakenAt``: the wall clock ``local`` (its own zone ignored) read in ``zone``."""
    wall = local.replace(tzinfo=None, microsecond=0)
    return wall.replace(tzinfo=_tz_find(zone, new_api)).astimezone(UTC)


def _local_of_utc(utc: datetime, zone: str, new_api: bool) -> datetime:
    """``Photo.GetTakenAtLocal``: the wall clock in ``zone`` at ``utc``, stored as UTC."""
    return utc.astimezone(_tz_find(zone, new_api)).replace(tzinfo=UTC)


@functools.lru_cache(maxsize=1 << 16)
def _go_time(dt: datetime | None) -> str:
    """Go's ``time.Time`` JSON encoding (RFC 3339 with trimmed nanoseconds), always UTC."""
    if dt is None:
        return "0001-01-01T00:00:00Z"
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    s = f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    if dt.microsecond:
        s += ("." + f"{dt.microsecond:06d}").rstrip("0")
    return s + "Z"


def _go_time_or_null(dt: datetime | None) -> str | None:
    return None if dt is None else _go_time(dt)


def _parse_time(value: str) -> datetime | None:
    if value == "":
        return None
    dt = datetime.fromisoformat(value.replace("z", "Z"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)
