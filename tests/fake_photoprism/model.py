"""The data of the fake PhotoPrism: versions and limits, photos, files, albums, OAuth2
clients, sessions, the request log, the fault switches and the rate limits."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.fake_photoprism.words import _slug

OLD_VERSION = "241213-382ffa899"


NEW_VERSION = "260630-4b33d3bd1"


MAX_RESULTS = 100_000


CHUNK_SIZE = 64 * 1024


SESSION_MAX_AGE = 1_209_600


MAX_LOGIN_BODY = 64 * 1024


SYNTHETIC_INLINE_MAX = 64 * 1024


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


_BASE62 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


_HEX48 = re.compile(r"[0-9a-fA-F]{48}")


_SHA1_RE = re.compile(r"[0-9a-fA-F]{40}")


_UID_RE = re.compile(r"[a-z][0-9a-z]{15}")


_TOKEN_JUNK = re.compile(r"[^0-9A-Za-z_:\-]")


@dataclass(eq=False, slots=True)
class FakeFile:
    """One row of the files table.

    ``root`` is ``"/"`` (originals) or ``"sidecar"`` (generated previews). ``sidecar=True`` marks
    a metadata sidecar such as ``.xmp``: never in search results, only in photo details.
    Exactly one of ``content`` / ``path`` holds the body, unless ``synthetic`` is set (the body
    is ``f"{uid}\\n"`` repeated up to ``size`` bytes).
    """

    uid: str
    photo_uid: str
    name: str
    root: str
    sha1: str
    size: int
    primary: bool
    sidecar: bool
    mime: str
    content: bytes | None
    path: str | None
    mtime: float
    id: int = 0
    original_name: str = ""
    synthetic: bool = False
    width: int = 0
    height: int = 0
    created_at: datetime = _EPOCH
    updated_at: datetime = _EPOCH


@dataclass(eq=False, slots=True)
class FakePhoto:
    """One row of the photos table. ``archived`` mirrors ``deleted_at`` being set."""

    uid: str
    id: int
    type: str
    title: str
    caption: str
    favorite: bool
    private: bool
    archived: bool
    quality: int
    created_at: datetime
    updated_at: datetime
    taken_at: datetime
    files: list[FakeFile] = field(default_factory=list)
    album_uids: list[str] = field(default_factory=list)
    original_name: str = ""
    edited_at: datetime | None = None
    deleted_at: datetime | None = None
    # "" (generated / from the file) or "manual" (typed in the UI, or sent with that source).
    title_src: str = ""
    caption_src: str = ""
    meta_caption: str = ""  # the caption in the file's metadata: what a rescan puts back
    # The taken time: ``taken_at`` is UTC; ``taken_at_local`` the wall clock where it was taken
    # (None: the same as ``taken_at``), in ``time_zone`` ("UTC", "Europe/Berlin", "UTC+2", "").
    taken_at_local: datetime | None = None
    taken_src: str = "meta"
    time_zone: str = "UTC"
    # Year/Month/Day as stored (None: from the local taken time). A PUT with TakenSrc "manual"
    # leaves them as the form says (UpdateDateFields), so a client must send them with a time.
    ymd: tuple[int, int, int] | None = None
    lat: float = 0.0
    lng: float = 0.0
    place_src: str = ""
    # Details: Keywords, KeywordsSrc, Notes, NotesSrc, Subject, ... (entity.Details).
    details: dict[str, str] = field(default_factory=dict)
    # Labels: (name, LabelSrc, Uncertainty); a removed label is ("...", "manual", 100).
    labels: list[tuple[str, str, int]] = field(default_factory=list)
    # What the file's own metadata says (an index reads it back with ``meta_src``: "meta", or
    # "xmp" when an XMP sidecar said it): title, keywords, taken time (UTC, local, zone), place.
    meta_title: str = ""
    meta_keywords: str = ""
    meta_taken: tuple[datetime, datetime, str] | None = None
    meta_place: tuple[float, float] | None = None
    meta_src: str = "meta"
    # Details.Subject the file says (2026: an XMP's dc:subject lands here, not in Keywords).
    meta_subject: str = ""
    # The main colour an index found in the primary file (2026 servers add it to Keywords).
    main_colour: str = ""
    # The place a server with places on found for it: label, city, state ("" = "Unknown").
    place: tuple[str, str, str] = ("", "", "")


@dataclass(eq=False)
class FakeAlbum:
    """A manual album (or another album type, for listing only)."""

    uid: str
    id: int
    title: str
    type: str
    photo_uids: list[str]
    created_at: datetime
    updated_at: datetime
    favorite: bool = False
    private: bool = False
    deleted_at: datetime | None = None

    @property
    def slug(self) -> str:
        return _slug(self.title)


@dataclass
class FakeClient:
    """An OAuth2 client as ``photoprism clients add`` makes it (``user``: bound to the admin,
    so its sessions act for that user and may upload; unbound clients cannot upload)."""

    client_id: str
    secret: str
    name: str
    scope: str
    expires_in: int = 86_400  # PhotoPrism's default access token lifetime for clients
    user: bool = True
    enabled: bool = True


@dataclass(frozen=True)
class RequestRecord:
    """One request as the fake saw it (headers lower-cased; first value of each query key)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body_size: int
    time: float
    json: Any = None  # the parsed body of a JSON request (None for others)


