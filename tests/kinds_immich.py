"""``tests.kinds.Library`` for the fake Immich (v2.5): a file key is an asset id; a file lands
at ``<YYYY>/<MM>/<originalFileName>`` of its taken time; ``remove`` puts it in the trash."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tests.fake_immich import EMAIL, PASSWORD, FakeImmich, ImmichUser
from tests.fake_immich.library import media_of
from tests.kinds import TAKEN


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

    quiet_listing_requests = 3  # timeline, archive (include_archived is on by default), hidden

    def hashes(self) -> dict[str, str]:
        with self.fake.lib.lock:
            return {f"{a.local_date_time:%Y}/{a.local_date_time:%m}/{a.original_file_name}":
                    hashlib.sha1(a.content).hexdigest() for a in self.fake.lib.assets.values()
                    if not a.is_trashed}

    def modified(self, key: str) -> float:
        return self.fake.lib.assets[key].file_modified_at.timestamp()
