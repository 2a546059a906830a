"""Uploading into Immich and restoring a mirror into it (issue 9, findings 4, 5, 9, 10, 13):
a file without EXIF is dated by its mtime, album titles match exactly, a restore looks up many
originals in one request, and a migration keeps each photo's taken time in its own zone.

Everything runs against the fake Immich of the v2.5.6 generation (every endpoint checks its
permission) over real loopback HTTP, with the real command line where a user would use it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli, write_config
from tests.fake_immich import FakeImmich, ImmichUser
from tests.fake_immich.model import ALL_PERMISSIONS_V2

T0 = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)
NO_DELETE = tuple(sorted(ALL_PERMISSIONS_V2 - {"all", "asset.delete"}))


@pytest.fixture
def fake() -> Iterator[FakeImmich]:
    with FakeImmich(generation="v2.5") as f:
        yield f


def photos(user: ImmichUser, n: int, prefix: str = "IMG") -> list[str]:
    return [user.upload(f"{prefix}_{i}.jpg", f"{prefix}-{i}-bytes".encode() * 40,
                        taken=T0 + timedelta(minutes=i)) for i in range(n)]


def _server(fake: FakeImmich, permissions: tuple[str, ...] = ("all",)) -> dict[str, Any]:
    return {"kind": "immich", "url": fake.url, "api_key": fake.add_key(permissions),
            "timeout": 10, "retries": 2, "retry_backoff": 0.01, "outage_wait": "1s"}


def _upload_config(fake: FakeImmich, tmp_path: Path, target: Path, inbox: Path, *,
                   albums: list[str] | None = None, after: str = "keep",
                   permissions: tuple[str, ...] = ("all",)) -> Path:
    upload: dict[str, Any] = {"enabled": True, "inbox": str(inbox), "settle_seconds": 0,
                              "after": after}
    path = write_config(tmp_path / "up.toml", {
        "server": _server(fake, permissions), "mirror": {"target": str(target)},
        "upload": upload})
    if albums:
        listed = ", ".join(json.dumps(a) for a in albums)
        path.write_text(path.read_text().replace("[upload]\n", f"[upload]\nalbums = [{listed}]\n"))
    return path


def _restore_config(fake: FakeImmich, tmp_path: Path, target: Path, *,
                    permissions: tuple[str, ...] = ("all",), **sections: dict[str, Any]) -> Path:
    """The mirror syncs from ``fake``; ``back`` is the same Immich with a key of
    ``permissions`` (restore --to back)."""
    return write_config(tmp_path / "r.toml", {
        "server": _server(fake), "mirror": {"target": str(target)},
        "servers.back": _server(fake, permissions), **sections})


# --- 9. upload dates -------------------------------------------------------------------------


def test_upload_dates_a_file_without_exif_by_its_mtime(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    scan = inbox / "scan-1998.png"
    scan.write_bytes(b"png-without-exif" * 30)
    when = datetime(1998, 7, 4, 10, 0, tzinfo=UTC).timestamp()
    os.utime(scan, (when, when))
    result = run_cli(_upload_config(fake, tmp_path, target, inbox), "upload")
    assert result.returncode == 0, result.stdout + result.stderr
    (asset,) = fake.lib.assets.values()
    assert asset.file_created_at == datetime(1998, 7, 4, 10, 0, tzinfo=UTC)
    assert asset.file_modified_at == datetime(1998, 7, 4, 10, 0, tzinfo=UTC)


# --- 13. album titles --------------------------------------------------------------------------


def test_upload_album_title_is_matched_exactly(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(fake)
    other = user.create_album("TRIP")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.jpg").write_bytes(b"a-photo" * 30)
    config = _upload_config(fake, tmp_path, target, inbox, albums=["trip"])
    result = run_cli(config, "upload")
    assert result.returncode == 0, result.stdout + result.stderr
    assert fake.lib.albums[other].asset_ids == []
    assert sorted(a.name for a in fake.lib.albums.values()) == ["TRIP", "trip"]
    (inbox / "b.jpg").write_bytes(b"b-photo" * 30)  # a second pass finds "trip", makes none
    assert run_cli(config, "upload").returncode == 0
    assert sorted(a.name for a in fake.lib.albums.values()) == ["TRIP", "trip"]
    (trip,) = [a for a in fake.lib.albums.values() if a.name == "trip"]
    assert len(trip.asset_ids) == 2


def test_restore_album_title_is_matched_exactly(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(fake)
    ids = photos(user, 2)
    user.create_album("trip", (ids[0],))
    config = _restore_config(fake, tmp_path, target, albums={"mode": "symlink"},
                             metadata={"sidecars": "json"})
    assert run_cli(config, "sync").returncode == 0
    for album in list(fake.lib.albums):  # the new server has only the user's "TRIP"
        user.delete_album(album)
    other = user.create_album("TRIP", (ids[1],))
    result = run_cli(config, "restore", "--to", "back")
    assert result.returncode == 0, result.stdout + result.stderr
    assert fake.lib.albums[other].asset_ids == [ids[1]]
    (trip,) = [a for a in fake.lib.albums.values() if a.name == "trip"]
    assert trip.asset_ids == [ids[0]]


# --- performance: one look-up for many SHA-1s ------------------------------------------------


def test_restore_looks_up_many_originals_in_one_request(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(fake)
    ids = photos(user, 12)
    config = _restore_config(fake, tmp_path, target)
    assert run_cli(config, "sync").returncode == 0
    user.purge(*ids[:4])
    fake.reset_counters()
    result = run_cli(config, "restore", "--to", "back")
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(fake.lib.assets) == 12
    checks = fake.requests_to("/assets/bulk-upload-check", "POST")
    # one look-up of all twelve (with the trash), one confirmation of the four sent
    assert len(checks) <= 3, [len(c.json["assets"]) for c in checks]
    assert all(c.json["assets"] for c in checks)
    fake.reset_counters()
    assert run_cli(config, "restore", "--to", "back").returncode == 0
    checks = fake.requests_to("/assets/bulk-upload-check", "POST")
    assert [len(c.json["assets"]) for c in checks] == [12]


# --- 10. migration keeps taken times ---------------------------------------------------------


def test_migration_into_immich_keeps_the_taken_time_of_a_photo_without_exif(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    from tests.fake_photoprism import FakePhotoPrism
    with FakePhotoPrism(password="insecure-pw") as photoprism:
        photoprism.add_photo([("2015/07/scan.png", b"scan-without-exif" * 40)],
                             taken_at=datetime(2015, 7, 4, 10, 0, tzinfo=UTC))
        path = write_config(tmp_path / "pp.toml", {
            "server": {"url": photoprism.url, "username": "admin", "password": "insecure-pw"},
            "mirror": {"target": str(target)},
            "metadata": {"sidecars": "json"},
            "servers.im": _server(fake)})
        assert run_cli(path, "sync").returncode == 0
    result = run_cli(path, "restore", "--to", "im")
    assert result.returncode == 0, result.stdout + result.stderr
    (asset,) = fake.lib.assets.values()
    assert asset.local_date_time == datetime(2015, 7, 4, 10, 0, tzinfo=UTC)
    assert asset.file_created_at == datetime(2015, 7, 4, 10, 0, tzinfo=UTC)
    fake.reset_counters()
    again = run_cli(path, "restore", "--to", "im")  # idempotent: nothing to set any more
    assert again.returncode == 0, again.stdout + again.stderr
    assert fake.requests_to("/api/assets/", "PUT") == []


def test_restore_sets_the_taken_time_in_the_photos_own_zone(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    """An Immich mirror restored into an Immich where the photo came back dated otherwise
    (here: its EXIF is gone, so the server took the file's time): the sidecar's wall clock
    and offset go back, and a second restore sends nothing."""
    user = ImmichUser(fake)
    (photo,) = photos(user, 1)
    user.update(photo, dateTimeOriginal="2019-03-02T18:30:00+02:00")
    config = _restore_config(fake, tmp_path, target, metadata={"sidecars": "json"})
    assert run_cli(config, "sync").returncode == 0
    user.purge(photo)
    fake.wait_idle()
    result = run_cli(config, "restore", "--to", "back")
    assert result.returncode == 0, result.stdout + result.stderr
    (asset,) = fake.lib.assets.values()
    assert asset.file_created_at == datetime(2019, 3, 2, 16, 30, tzinfo=UTC)
    assert asset.local_date_time == datetime(2019, 3, 2, 18, 30, tzinfo=UTC)
    assert asset.exif["timeZone"] == "UTC+2"
    fake.reset_counters()
    assert run_cli(config, "restore", "--to", "back").returncode == 0
    assert fake.requests_to("/api/assets/", "PUT") == []


def test_the_taken_time_keeps_the_offset_the_sidecar_knows() -> None:
    from ppsync.restore.taken import taken_time_change
    from ppsync.servers.base import Photo
    server = Photo(key="p", taken_at="2024-01-01T00:00:00Z", taken_at_local="2024-01-01T00:00:00")
    berlin = {"taken_at": "2024-05-12T08:15:00Z", "taken_at_local": "2024-05-12T10:15:00Z",
              "time_zone": "Europe/Berlin"}  # a PhotoPrism sidecar
    assert taken_time_change(berlin, server) == "2024-05-12T10:15:00+02:00"
    # no wall clock: the instant alone, and a server that has it keeps its own zone
    assert taken_time_change({"taken_at": "2024-05-12T08:15:00Z"}, server) == \
        "2024-05-12T08:15:00+00:00"
    there = Photo(key="p", taken_at="2024-05-12T08:15:00Z", taken_at_local="2024-05-12T10:15:00")
    assert taken_time_change({"taken_at": "2024-05-12T08:15:00Z"}, there) is None
    assert taken_time_change(berlin, there) is None
    assert taken_time_change({"taken_at": "0001-01-01T00:00:00Z"}, server) is None
    assert taken_time_change({"taken_at": "garbage"}, server) is None


def test_a_taken_time_equal_to_the_second_is_left_alone() -> None:
    from ppsync.restore.taken import taken_time_change
    from ppsync.servers.base import Photo

    immich = Photo(key="p", taken_at="2024-05-12T08:15:00.370Z",
                   taken_at_local="2024-05-12T10:15:00.370")
    photoprism = {"taken_at": "2024-05-12T08:15:00Z", "taken_at_local": "2024-05-12T10:15:00Z",
                  "time_zone": "Europe/Berlin"}
    assert taken_time_change(photoprism, immich) is None
    # and the other way round: a sidecar with sub-seconds, a server in whole seconds
    whole = Photo(key="p", taken_at="2024-05-12T08:15:00Z", taken_at_local="2024-05-12T10:15:00")
    subsec = {"taken_at": "2024-05-12T08:15:00.370Z", "taken_at_local": "2024-05-12T10:15:00.370"}
    assert taken_time_change(subsec, whole) is None


def test_a_taken_time_a_second_or_a_sub_second_apart_is_still_set() -> None:
    from ppsync.restore.taken import taken_time_change
    from ppsync.servers.base import Photo

    sidecar = {"taken_at": "2024-05-12T08:15:00Z", "taken_at_local": "2024-05-12T10:15:00Z"}
    a_second_later = Photo(key="p", taken_at="2024-05-12T08:15:01.370Z",
                           taken_at_local="2024-05-12T10:15:01.370")
    assert taken_time_change(sidecar, a_second_later) == "2024-05-12T10:15:00+02:00"
    # both sides know sub-seconds, and they differ: burst order is what the sidecar says
    burst = {"taken_at": "2024-05-12T08:15:00.120Z", "taken_at_local": "2024-05-12T10:15:00.120"}
    other = Photo(key="p", taken_at="2024-05-12T08:15:00.370Z",
                  taken_at_local="2024-05-12T10:15:00.370")
    assert taken_time_change(burst, other) == "2024-05-12T10:15:00.120000+02:00"
