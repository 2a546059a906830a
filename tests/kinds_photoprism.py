"""``tests.kinds.Library`` for the fake PhotoPrism: a file key is a FileUID; ``name`` is the
server's FileName, which is where the file lands."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from tests.fake_photoprism import FakePhotoPrism
from tests.kinds import TAKEN


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

    quiet_listing_requests = 2  # the library and the archive (include_archived is on by default)

    def hashes(self) -> dict[str, str]:
        return {f.name: f.sha1 for f in self.fake.files(root="/") if not f.sidecar}

    def modified(self, key: str) -> float:
        return float(next(f.mtime for f in self.fake.files() if f.uid == key))
