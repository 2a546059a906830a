"""Config building blocks: durations, the keyed error a validator raises, the base of every
section, and the rules shared by more than one section."""

from __future__ import annotations

import re

from pydantic import (
    BaseModel,
    ConfigDict,
)

# Re-exported: the sections validate with them.
from ppsync.config.basics import DEFAULT_CONFIG_PATHS as DEFAULT_CONFIG_PATHS
from ppsync.config.basics import parse_duration as parse_duration

MAX_PAGE_SIZE = 100_000  # the server clamps silently above this and the walk would end early


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


