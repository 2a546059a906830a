"""Sizes in the config: ``[mirror] min_free`` and ``[retention] max_size``.

A size is a whole number of bytes (``1073741824``), a number with a unit (``"50GiB"``,
``"500 MB"``: KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB powers of 1024), or a
percentage (``"10%"``) of something the key names (the disk, the mirror).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


@dataclass(frozen=True, slots=True)
class Size:
    """A number of bytes, or a percentage of a whole the caller supplies."""

    bytes: int = 0
    percent: float | None = None

    def of(self, whole: int) -> int:
        """The bytes this size stands for, ``whole`` being what a percentage is taken of."""
        if self.percent is None:
            return self.bytes
        return int(whole * self.percent / 100)

    def describe(self) -> str:
        return f"{self.percent:g}%" if self.percent is not None else f"{self.bytes} bytes"


def parse_size(value: int | str) -> Size:
    """``1000``, ``"50GiB"``, ``"500 MB"`` or ``"10%"`` → ``Size``.

    Raises ``ValueError`` (one line, saying what a size looks like) for anything else, for a
    negative number and for a percentage over 100.
    """
    if isinstance(value, bool):  # TOML true/false is no size
        raise ValueError(f"{value!r} is not a size like 50GiB, 500MB, 10% or 1000000")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a size cannot be negative")
        return Size(bytes=value)
    text = value.strip().lower()
    if match := _PERCENT.fullmatch(text):
        percent = float(match.group(1))
        if percent > 100:
            raise ValueError(f"{value!r}: a percentage is at most 100%")
        return Size(percent=percent)
    match = _SIZE.fullmatch(text)
    if match is None or match.group(2) not in _UNITS:
        raise ValueError(f"{value!r} is not a size like 50GiB, 500MB, 10% or 1000000")
    return Size(bytes=int(float(match.group(1)) * _UNITS[match.group(2)]))
