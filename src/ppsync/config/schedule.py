"""``[schedule]``: when the daemon runs its passes, and in which time zone a cron line is read."""

from __future__ import annotations

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

# The rules live in ``basics``, shared with the fast path (``quick``); zone_info,
# schedule_zone and zone_name are re-exported from here, where they always were.
from ppsync.config.basics import (
    DEFAULT_INTERVAL,
    check_cron,
    check_duration,
    check_interval_or_cron,
    clean_zone,
    parse_duration,
    schedule_zone,
    zone_info,
    zone_name,
)
from ppsync.config.values import Section

__all__ = ["ScheduleConfig", "schedule_zone", "zone_info", "zone_name"]


class ScheduleConfig(Section):
    interval: str = ""  # a duration; default 15m when cron is not set either
    cron: str = ""  # a 5-field crontab expression, instead of interval
    full_every: str = "24h"  # a fast change pass is replaced by a full walk this often
    jitter: str = "0s"  # random delay added to each pass
    timezone: str = ""  # the zone cron expressions follow; empty: the local zone (TZ)
    # With [libraries]: how many libraries' passes run at once (household-wide; the others
    # wait their turn, so a first mirror of a big library holds one slot, never all of them).
    passes_at_once: int = Field(default=2, ge=1, le=16)

    @field_validator("timezone")
    @classmethod
    def _is_zone(cls, value: str) -> str:
        return clean_zone(value)

    @field_validator("interval", "full_every", "jitter")
    @classmethod
    def _is_duration(cls, value: str) -> str:
        return check_duration(value)

    @field_validator("cron")
    @classmethod
    def _is_cron(cls, value: str) -> str:
        return check_cron(value)

    @model_validator(mode="after")
    def _one_of_interval_or_cron(self) -> ScheduleConfig:
        check_interval_or_cron(self.interval, self.cron)
        return self

    @property
    def interval_seconds(self) -> float:
        return parse_duration(self.interval or DEFAULT_INTERVAL)

    @property
    def full_every_seconds(self) -> float:
        return parse_duration(self.full_every)

    @property
    def jitter_seconds(self) -> float:
        return parse_duration(self.jitter)
