"""The Immich mirror follows its library's changes (issue 9, findings 1-3, 6-8 and 15's
smaller ones) and never removes what it cannot prove gone.

Walks page by offset (immich-api.md §4), so a library changing mid-walk shifts rows; every
removal is confirmed per asset, and the statistics count only unique assets. A live photo's
hidden video belongs in the mirror only with its still. An archived photo is still the user's
photo (§8); one moved into the locked folder leaves like a deleted one. A next page that does not
move on is an error, not an endless walk. A photo mirrored before the server's metadata job
moves to its taken date when the job has run."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ppsync.config import Settings, load_config
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.models import RunReport
from tests.conftest import mirrored_files, write_config
from tests.fake_immich import FakeImmich, ImmichUser

T0 = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeImmich]:
    with FakeImmich(generation="v2.5") as f:
        yield f


def settings_for(fake: FakeImmich, tmp_path: Path, target: Path, *,
                 permissions: tuple[str, ...] = ("all",), **sections: dict[str, Any]) -> Settings:
    merged: dict[str, dict[str, Any]] = {
        "server": {"kind": "immich", "url": fake.url, "timeout": 10, "retries": 2,
                   "retry_backoff": 0.01, "outage_wait": "1s",
                   "api_key": fake.add_key(permissions)},
        "mirror": {"target": str(target), "workers": 2},
        "log": {"level": "debug", "format": "json"},
    }
    for name, values in sections.items():
        merged.setdefault(name, {}).update(values)
    return load_config(write_config(tmp_path / "ppsync.toml", merged), {})


def sync(settings: Settings, **options: Any) -> RunReport:
    return run_sync(settings, PassOptions(**options))


def on_search(fake: FakeImmich, when: Callable[[dict[str, Any]], bool],
              action: Callable[[], None]) -> list[int]:
    """Run ``action`` once, right after the fake computed the first search page whose body
    ``when`` accepts (a user acting while ppsync pages). Returns a list that holds 1 once
    it fired."""
    fired: list[int] = []

    def hook(body: dict[str, Any]) -> None:
        if not fired and when(body):
            fired.append(1)
            action()

    fake.faults.after_search = hook
    return fired


def photos(user: ImmichUser, n: int, prefix: str = "IMG") -> list[str]:
    return [user.upload(f"{prefix}_{i}.jpg", f"{prefix}-{i}-bytes".encode() * 40,
                        taken=T0 + timedelta(minutes=i)) for i in range(n)]


def _upload_direct(fake: FakeImmich, name: str, content: bytes, taken: datetime) -> str:
    asset = fake.lib.create_asset(name, content, file_created_at=taken, file_modified_at=taken)
    fake.lib.run_metadata_job(asset)
    return asset.id


# --- 1-3: a library changing mid-walk ---------------------------------------------------------


def test_archiving_a_photo_mid_walk_does_not_delete_another(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(fake)
    ids = photos(user, 5)
    settings = settings_for(fake, tmp_path, target,
                            mirror={"page_size": 2, "include_archived": True,
                                    "delete": "mirror"})
    first = sync(settings)
    assert first.exit_code == 0 and len(mirrored_files(target)) == 5
    # While the second full walk reads timeline page 1, the user archives the first photo:
    # timeline rows shift up by one, so page 2 skips the third photo; the archive walk then
    # lists the first photo a second time, so the walk saw 5 rows for the server's 5 assets.
    fired = on_search(fake, lambda b: b.get("visibility") == "timeline" and b.get("page") == 1,
                      lambda: fake.lib.update_asset(fake.lib.assets[ids[0]],
                                                    {"visibility": "archive"}))
    second = sync(settings)
    assert fired
    files = mirrored_files(target)
    assert "2024/05/IMG_2.jpg" in files, (second.exit_code, second.deleted, second.safety_stop)
    assert second.deleted == 0
    # 4 unique assets against 5 counted: the count alone already says the walk missed one
    assert "the walk saw 4 assets but the server counts 5" in second.safety_stop
    fake.faults.after_search = None
    third = sync(settings)  # a quiet walk sees all five again: nothing to remove
    assert third.exit_code == 0 and third.deleted == 0 and len(mirrored_files(target)) == 5


def test_trash_and_upload_mid_walk_do_not_delete_a_skipped_photo(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(fake)
    ids = photos(user, 5)
    settings = settings_for(fake, tmp_path, target,
                            mirror={"page_size": 2, "include_archived": True,
                                    "delete": "mirror"})
    assert sync(settings).exit_code == 0

    def user_acts() -> None:  # the phone uploads a new photo while the user trashes an old one
        fake.lib.trash([ids[0]])
        _upload_direct(fake, "NEW.jpg", b"new-photo" * 50, T0 + timedelta(hours=1))

    fired = on_search(fake, lambda b: b.get("visibility") == "timeline" and b.get("page") == 1,
                      user_acts)
    second = sync(settings)
    assert fired
    files = mirrored_files(target)
    assert "2024/05/IMG_2.jpg" in files, (second.exit_code, second.deleted, second.safety_stop)
    assert second.deleted == 0 and second.exit_code == 4


def test_a_deletion_during_the_hidden_walk_does_not_delete_another_live_video(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(fake)
    photos(user, 2)
    live = [user.upload_live((f"L{n}.HEIC", f"still{n}".encode() * 80),
                             (f"L{n}.MOV", f"video{n}".encode() * 80),
                             taken=T0 + timedelta(hours=n)) for n in range(3)]
    settings = settings_for(fake, tmp_path, target,
                            mirror={"page_size": 1, "include_archived": True,
                                    "delete": "mirror"})
    assert sync(settings).exit_code == 0
    assert "2024/05/L1.MOV" in mirrored_files(target)
    # The user force-deletes the first live photo while ppsync reads the first page of the
    # hidden walk.
    fired = on_search(fake, lambda b: b.get("visibility") == "hidden" and b.get("page") == 1,
                      lambda: fake.lib.purge([live[0][0]]))
    second = sync(settings)
    assert fired
    assert "2024/05/L1.MOV" in mirrored_files(target), (second.deleted, second.safety_stop)


# --- 6/7: a live photo out of the mirror ---------------------------------------------------------


def test_archived_live_photo_does_not_stop_every_full_walk(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(fake)
    photos(user, 3)
    still, _video = user.upload_live(("LIVE.HEIC", b"still" * 80), ("LIVE.MOV", b"video" * 80),
                                     taken=T0)
    settings = settings_for(fake, tmp_path, target,
                            mirror={"delete": "trash", "include_archived": False})
    assert sync(settings).exit_code == 0
    assert {"2024/05/LIVE.HEIC", "2024/05/LIVE.MOV"} <= set(mirrored_files(target))
    user.archive(still)  # include_archived is off: the live photo leaves the mirror
    second = sync(settings)
    assert second.safety_stop == "" and second.exit_code == 0, second.safety_stop
    assert not {"2024/05/LIVE.HEIC", "2024/05/LIVE.MOV"} & set(mirrored_files(target))
    assert second.trashed == 2
    user.archive(still, on=False)  # back out of the archive: both come back, no stop
    third = sync(settings)
    assert third.exit_code == 0, third.safety_stop
    assert {"2024/05/LIVE.HEIC", "2024/05/LIVE.MOV"} <= set(mirrored_files(target))


def test_trashed_live_photo_does_not_stop_every_full_walk(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(fake)
    photos(user, 3)
    still, video = user.upload_live(("LIVE.HEIC", b"still" * 80), ("LIVE.MOV", b"video" * 80),
                                    taken=T0)
    settings = settings_for(fake, tmp_path, target, mirror={"delete": "trash"})
    assert sync(settings).exit_code == 0
    user.trash(still)
    assert not fake.lib.assets[video].is_trashed  # the server leaves the hidden video
    second = sync(settings)
    assert second.safety_stop == "" and second.exit_code == 0, second.safety_stop
    assert not {"2024/05/LIVE.HEIC", "2024/05/LIVE.MOV"} & set(mirrored_files(target))


# --- 8: the archive is still the user's --------------------------------------------------------


def test_archiving_a_photo_does_not_delete_its_mirrored_copy(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(fake)
    ids = photos(user, 4)
    settings = settings_for(fake, tmp_path, target, mirror={"delete": "mirror"})
    assert settings.mirror.include_archived  # unset: an Immich archive belongs in the mirror
    assert sync(settings).exit_code == 0
    user.archive(ids[1])
    report = sync(settings)
    assert report.exit_code == 0 and report.deleted == 0
    assert "2024/05/IMG_1.jpg" in mirrored_files(target)


def test_an_explicit_include_archived_false_still_leaves_the_archive_out(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(fake)
    ids = photos(user, 4)
    settings = settings_for(fake, tmp_path, target,
                            mirror={"delete": "mirror", "include_archived": False})
    assert sync(settings).exit_code == 0
    user.archive(ids[1])
    report = sync(settings)
    assert report.exit_code == 0 and report.deleted == 1
    assert "2024/05/IMG_1.jpg" not in mirrored_files(target)


def test_a_photo_moved_into_the_locked_folder_leaves_like_a_deleted_one(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    """No key sees the PIN-locked folder: ``GET /assets/{id}`` answers 400 as for a deleted
    asset, so the copy leaves under the delete policy ("trash": kept aside), and comes back
    when the photo leaves the folder."""
    user = ImmichUser(fake)
    ids = photos(user, 3)
    settings = settings_for(fake, tmp_path, target, mirror={"delete": "trash"})
    assert sync(settings).exit_code == 0
    fake.lib.update_asset(fake.lib.assets[ids[1]], {"visibility": "locked"})
    report = sync(settings)
    assert report.exit_code == 0 and report.trashed == 1, report.safety_stop
    assert "2024/05/IMG_1.jpg" not in mirrored_files(target)
    assert (target / ".ppsync/trash/2024/05/IMG_1.jpg").read_bytes() == b"IMG-1-bytes" * 40
    fake.lib.update_asset(fake.lib.assets[ids[1]], {"visibility": "timeline"})
    assert sync(settings).exit_code == 0
    assert mirrored_files(target)["2024/05/IMG_1.jpg"] == b"IMG-1-bytes" * 40


def _originals(target: Path) -> dict[str, bytes]:
    return {k: v for k, v in mirrored_files(target).items() if not k.endswith(".ppsync.json")}


def _sidecar(target: Path) -> dict[str, Any]:
    (path,) = [p for p in target.rglob("*.ppsync.json") if ".ppsync/" not in p.as_posix()]
    data: dict[str, Any] = json.loads(path.read_text())
    return data


# --- paging that does not move on ---------------------------------------------------------------


def test_a_next_page_that_does_not_move_on_is_a_clear_error_not_an_endless_walk(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    photos(ImmichUser(fake), 3)
    settings = settings_for(fake, tmp_path, target, mirror={"page_size": 1})
    fake.faults.stuck_next_page = 1000
    report = sync(settings)
    assert fake.faults.stuck_next_page == 999  # one answer was enough to stop
    assert report.exit_code == 3 and "nextPage 2 after page 2" in report.error, report.error
    assert set(mirrored_files(target)) <= {"2024/05/IMG_0.jpg"}  # page 1 only
    fake.faults.stuck_next_page = 0
    assert sync(settings).exit_code == 0 and len(mirrored_files(target)) == 3


# --- the metadata job runs after the upload, not inside it --------------------------------------


def test_a_photo_mirrored_before_its_metadata_job_moves_to_its_taken_date_later(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    """The real server dates an upload by the fileCreatedAt it was sent (the phone's file
    time) until its metadata job reads the EXIF, seconds later (immich-api.md §3); a pass in
    between mirrors it under the upload's date. The job bumps updatedAt, so the next change
    pass moves the file to its taken date, with no download, and rewrites its sidecar."""
    user = ImmichUser(fake)
    fake.lib.defer_metadata_jobs = True
    photo = user.upload("IMG_9.jpg", b"late-exif" * 60, taken=T0)  # the file's time: 2020-01-01
    assert fake.lib.pending_jobs == [photo]
    settings = settings_for(fake, tmp_path, target, metadata={"sidecars": "json"})
    first = sync(settings)
    assert first.exit_code == 0 and first.downloaded == 1
    assert _originals(target) == {"2020/01/IMG_9.jpg": b"late-exif" * 60}
    assert _sidecar(target)["taken_at"].startswith("2020-01-01")

    assert fake.lib.run_pending_metadata_jobs() == 1  # seconds later: the EXIF says 2024-05-17
    downloads = fake.download_count
    second = sync(settings, changes_only=True)
    assert second.exit_code == 0 and second.moved == 1, second
    assert fake.download_count == downloads and second.downloaded == 0
    assert _originals(target) == {"2024/05/IMG_9.jpg": b"late-exif" * 60}
    data = _sidecar(target)  # one sidecar, next to the moved file, with the taken time
    assert data["taken_at"].startswith("2024-05-17T12:00"), data["taken_at"]
    assert not (target / "2020/01").exists() or not any((target / "2020/01").iterdir())

    third = sync(settings)  # a full walk afterwards: nothing left to do
    assert third.exit_code == 0 and third.moved == 0 and third.downloaded == 0