@dataclass
class Faults:
    """Fault switches; all off by default. Counters count down as they fire."""

    fail_next_requests: int = 0
    fail_status: int = 500
    fail_path_contains: str = ""
    truncate_downloads: int = 0
    corrupt_downloads: int = 0
    corrupt_hash: str = ""
    reset_connections: int = 0
    reset_path_contains: str = ""  # only requests whose path contains this are reset
    download_delay: float = 0.0
    listing_delay: float = 0.0  # seconds before a search answers (a hung listing)
    download_rate: int = 0
    expire_sessions_after: int = 0
    listing_limit_rows: int | None = None
    empty_listing: bool = False
    malformed_listing: bool = False
    # "invalid_json" (truncated JSON text) or "wrong_shape" (a JSON object instead of a list).
    malformed_listing_mode: str = "invalid_json"
    count_drift: int = 0
    drop_download_token_in_config: bool = False
    # A restart (``go_down``) set off by the Nth request whose path contains
    # ``go_down_path_contains``: that request is cut, then the server is down for
    # ``go_down_seconds`` (refusing connections, or answering ``go_down_proxy_status``).
    go_down_at_request: int = 0
    go_down_path_contains: str = ""
    go_down_seconds: float = 1.0
    go_down_proxy_status: int = 0
    go_down_blackhole: bool = False  # the host drops packets instead: connects time out
    # Called with the query of each search (``GET /photos``) once its page is built, before it
    # is sent: a test changes the library between two pages of a walk.
    after_search: Callable[[dict[str, str]], None] | None = None


@dataclass
class RateLimits:
    """Token buckets of ``internal/server/limiter`` (per client IP; here: one bucket)."""

    login_burst: int = 10
    login_refill_seconds: float = 60.0
    auth_burst: int = 60
    auth_refill_seconds: float = 10.0


def _b36(n: int, width: int) -> str:
    out: list[str] = []
    while n:
        n, r = divmod(n, 36)
        out.append(_BASE36[r])
    return "".join(reversed(out)).rjust(width, "0")


def _rand36(n: int) -> str:
    return "".join(secrets.choice(_BASE36) for _ in range(n))


@dataclass
class _Session:
    token: str
    id: str
    ref_id: str
    provider: str
    scope: str
    expires_in: int
    created: float
    requests: int = 0
    app_password: str | None = None  # pseudo-session of an app password used as bearer
    parent_app_password: str | None = None  # child session created by logging in with one
    client_id: str | None = None  # a session created by POST /oauth/token
    user_bound: bool = True  # False: a client session without a user (cannot upload)
