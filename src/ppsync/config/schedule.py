"""``[schedule]``: when the daemon runs its passes, and in which time zone a cron line is read."""

from __future__ import annotations

import os
from datetime import tzinfo

from pydantic import (
    field_validator,
    model_validator,
)

from ppsync.config.values import Section, parse_duration
from ppsync.errors import ConfigError


class ScheduleConfig(Section):
    interval: str = ""  # a duration; default 15m when cron is not set either
    cron: str = ""  # a 5-field crontab expression, instead of interval
    full_every: str = "24h"  # a fast change pass is replaced by a full walk this often
    jitter: str = "0s"  # random delay added to each pass
    timezone: str = ""  # the zone cron expressions follow; empty: the local zone (TZ)

    @field_validator("timezone")
    @classmethod
    def _is_zone(cls, value: str) -> str:
        value = value.strip()
        if value:
            zone_info(value, "")
        return value

    @field_validator("interval", "full_every", "jitter")
    @classmethod
    def _is_duration(cls, value: str) -> str:
        if value:
            parse_duration(value)
        return value

    @field_validator("cron")
    @classmethod
    def _is_cron(cls, value: str) -> str:
        if value:
            from apscheduler.triggers.cron import CronTrigger  # only when a cron is configured

            if len(value.split()) != 5:
                raise ValueError("needs 5 fields: minute hour day month weekday")
            CronTrigger.from_crontab(value, timezone="UTC")  # the zone is checked apart
        return value

    @model_validator(mode="after")
    def _one_of_interval_or_cron(self) -> ScheduleConfig:
        if self.interval and self.cron:
            raise ValueError("set either interval or cron, not both")
        if self.interval and parse_duration(self.interval) < 1:
            raise ValueError("interval must be at least 1s")
        return self

    @property
    def interval_seconds(self) -> float:
        return parse_duration(self.interval or "15m")

    @property
    def full_every_seconds(self) -> float:
        return parse_duration(self.full_every)

    @property
    def jitter_seconds(self) -> float:
        return parse_duration(self.jitter)


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


def schedule_zone(schedule: ScheduleConfig) -> tzinfo:
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


