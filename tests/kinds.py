"""One library, two kinds of server: what a test does to "the server" (add a photo, trash it,
star it, break the next requests), said once and done to either fake, so the engine's invariant
tests run against PhotoPrism and Immich by parametrizing ``server_kind`` instead of forking.

``Library.path(key, name, taken)`` says where a file lands under each kind's default layout
(PhotoPrism: the server's FileName; Immich: ``<YYYY>/<MM>/<originalFileName>``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from tests.fake_immich import EMAIL, PASSWORD, FakeImmich, ImmichUser
from tests.fake_photoprism import FakePhotoPrism

KINDS = ("photoprism", "immich")
TAKEN = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)


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

    def favourite(self, key: str) -> None: ...

    def describe(self, key: str, text: str) -> None:
        """Set the photo's caption (PhotoPrism) or description (Immich)."""
        ...

    def archive(self, key: str) -> None: ...

    def album(self, title: str, keys: list[str]) -> None: ...

    def reset_counters(self) -> None: ...


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
        return self.add(name, content)

    def favourite(self, key: str) -> None:
        self.fake.update_photo(self._photo_of[key], favorite=True)

    def describe(self, key: str, text: str) -> None:
        self.fake.update_photo(self._photo_of[key], caption=text)

    def archive(self, key: str) -> None:
        self.fake.archive_photo(self._photo_of[key])

    def album(self, title: str, keys: list[str]) -> None:
        self.fake.add_album(title, photo_uids=[self._photo_of[k] for k in keys])


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

    def favourite(self, key: str) -> None:
        self.user.favourite(key)

    def describe(self, key: str, text: str) -> None:
        self.user.describe(key, text)

    def archive(self, key: str) -> None:
        self.user.archive(key)

    def album(self, title: str, keys: list[str]) -> None:
        self.user.create_album(title, tuple(keys))


@contextmanager
def library(kind: str) -> Iterator[Library]:
    if kind == "photoprism":
        with FakePhotoPrism(password="insecure-pw") as pp:
            yield PhotoPrismLibrary(pp)
    else:
        with FakeImmich(generation="v2.5") as im:
            yield ImmichLibrary(im)
