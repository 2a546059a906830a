"""What a user does to their Immich library, for tests: through the fake's own HTTP API
wherever the real server has one (upload, trash, restore, purge, favourite, describe, archive,
rate, albums), so these requests meet the same validation as a client's. Replacing an original
and the server's background jobs (metadata extraction, the trash purge) have no public API
here and change the library directly. The helpers use the fake's admin key; their requests
are not recorded and never meet a fault switch."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.fake_immich.library import Metadata
from tests.fake_immich.model import b64_sha1
from tests.fake_immich.server import FakeImmich


class ImmichUser:
    def __init__(self, fake: FakeImmich) -> None:
        self.fake = fake

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self.fake.url + "/api", timeout=10,
                            headers={"x-api-key": self.fake.admin_key.secret})

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self._client() as client:
            answer = client.request(method, path, **kwargs)
        answer.raise_for_status()
        return answer

    # -- assets ------------------------------------------------------------------------------

    def upload(self, name: str, content: bytes, *, taken: datetime | None = None,
               favorite: bool = False, visibility: str = "timeline",
               live_photo_video_id: str | None = None, **metadata: Any) -> str:
        """Upload a file as the mobile app would; ``taken`` (aware: its offset is the time zone)
        and ``metadata`` (``Metadata`` fields) are what the file's EXIF says, which the fake's
        metadata job applies right after the upload. Returns the asset id (an existing one for a
        duplicate)."""
        meta = Metadata(taken=taken, **metadata)
        self.fake.lib.pending_metadata[b64_sha1(content)] = meta
        mtime = datetime(2020, 1, 1, tzinfo=UTC).isoformat()
        fields = {"deviceAssetId": "test-" + hashlib.sha1(content).hexdigest()[:12],
                  "deviceId": "tests", "fileCreatedAt": mtime, "fileModifiedAt": mtime,
                  "isFavorite": "true" if favorite else "false", "visibility": visibility}
        if live_photo_video_id:
            fields["livePhotoVideoId"] = live_photo_video_id
        answer = self._call("POST", "/assets", data=fields,
                            files={"assetData": (name, content, "application/octet-stream")})
        return str(answer.json()["id"])

    def upload_live(self, still: tuple[str, bytes], video: tuple[str, bytes], *,
                    taken: datetime | None = None, **metadata: Any) -> tuple[str, str]:
        """A live photo as the iOS app uploads it: the video first, then the still linked to
        it; the server hides the video. Returns (still id, video id)."""
        video_id = self.upload(video[0], video[1], taken=taken, duration_ms=3000)
        still_id = self.upload(still[0], still[1], taken=taken, live_photo_video_id=video_id,
                               **metadata)
        return still_id, video_id

    def replace(self, asset_id: str, content: bytes) -> None:
        """A replaced original: same id, new bytes and checksum, ``updatedAt`` bumped."""
        self.fake.lib.replace_original(asset_id, content)

    def edit(self, asset_id: str, *edits: dict[str, Any]) -> None:
        """Edit a photo in Immich's editor (v2.5 and later): ``PUT /assets/{id}/edits``."""
        self._call("PUT", f"/assets/{asset_id}/edits", json={"edits": list(edits)})

    def revert_edit(self, asset_id: str) -> None:
        """Undo every edit of a photo: ``DELETE /assets/{id}/edits``."""
        self._call("DELETE", f"/assets/{asset_id}/edits")

    def update(self, asset_id: str, **changes: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self._call("PUT", f"/assets/{asset_id}", json=changes).json()
        return answer

    def favourite(self, asset_id: str, on: bool = True) -> None:
        self.update(asset_id, isFavorite=on)

    def describe(self, asset_id: str, text: str) -> None:
        self.update(asset_id, description=text)

    def archive(self, asset_id: str, on: bool = True) -> None:
        self.update(asset_id, visibility="archive" if on else "timeline")

    def rate(self, asset_id: str, stars: int) -> None:
        self.update(asset_id, rating=stars)

    def trash(self, *ids: str) -> None:
        self._call("DELETE", "/assets", json={"ids": list(ids)})

    def restore(self, *ids: str) -> None:
        self._call("POST", "/trash/restore/assets", json={"ids": list(ids)})

    def purge(self, *ids: str) -> None:
        """Delete permanently (``force``): gone from every listing, nothing in a change feed."""
        self._call("DELETE", "/assets", json={"ids": list(ids), "force": True})

    def purge_expired_trash(self) -> None:
        """The server's nightly job: what has been in the trash for ``trashDays`` goes."""
        self.fake.lib.purge_expired(self.fake.routes.trash_days)

    def partner_shares(self, name: str, content: bytes, *, partner_id: str = "",
                       taken: datetime | None = None) -> str:
        """A partner's photo, in their own library, shared with this user who shows the
        partner in their timeline (no public API here: the partner is another account)."""
        partner = partner_id or "11111111-2222-4333-8444-555555555555"
        when = taken or datetime(2024, 5, 17, 12, 0, tzinfo=UTC)
        return self.fake.lib.add_partner_asset(partner, name, content, when).id

    def partner_leaves_timeline(self, partner_id: str = "") -> None:
        """The user hides the partner from their timeline (or the partner stops sharing)."""
        with self.fake.lib.lock:
            self.fake.lib.partners_in_timeline.discard(
                partner_id or "11111111-2222-4333-8444-555555555555")

    # -- albums ------------------------------------------------------------------------------

    def album_shared_with_me(self, name: str, files: list[tuple[str, bytes]], *,
                             role: str = "viewer", owner_name: str = "Alice",
                             own_assets: tuple[str, ...] = ()) -> str:
        """Another user (``owner_name``) makes an album of photos in their own library, adds
        ``own_assets`` (this user's, as an editor may) and shares it with this user as
        ``role`` (no public API here: the owner is another account)."""
        owner = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, owner_name)),
                 "email": f"{owner_name.lower()}@example.com", "name": owner_name}
        when = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
        theirs = [self.fake.lib.add_other_user_asset(owner["id"], n, c, when).id
                  for n, c in files]
        return self.fake.lib.add_shared_album(owner, name, role, [*theirs, *own_assets]).id

    def create_album(self, name: str, asset_ids: tuple[str, ...] = (),
                     description: str = "") -> str:
        body: dict[str, Any] = {"albumName": name, "description": description}
        if asset_ids:
            body["assetIds"] = list(asset_ids)
        return str(self._call("POST", "/albums", json=body).json()["id"])

    def add_to_album(self, album_id: str, *ids: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call(
            "PUT", f"/albums/{album_id}/assets", json={"ids": list(ids)}).json()
        return result

    def remove_from_album(self, album_id: str, *ids: str) -> None:
        self._call("DELETE", f"/albums/{album_id}/assets", json={"ids": list(ids)})

    def rename_album(self, album_id: str, name: str, description: str | None = None) -> None:
        body = {"albumName": name} | ({} if description is None else {"description": description})
        self._call("PATCH", f"/albums/{album_id}", json=body)

    def delete_album(self, album_id: str) -> None:
        self._call("DELETE", f"/albums/{album_id}")

    # -- many at once ------------------------------------------------------------------------

    def seed(self, count: int, *, size: int = 64, start: datetime | None = None) -> list[str]:
        """``count`` small photos straight into the library (benchmarks: no HTTP per asset),
        each through the same metadata job as an upload."""
        base = (start or datetime(2023, 1, 1, tzinfo=UTC)).timestamp()
        ids = []
        for n in range(count):
            body = (f"seed-{n}-".encode() * (size // 8 + 1))[:size]
            when = datetime.fromtimestamp(base + n * 60, UTC)
            self.fake.lib.pending_metadata[b64_sha1(body)] = Metadata(taken=when)
            asset = self.fake.lib.create_asset(f"IMG_{n:05d}.jpg", body, file_created_at=when,
                                               file_modified_at=when)
            self.fake.lib.run_metadata_job(asset)
            ids.append(asset.id)
        return ids
