"""Immich removals are confirmed per asset, and a partner's shared timeline stays out of the
mirror.

Offset paging (immich-api.md §4) skips a row when an asset earlier in the order leaves mid-walk;
an upload landing in the same walk makes the count whole again, so no count can prove that an
asset the walk missed has gone. The search also answers the assets of partners the user shows
in their timeline (the server adds their ids to every search); the statistics count only the
user's own, and a partner's photos are theirs to back up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ppsync.config import load_config
from ppsync.mirror.sync import PassOptions, run_sync
from tests.conftest import mirrored_files, run_cli
from tests.fake_immich import FakeImmich, ImmichUser, Metadata
from tests.fake_immich.model import b64_sha1
from tests.test_immich import config

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def immich(v2: FakeImmich) -> FakeImmich:
    return v2


def _upload_directly(immich: FakeImmich, name: str, content: bytes, taken: datetime) -> str:
    """An upload landing while a search is being answered (no HTTP from inside the fake)."""
    immich.lib.pending_metadata[b64_sha1(content)] = Metadata(taken=taken)
    asset = immich.lib.create_asset(name, content, file_created_at=taken,
                                    file_modified_at=taken)
    immich.lib.run_metadata_job(asset)
    return asset.id


@pytest.mark.parametrize("policy", ["trash", "mirror"])
def test_a_row_skipped_mid_walk_is_never_removed_though_an_upload_makes_up_the_count(
        immich: FakeImmich, tmp_path: Path, target: Path, policy: str) -> None:
    user = ImmichUser(immich)
    ids = [user.upload(f"A{n}.jpg", bytes([n + 1]) * 200, taken=START + timedelta(days=n))
           for n in range(6)]
    key = immich.add_key(("all",))
    settings = load_config(config(tmp_path, target, {"url": immich.url, "api_key": key},
                                  mirror={"delete": policy, "page_size": 2,
                                          "include_archived": True, "max_delete": 10,
                                          "max_delete_percent": 100}), {})
    assert run_sync(settings, PassOptions()).exit_code == 0
    assert len(mirrored_files(target)) == 6

    fired: list[str] = []

    def mid_walk(body: dict[str, Any]) -> None:
        # After page 2 of the timeline: A0 (seen on page 1) goes to the trash, so every row
        # shifts back one and page 3 skips A4; a new upload at the end is seen instead.
        if body.get("visibility") == "timeline" and body.get("page") == 2 and not fired:
            immich.lib.trash([ids[0]])
            fired.append(_upload_directly(immich, "NEW.jpg", b"n" * 200,
                                          START + timedelta(days=30)))

    immich.faults.after_search = mid_walk
    report = run_sync(settings, PassOptions())
    immich.faults.after_search = None
    assert fired
    assert report.exit_code == 4, report
    assert "missed" in report.safety_stop
    assert (target / "2024/05/A4.jpg").read_bytes() == bytes([5]) * 200
    assert (target / "2024/05/A0.jpg").exists()  # nothing at all is removed on such a walk
    assert report.deleted == 0 and report.trashed == 0

    report = run_sync(settings, PassOptions())  # a quiet walk applies the removal
    assert report.exit_code == 0, report
    files = mirrored_files(target)
    assert "2024/05/A0.jpg" not in files and files["2024/05/A4.jpg"] == bytes([5]) * 200
    assert files["2024/05/NEW.jpg"] == b"n" * 200


def test_a_partners_shared_assets_stay_out_of_the_mirror(
        immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(immich)
    user.upload("MINE.jpg", b"m" * 100, taken=START)
    user.partner_shares("THEIRS.jpg", b"t" * 100, taken=START)
    user.partner_shares("MINE.jpg", b"u" * 100, taken=START)  # a name that would collide
    key = immich.add_key(("all",))
    path = config(tmp_path, target, {"url": immich.url, "api_key": key},
                  mirror={"delete": "mirror", "include_archived": True})
    settings = load_config(path, {})
    report = run_sync(settings, PassOptions())
    assert report.exit_code == 0, report
    assert mirrored_files(target) == {"2024/05/MINE.jpg": b"m" * 100}
    assert report.listed == 1
    assert immich.download_count == 1  # the partner's originals are never fetched

    user.partner_leaves_timeline()  # their assets leave the searches: nothing of ours moves
    report = run_sync(settings, PassOptions())
    assert report.exit_code == 0 and report.deleted == 0
    assert mirrored_files(target) == {"2024/05/MINE.jpg": b"m" * 100}


def test_a_key_that_may_not_read_its_user_is_exit_3_naming_user_read(
        immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    ImmichUser(immich).upload("P.jpg", b"p" * 100, taken=START)
    key = immich.add_key(("asset.read", "asset.download", "asset.statistics"))
    path = config(tmp_path, target, {"url": immich.url, "api_key": key})
    result = run_cli(path, "sync")
    out = result.stdout + result.stderr
    assert result.returncode == 3, out
    assert "user.read" in out and key not in out
    assert not (target / "2024").exists()
    check = run_cli(path, "check")
    assert check.returncode == 3 and "lacks user.read" in check.stdout + check.stderr


@pytest.mark.parametrize("how", ["trash", "archive"])
def test_a_trashed_live_photo_is_removed_not_a_safety_stop_forever(
        how: str, immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(immich)
    for i in range(8):
        user.upload(f"MORE_{i}.jpg", f"more-{i}".encode() * 30, taken=START)
    still, video = user.upload_live(("L.heic", b"still" * 40), ("L.mov", b"motion" * 40),
                                    taken=START)
    path = config(tmp_path, target, {"url": immich.url, "api_key": immich.add_key(("all",))},
                  mirror={"delete": "trash", "include_archived": how == "trash"})
    settings = load_config(path, {})
    assert run_sync(settings, PassOptions()).exit_code == 0
    assert len(mirrored_files(target)) == 10
    if how == "trash":  # the user deletes the live photo (Immich trashes the still)
        user.trash(still)
    else:  # or archives it, and the mirror leaves the archive out
        user.archive(still)
    assert not immich.lib.assets[video].is_trashed
    report = run_sync(settings, PassOptions())
    assert report.exit_code == 0, (report.exit_code, report.safety_stop)
    assert len(mirrored_files(target)) == 8


def test_a_partner_asset_mirrored_by_an_older_version_does_not_block_removals_forever(
        immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(immich)
    mine = user.upload("MINE.jpg", b"m" * 100, taken=START)
    gone = user.upload("GONE.jpg", b"g" * 100, taken=START)
    for i in range(6):
        user.upload(f"MORE_{i}.jpg", f"more-{i}".encode() * 30, taken=START)
    theirs = user.partner_shares("THEIRS.jpg", b"t" * 100, taken=START)
    partner = immich.lib.assets[theirs].owner_id
    immich.lib.assets[theirs].owner_id = ""  # as an older ppsync saw it: one of the timeline's
    path = config(tmp_path, target, {"url": immich.url, "api_key": immich.add_key(("all",))},
                  mirror={"delete": "trash", "include_archived": True})
    settings = load_config(path, {})
    assert run_sync(settings, PassOptions()).exit_code == 0
    assert len(mirrored_files(target)) == 9
    immich.lib.assets[theirs].owner_id = partner  # the upgraded ppsync tells it apart
    user.trash(gone)  # a real removal on the user's side
    for _ in range(2):
        report = run_sync(settings, PassOptions())
        assert report.exit_code == 0, (report.exit_code, report.safety_stop)
    files = mirrored_files(target)
    assert "2024/05/GONE.jpg" not in files, files
    assert "2024/05/MINE.jpg" in files and mine
    # the partner's photo leaves the mirror like any asset that left the user's library (here
    # into .ppsync/trash/, the policy): it was never the user's to back up
    assert "2024/05/THEIRS.jpg" not in files, files
