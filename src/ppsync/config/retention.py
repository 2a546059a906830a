"""``[retention]``: how long, and how much of, what ppsync sets aside (``.ppsync/trash/`` and
``.ppsync/replaced/``) is kept. The defaults keep everything, as ppsync always did."""

from __future__ import annotations

from pydantic import Field, field_validator

from ppsync.config.sizes import Size, parse_size
from ppsync.config.values import Section


class RetentionConfig(Section):
    # Days an item is kept, counted from when ppsync set it aside (not the file's mtime, which
    # is the photo's); None: no age limit.
    keep_days: int | None = Field(default=None, ge=1)
    # Bytes, "50GiB", or "10%" of the mirror's originals; None: no size limit. Oldest go first.
    max_size: int | str | None = None
    # Prune the oldest set-aside items during a pass to keep [mirror] min_free free.
    make_room: bool = False

    @field_validator("max_size")
    @classmethod
    def _is_size(cls, value: int | str | None) -> int | str | None:
        if value is not None and value != "":
            parse_size(value)
        return None if value == "" else value

    @property
    def max_size_limit(self) -> Size | None:
        return None if self.max_size is None else parse_size(self.max_size)

    @property
    def limits(self) -> bool:
        """Is anything ever pruned after a pass (an age or a size limit)?"""
        return self.keep_days is not None or self.max_size is not None
