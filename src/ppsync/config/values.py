"""Config building blocks: durations, the keyed error a validator raises, the base of every
section, and the rules shared by more than one section."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import (
    BaseModel,
    ConfigDict,
)

DEFAULT_CONFIG_PATHS = (Path("ppsync.toml"), Path("/etc/ppsync/config.toml"))
MAX_PAGE_SIZE = 100_000  # the server clamps silently above this and the walk would end early


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


CLIENT_ID = re.compile(r"c[0-9a-z]{15}")
USER_UID = re.compile(r"u[0-9a-z]{15}")


class KeyedError(ValueError):
    """A problem found by a section's model validator that belongs to one of its keys
    (pydantic would name only the section)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def client_conflicts(username: bool, password: bool, token: bool) -> str:
    """The problem with client credentials configured next to another way in, or ""."""
    others = [name for name, given in (("username", username), ("password", password),
                                       ("token", token)) if given]
    if not others:
        return ""
    return (f"a client logs in with client_id and client_secret alone; remove "
            f"{' and '.join(others)} (or the client credentials)")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


