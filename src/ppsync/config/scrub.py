"""``[scrub]``: the rolling re-read of the mirror that finds and repairs damage on its disk."""

from __future__ import annotations

import re

from pydantic import field_validator

from ppsync.config.values import Section, parse_duration

_RATE = re.compile(r"(\d+)\s*(|b|kb|mb|gb|kib|mib|gib)")
_RATE_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9,
               "kib": 2**10, "mib": 2**20, "gib": 2**30}


def parse_rate(value: int | str) -> int:
    """Bytes per second: an integer, or a string such as ``"50MiB"`` or ``"20MB"``; 0 means
    no limit. Raises ``ValueError`` for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("must be 0 (no limit) or more bytes per second")
        return value
    match = _RATE.fullmatch(str(value).strip().lower())
    if match is None:
        raise ValueError(f"{value!r} is not a rate in bytes per second like 50MiB, 20MB or "
                         "52428800 (0: no limit)")
    return int(match.group(1)) * _RATE_UNITS[match.group(2)]


def parse_every(value: str) -> float:
    """``[scrub] every`` in seconds; ``"0"`` (scrub off) is 0."""
    return 0.0 if value.strip() == "0" else parse_duration(value)


class ScrubConfig(Section):
    # Every mirrored file is re-hashed at least this often; "0" turns the scrub off. 30 days
    # reads a 1 TB mirror at about 400 KB/s on average: nothing a NAS disk notices.
    every: str = "30d"
    # Reads are held to this many bytes per second, so the NAS disk stays usable for others
    # (a slice a pass reads is small at the default `every`; this bounds a catch-up). 0: none.
    max_rate: int | str = "50MiB"

    @field_validator("every")
    @classmethod
    def _is_every(cls, value: str) -> str:
        parse_every(value)
        return value

    @field_validator("max_rate")
    @classmethod
    def _is_rate(cls, value: int | str) -> int | str:
        parse_rate(value)
        return value

    @property
    def every_seconds(self) -> float:
        return parse_every(self.every)

    @property
    def rate(self) -> int:
        return parse_rate(self.max_rate)

    @property
    def enabled(self) -> bool:
        return self.every_seconds > 0
