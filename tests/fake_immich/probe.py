"""Client-side probes of the fake Immich for tests: an httpx client with a key or a token,
a search, the ids of a listing, a checksum, an upload form."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from tests.fake_immich.server import FakeImmich

CEST = timezone(timedelta(hours=2))
TAKEN = datetime(2024, 5, 17, 21, 30, tzinfo=CEST)  # a local evening: 19:30 UTC


def client(fake: FakeImmich, key: str | None = None, token: str | None = None) -> httpx.Client:
    headers = {}
    if key is not None:
        headers["x-api-key"] = key
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=fake.url + "/api", headers=headers, timeout=10)


def full(fake: FakeImmich) -> httpx.Client:
    return client(fake, fake.add_key(["all"]))


def search(c: httpx.Client, **body: Any) -> dict[str, Any]:
    answer = c.post("/search/metadata", json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["assets"]
    return result


def ids(c: httpx.Client, **body: Any) -> set[str]:
    return {a["id"] for a in search(c, size=1000, **body)["items"]}


def b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha1(data).digest()).decode()


def form(name: str = "IMG_9.jpg", **extra: str) -> dict[str, str]:
    stamp = "2024-01-01T00:00:00.000Z"
    return {"deviceAssetId": "d-" + name, "deviceId": "ppsync", "fileCreatedAt": stamp,
            "fileModifiedAt": stamp, **extra}
