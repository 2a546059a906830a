"""What the PhotoPrism client hands its adapter: who the session is, and one page of a search
(rows as the server sent them, with its paging headers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SessionInfo:
    user_uid: str
    user_name: str
    server_version: str
    provider: str
    role: str = ""
    # The session's auth scope: "" for an ordinary login (the account's rights), "*", or a
    # resource list such as "photos albums files"; None when the server would not say.
    scope: str | None = ""
    client_name: str = ""


@dataclass(frozen=True, slots=True)
class SearchPage:
    rows: list[dict[str, Any]]
    x_count: int  # file rows in this page (not JSON elements in merged mode)
    x_limit: int
    server_date: str = ""  # the HTTP Date header: the server's clock, for change cursors
