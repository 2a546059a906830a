"""What reading a config needs before any model is built, without pydantic: where the file is,
its TOML, durations, the time zone a schedule follows, and paths made absolute beside it.

``load`` (the settings model) and ``quick`` (the fast path of ``status`` and ``health``) both
read through these, so a file is found, parsed and refused the same way by each.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import tzinfo
from pathlib import Path
from typing import Any, Protocol

from ppsync.access import denied, is_denied
from ppsync.errors import ConfigError

DEFAULT_CONFIG_PATHS = (Path("ppsync.toml"), Path("/etc/ppsync/config.toml"))
DEFAULT_INTERVAL = "15m"  # [schedule] interval when neither interval nor cron is set

_DURATION = re.compile(r"(\d+)\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``"30s"``, ``"15m"``, ``"2h"``, ``"1d"`` or combinations like ``"1h30m"`` → seconds.

    Raises ``ValueError`` for anything else.
    """
    cleaned = text.strip().lower()
    parts = _DURATION.findall(cleaned)
    if not cleaned or _DURATION.sub("", cleaned).strip():
        raise ValueError(f"{text!r} is not a duration like 30s, 15m, 2h, 1d or 1h30m")
    return float(sum(int(n) * _UNIT_SECONDS[unit] for n, unit in parts))


def find_config_path(explicit: Path | None, environ: Mapping[str, str]) -> Path | None:
    """The config file to read: --config, else $PPSYNC_CONFIG, else the first default that exists.

    An explicitly named file that does not exist is an error; with no file at all the config may
    still come entirely from the environment.
    """
    named = explicit or (Path(environ["PPSYNC_CONFIG"]) if environ.get("PPSYNC_CONFIG") else None)
    if named is not None:
        if not named.is_file():
            raise ConfigError(f"config file {named} does not exist or is not a file")
        return named
    return next((p for p in DEFAULT_CONFIG_PATHS if p.is_file()), None)


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed file; ``ConfigError`` (one line) for bad TOML or a file this uid cannot read."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        if is_denied(exc):
            raise ConfigError(f"cannot read the config file {denied(path, exc, write=False)}"
                              ) from None
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def absolute(path: Path, base: Path) -> Path:
    """``path`` with ``~`` expanded, and a relative one taken beside the config (``base``)."""
    path = path.expanduser()
    return path if path.is_absolute() else (base / path).absolute()


def zone_info(name: str, source: str) -> tzinfo:
    """The IANA time zone ``name`` (``Europe/Berlin``); ``source`` names where it came from for
    the message. Raises ``ValueError`` for an unknown or malformed name."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        where = f"{source} " if source else ""
        raise ValueError(f"{where}{name!r} is not a time zone name like Europe/Berlin or "
                         "Etc/UTC") from None


class Zoned(Protocol):
    """A ``[schedule]``: the settings model's, or the fast path's (``quick``)."""

    @property
    def timezone(self) -> str: ...


def schedule_zone(schedule: Zoned) -> tzinfo:
    """The zone cron expressions follow: ``[schedule] timezone``, else the local zone (``TZ``,
    else /etc/localtime). Raises ``ConfigError`` when TZ names no zone."""
    if schedule.timezone:
        return zone_info(schedule.timezone, "")
    from tzlocal import get_localzone

    try:
        return get_localzone()
    except (LookupError, ValueError):  # ZoneInfoNotFoundError is a KeyError
        raise ConfigError(f"TZ: {os.environ.get('TZ', '')!r} is not a time zone name like "
                          "Europe/Berlin; set TZ or [schedule] timezone") from None


def zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone)


# --- [schedule]'s rules: the settings model's validators and the fast path both call these ---

def clean_zone(value: str) -> str:
    """``[schedule] timezone`` as kept: stripped, and a zone name when not empty."""
    value = value.strip()
    if value:
        zone_info(value, "")
    return value


def check_duration(value: str) -> str:
    """``interval``, ``full_every``, ``jitter``: empty, or a duration."""
    if value:
        parse_duration(value)
    return value


def check_cron(value: str) -> str:
    """``[schedule] cron``: empty, or 5 fields that APScheduler reads (it is imported only
    when a cron is configured: ``status`` and ``health`` stay quick without one)."""
    if value:
        from apscheduler.triggers.cron import CronTrigger

        if len(value.split()) != 5:
            raise ValueError("needs 5 fields: minute hour day month weekday")
        CronTrigger.from_crontab(value, timezone="UTC")  # the zone is checked apart
    return value


def check_interval_or_cron(interval: str, cron: str) -> None:
    """One way to schedule, and an interval a daemon can keep."""
    if interval and cron:
        raise ValueError("set either interval or cron, not both")
    if interval and parse_duration(interval) < 1:
        raise ValueError("interval must be at least 1s")
