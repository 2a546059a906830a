"""One library, two kinds of server: what a test does to "the server" (add a photo, trash it,
star it, break the next requests), said once and done to either fake, so the engine's invariant
tests run against PhotoPrism and Immich by parametrizing ``server_kind`` instead of forking.

``Library.path(key, name, taken)`` says where a file lands under each kind's default layout
(PhotoPrism: the server's FileName; Immich: ``<YYYY>/<MM>/<originalFileName>``).

What moves a file differs: a PhotoPrism file is renamed on the server; an Immich asset has no
server path, so ``move`` changes its taken time (``PUT /assets/{id} {"dateTimeOriginal"}``), which
moves it to another ``<YYYY>/<MM>`` folder; ``path(name, taken)`` says where it lands either way."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from tests.fake_immich import FakeImmich
from tests.fake_photoprism import FakePhotoPrism

KINDS = ("photoprism", "immich")
TAKEN = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)
LATER = datetime(2025, 2, 3, 9, 30, tzinfo=UTC)  # a taken time another file moves to


class Library(Protocol):
    kind: str
    url: str

    def server_section(self) -> dict[str, Any]: ...

    def refused_section(self) -> dict[str, Any]:
        """Credentials the server refuses."""
        ...

    def add(self, name: str, content: bytes, taken: datetime = TAKEN) -> str:
        """A new photo of one file ``name`` (a path for PhotoPrism, a file name for Immich);
        returns its file key."""
        ...

    def path(self, name: str, taken: datetime = TAKEN) -> str: ...

    def remove(self, key: str) -> None:
        """The photo leaves the library (PhotoPrism: deleted; Immich: into the trash)."""
        ...

    def fail_next(self, count: int, status: int) -> None: ...

    def corrupt_next_downloads(self, count: int) -> None: ...

    def truncate_next_downloads(self, count: int) -> None: ...

    def download_count(self) -> int: ...

    def replace(self, key: str, content: bytes) -> None:
        """The original gets new bytes under the same key (an edit on the server)."""
        ...

    def set_download_rate(self, per_second: int) -> None: ...

    def download_ranges(self) -> list[str]:
        """The Range headers of the downloads since ``reset_counters`` ("" for none)."""
        ...

    def bytes_served(self) -> int: ...

    def photo_key(self, key: str) -> str:
        """The photo key of a file key (what a collision suffix is made from)."""
        ...

    def add_named(self, name: str, content: bytes) -> str:
        """A file whose name is exactly ``name`` on the server (a hostile one, say)."""
        ...

    def accepts_name(self, name: str) -> bool:
        """Can the server hold a file of this name at all (Immich: a media type it knows)?"""
        ...

    def favourite(self, key: str) -> None: ...

    def describe(self, key: str, text: str) -> None:
        """Set the photo's caption (PhotoPrism) or description (Immich)."""
        ...

    def archive(self, key: str) -> None: ...

    def unarchive(self, key: str) -> None:
        """Back from the archive (PhotoPrism: restored; Immich: visibility timeline)."""
        ...

    def album(self, title: str, keys: list[str]) -> None: ...

    def reset_counters(self) -> None: ...

    # -- what moves a file, many at once, live photos -------------------------------------------

    def move(self, key: str, name: str, taken: datetime) -> None:
        """The file moves to ``path(name, taken)`` (PhotoPrism: renamed to ``name``; Immich: its
        taken time set to ``taken``; the file name stays, so keep the base name)."""
        ...

    def add_live(self, still: tuple[str, bytes], video: tuple[str, bytes],
                 taken: datetime = TAKEN) -> tuple[str, str]:
        """A live photo (a still and its video); returns their file keys."""
        ...

    def seed(self, count: int, size: int) -> None:
        """``count`` small photos straight into the library (fast, for runs of many files)."""
        ...

    # -- more fault switches ------------------------------------------------------------------

    def fail_listing(self, count: int, status: int = 500) -> None:
        """The next ``count`` listing requests answer ``status``."""
        ...

    def fail_downloads(self, count: int, status: int) -> None: ...

    def reset_next_downloads(self, count: int) -> None:
        """The next ``count`` downloads are cut with a TCP reset before any answer."""
        ...

    def corrupt_always(self, key: str | None) -> None:
        """Every download of this file serves wrong bytes (None: none)."""
        ...

    def set_download_delay(self, seconds: float) -> None: ...

    def set_listing_delay(self, seconds: float) -> None: ...

    def empty_listing(self, on: bool = True) -> None:
        """Every listing answers no photos at all."""
        ...

    def limit_listing(self, rows: int | None) -> None:
        """A listing stops early: rows past ``rows`` are never listed."""
        ...

    def malformed_listing(self) -> None:
        """The next listing answer is not valid JSON."""
        ...

    def during_walk(self, action: Callable[[], None]) -> None:
        """Run ``action`` once, when the next walk's first page is built and before it is sent:
        the library changes between two pages of one walk."""
        ...

    def restart_at_listing_request(self, n: int, seconds: float, proxy_status: int = 0) -> None:
        """The ``n``th listing request sets off a restart of ``seconds`` (connections refused,
        or a reverse proxy answering ``proxy_status``)."""
        ...

    def go_down(self, seconds: float) -> None:
        """A restart now: transfers in flight are cut, connections refused for ``seconds``."""
        ...

    def is_down(self) -> bool: ...

    def listing_requests(self) -> int:
        """Listing requests since ``reset_counters``."""
        ...

    def request_count(self) -> int:
        """Requests of the client under test since ``reset_counters``."""
        ...

    def hashes(self) -> dict[str, str]:
        """The SHA-1 (hex) of every original the server holds, by where it lands."""
        ...

    def modified(self, key: str) -> float:
        """The file's modification time as the server sends it (``Last-Modified``)."""
        ...

    # How many listing requests a quiet change pass makes under the default config: one search
    # (PhotoPrism); one per visibility walked (Immich).
    quiet_listing_requests: int


@contextmanager
def library(kind: str) -> Iterator[Library]:
    # The two implementations import this module's constants: imported here, not at the top.
    from tests.kinds_immich import ImmichLibrary
    from tests.kinds_photoprism import PhotoPrismLibrary

    if kind == "photoprism":
        with FakePhotoPrism(password="insecure-pw") as pp:
            yield PhotoPrismLibrary(pp)
    else:
        with FakeImmich(generation="v2.5") as im:
            yield ImmichLibrary(im)
