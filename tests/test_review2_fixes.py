"""Review 2's findings, fixed: each test proved a bug (strict xfail in the review's
tests/test_review2.py) and now holds. Against the fakes over loopback, with the real CLI
where a user would use it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tests.conftest import run_cli

# --- taken time: the same second is the same time when one side has no sub-seconds ----------


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


# --- verify --repair: the account is checked (after login) before anything is set aside ------


def test_verify_repair_refuses_another_immich_account(tmp_path: Path, target: Path) -> None:
    from tests.kinds import library
    from tests.test_identity import PHOTOS, config, fill, runs, sync

    with library("immich") as lib:
        fill(lib, PHOTOS)
        assert sync(lib, tmp_path, target).exit_code == 0
        fake: Any = lib.fake  # type: ignore[attr-defined]
        fake.auth.user_id = str(uuid.uuid4())  # the key now opens another user's library
        assert sync(lib, tmp_path, target).exit_code == 4  # sync refuses (right)
        damaged = target / lib.path("2024/A.jpg")
        damaged.write_bytes(b"damaged!")
        downloads = lib.download_count()
        repair = run_cli(config(lib, tmp_path, target), "verify", "--repair")
        out = repair.stdout + repair.stderr
        assert repair.returncode == 4 and "--rebind" in repair.stderr, out
        assert damaged.read_bytes() == b"damaged!", out  # not set aside: nothing to repair from
        assert runs(target)[0]["command"] == "repair" and runs(target)[0]["exit_code"] == 4
        assert lib.download_count() == downloads
