"""One library, two kinds of server: what a test does to "the server" (add a photo, trash it,
star it, break the next requests), said once and done to either fake, so the engine's invariant
tests run against PhotoPrism and Immich by parametrizing ``server_kind`` instead of forking.

``Library.path(key, name, taken)`` says where a file lands under each kind's default layout
(PhotoPrism: the server's FileName; Immich: ``<YYYY>/<MM>/<originalFileName>``).

What moves a file differs: a PhotoPrism file is renamed on the server; an Immich asset has no
server path, so ``move`` changes its taken time (``PUT /assets/{id} {"dateTimeOriginal"}``), which
moves it to another ``<YYYY>/<MM>`` folder; ``path(name, taken)`` says where it lands either way."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from tests.fake_immich import EMAIL, PASSWORD, FakeImmich, ImmichUser
from tests.fake_immich.library import media_of
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

    # How many listing requests a quiet change pass makes: one search (PhotoPrism); one per
    # visibility walked, timeline and hidden (Immich).
    quiet_listing_requests: int


class PhotoPrismLibrary:
    kind = "photoprism"

    def __init__(self, fake: FakePhotoPrism) -> None:
        self.fake = fake
        self.url = fake.url
        self._photo_of: dict[str, str] = {}

    def server_section(self) -> dict[str, Any]:
        return {"url": self.url, "username": "admin", "password": "insecure-pw"}

    def refused_section(self) -> dict[str, Any]:
        return {"url": self.url, "username": "admin", "password": "wrong-password-42"}

    def add(self, name: str, content: bytes, taken: datetime = TAKEN) -> str:
        photo = self.fake.add_photo([(name, content)], taken_at=taken)
        key = photo.files[0].uid
        self._photo_of[key] = photo.uid
        return key

    def path(self, name: str, taken: datetime = TAKEN) -> str:
        return name

    def remove(self, key: str) -> None:
        self.fake.delete_photo(self._photo_of[key])

    def fail_next(self, count: int, status: int) -> None:
        self.fake.faults.fail_next_requests = count
        self.fake.faults.fail_status = status

    def corrupt_next_downloads(self, count: int) -> None:
        self.fake.faults.corrupt_downloads = count

    def truncate_next_downloads(self, count: int) -> None:
        self.fake.faults.truncate_downloads = count

    def download_count(self) -> int:
        return len(self.fake.requests_to("/dl/", "GET"))

    def replace(self, key: str, content: bytes) -> None:
        self.fake.edit_file(key, content)

    def set_download_rate(self, per_second: int) -> None:
        self.fake.faults.download_rate = per_second

    def download_ranges(self) -> list[str]:
        return [r.headers.get("range", "") for r in self.fake.requests if "/dl/" in r.path]

    def bytes_served(self) -> int:
        return self.fake.bytes_served

    def reset_counters(self) -> None:
        self.fake.reset_counters()

    def photo_key(self, key: str) -> str:
        return self._photo_of.get(key, key)

    def add_named(self, name: str, content: bytes) -> str:
        key = self.add(f"placeholder-{len(self._photo_of)}.jpg", content)
        self.fake.set_file_name_raw(key, name)
        return key

    def accepts_name(self, name: str) -> bool:
        return True

    def favourite(self, key: str) -> None:
        self.fake.update_photo(self._photo_of[key], favorite=True)

    def describe(self, key: str, text: str) -> None:
        self.fake.update_photo(self._photo_of[key], caption=text)

    def archive(self, key: str) -> None:
        self.fake.archive_photo(self._photo_of[key])

    def unarchive(self, key: str) -> None:
        self.fake.restore_photo(self._photo_of[key])

    def album(self, title: str, keys: list[str]) -> None:
        self.fake.add_album(title, photo_uids=[self._photo_of[k] for k in keys])

    def move(self, key: str, name: str, taken: datetime) -> None:
        self.fake.rename_file(key, name)

    def add_live(self, still: tuple[str, bytes], video: tuple[str, bytes],
                 taken: datetime = TAKEN) -> tuple[str, str]:
        photo = self.fake.add_photo([still, video], type="live", taken_at=taken)
        keys = (photo.files[0].uid, photo.files[1].uid)
        for key in keys:
            self._photo_of[key] = photo.uid
        return keys

    def seed(self, count: int, size: int) -> None:
        self.fake.add_synthetic_photos(count, 1, size=size)

    def fail_listing(self, count: int, status: int = 500) -> None:
        self.fake.faults.fail_path_contains = "/api/v1/photos"
        self.fail_next(count, status)

    def fail_downloads(self, count: int, status: int) -> None:
        self.fake.faults.fail_path_contains = "/dl/"
        self.fail_next(count, status)

    def reset_next_downloads(self, count: int) -> None:
        self.fake.faults.reset_path_contains = "/dl/"
        self.fake.faults.reset_connections = count

    def corrupt_always(self, key: str | None) -> None:
        self.fake.faults.corrupt_hash = "" if key is None else next(
            f.sha1 for f in self.fake.files() if f.uid == key)

    def set_download_delay(self, seconds: float) -> None:
        self.fake.faults.download_delay = seconds

    def set_listing_delay(self, seconds: float) -> None:
        self.fake.faults.listing_delay = seconds

    def empty_listing(self, on: bool = True) -> None:
        self.fake.faults.empty_listing = on

    def limit_listing(self, rows: int | None) -> None:
        self.fake.faults.listing_limit_rows = rows

    def malformed_listing(self) -> None:
        self.fake.faults.malformed_listing = True

    def during_walk(self, action: Callable[[], None]) -> None:
        def once(query: dict[str, str]) -> None:
            if query.get("offset") == "0" and self.fake.faults.after_search is once:
                self.fake.faults.after_search = None
                action()

        self.fake.faults.after_search = once

    def restart_at_listing_request(self, n: int, seconds: float, proxy_status: int = 0) -> None:
        f = self.fake.faults
        f.go_down_path_contains, f.go_down_at_request = "/api/v1/photos", n
        f.go_down_seconds, f.go_down_proxy_status = seconds, proxy_status

    def go_down(self, seconds: float) -> None:
        self.fake.go_down(seconds)

    def is_down(self) -> bool:
        return self.fake.down

    def listing_requests(self) -> int:
        return len(self.fake.requests_to("/photos", "GET"))

    def request_count(self) -> int:
        return len(self.fake.requests)

    quiet_listing_requests = 1

    def hashes(self) -> dict[str, str]:
        return {f.name: f.sha1 for f in self.fake.files(root="/") if not f.sidecar}

    def modified(self, key: str) -> float:
        return float(next(f.mtime for f in self.fake.files() if f.uid == key))


class ImmichLibrary:
    kind = "immich"

    def __init__(self, fake: FakeImmich, *, key: bool = True) -> None:
        self.fake = fake
        self.url = fake.url
        self.user = ImmichUser(fake)
        self._key = fake.add_key(("all",)) if key else ""

    def server_section(self) -> dict[str, Any]:
        if self._key:
            return {"kind": "immich", "url": self.url, "api_key": self._key}
        return {"kind": "immich", "url": self.url, "username": EMAIL, "password": PASSWORD}

    def refused_section(self) -> dict[str, Any]:
        return {"kind": "immich", "url": self.url, "api_key": "wrong-key-0123456789"}

    def add(self, name: str, content: bytes, taken: datetime = TAKEN) -> str:
        return self.user.upload(name.rsplit("/", 1)[-1], content, taken=taken)

    def path(self, name: str, taken: datetime = TAKEN) -> str:
        return f"{taken:%Y}/{taken:%m}/{name.rsplit('/', 1)[-1]}"

    def remove(self, key: str) -> None:
        self.user.trash(key)

    def fail_next(self, count: int, status: int) -> None:
        self.fake.faults.fail_next_requests = count
        self.fake.faults.fail_status = status

    def corrupt_next_downloads(self, count: int) -> None:
        self.fake.faults.corrupt_downloads = count

    def truncate_next_downloads(self, count: int) -> None:
        self.fake.faults.truncate_downloads = count

    def download_count(self) -> int:
        return self.fake.download_count

    def replace(self, key: str, content: bytes) -> None:
        self.user.replace(key, content)

    def set_download_rate(self, per_second: int) -> None:
        self.fake.faults.download_rate = per_second

    def download_ranges(self) -> list[str]:
        return [r.headers.get("range", "") for r in self.fake.requests_to("/original", "GET")]

    def bytes_served(self) -> int:
        return self.fake.bytes_served

    def reset_counters(self) -> None:
        self.fake.reset_counters()

    def photo_key(self, key: str) -> str:
        return key

    def add_named(self, name: str, content: bytes) -> str:
        asset = self.fake.lib.create_asset(name, content, file_created_at=TAKEN,
                                           file_modified_at=TAKEN)
        self.fake.lib.run_metadata_job(asset)
        return asset.id

    def accepts_name(self, name: str) -> bool:
        return media_of(name) is not None  # the server refuses other uploads (400)

    def favourite(self, key: str) -> None:
        self.user.favourite(key)

    def describe(self, key: str, text: str) -> None:
        self.user.describe(key, text)

    def archive(self, key: str) -> None:
        self.user.archive(key)

    def unarchive(self, key: str) -> None:
        self.user.archive(key, on=False)

    def album(self, title: str, keys: list[str]) -> None:
        self.user.create_album(title, tuple(keys))

    def move(self, key: str, name: str, taken: datetime) -> None:
        self.user.update(key, dateTimeOriginal=taken.isoformat())

    def add_live(self, still: tuple[str, bytes], video: tuple[str, bytes],
                 taken: datetime = TAKEN) -> tuple[str, str]:
        return self.user.upload_live((still[0].rsplit("/", 1)[-1], still[1]),
                                     (video[0].rsplit("/", 1)[-1], video[1]), taken=taken)

    def seed(self, count: int, size: int) -> None:
        self.user.seed(count, size=size)

    def fail_listing(self, count: int, status: int = 500) -> None:
        self.fake.faults.fail_path_contains = "/search/metadata"
        self.fail_next(count, status)

    def fail_downloads(self, count: int, status: int) -> None:
        self.fake.faults.fail_path_contains = "/original"
        self.fail_next(count, status)

    def reset_next_downloads(self, count: int) -> None:
        self.fake.faults.reset_path_contains = "/original"
        self.fake.faults.reset_connections = count

    def corrupt_always(self, key: str | None) -> None:
        self.fake.faults.corrupt_asset_id = key or ""

    def set_download_delay(self, seconds: float) -> None:
        self.fake.faults.download_delay = seconds

    def set_listing_delay(self, seconds: float) -> None:
        self.fake.faults.search_delay = seconds

    def empty_listing(self, on: bool = True) -> None:
        self.fake.faults.empty_search = on

    def limit_listing(self, rows: int | None) -> None:
        self.fake.faults.search_limit_rows = rows

    def malformed_listing(self) -> None:
        self.fake.faults.malformed_search = 1

    def during_walk(self, action: Callable[[], None]) -> None:
        def once(body: dict[str, Any]) -> None:
            if body.get("page", 1) == 1 and self.fake.faults.after_search is once:
                self.fake.faults.after_search = None
                action()

        self.fake.faults.after_search = once

    def restart_at_listing_request(self, n: int, seconds: float, proxy_status: int = 0) -> None:
        f = self.fake.faults
        f.go_down_path_contains, f.go_down_at_request = "/search/metadata", n
        f.go_down_seconds, f.go_down_proxy_status = seconds, proxy_status

    def go_down(self, seconds: float) -> None:
        self.fake.go_down(seconds)

    def is_down(self) -> bool:
        return self.fake.down

    def listing_requests(self) -> int:
        return len(self.fake.requests_to("/search/metadata", "POST"))

    def request_count(self) -> int:
        return len(self.fake.requests_to(""))

    quiet_listing_requests = 2

    def hashes(self) -> dict[str, str]:
        with self.fake.lib.lock:
            return {f"{a.local_date_time:%Y}/{a.local_date_time:%m}/{a.original_file_name}":
                    hashlib.sha1(a.content).hexdigest() for a in self.fake.lib.assets.values()
                    if not a.is_trashed}

    def modified(self, key: str) -> float:
        return self.fake.lib.assets[key].file_modified_at.timestamp()


@contextmanager
def library(kind: str) -> Iterator[Library]:
    if kind == "photoprism":
        with FakePhotoPrism(password="insecure-pw") as pp:
            yield PhotoPrismLibrary(pp)
    else:
        with FakeImmich(generation="v2.5") as im:
            yield ImmichLibrary(im)
