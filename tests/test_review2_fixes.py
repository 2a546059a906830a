"""Review 2's findings, fixed: each test proved a bug (strict xfail in the review's
tests/test_review2.py) and now holds. Against the fakes over loopback, with the real CLI
where a user would use it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.fake_immich import FakeImmich
from tests.kinds import Library

T0 = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)


# --- identity: a state from an older ppsync (files, no identity) binds only once proven -------


def _forget_identity(target: Path) -> None:
    from ppsync.mirror.identity import IDENTITY_KEY
    from ppsync.state import State

    state = State.open(target / ".ppsync" / "state.db")
    try:
        state.delete_meta(IDENTITY_KEY)  # as written by a ppsync before identities
    finally:
        state.close()


def test_an_old_state_pointed_once_at_a_wrong_server_still_follows_its_own(
        tmp_path: Path, target: Path) -> None:
    from ppsync.errors import SafetyStop
    from tests.conftest import mirrored_files
    from tests.kinds import library
    from tests.test_identity import PHOTOS, bound_to, fill, identity, runs, sync

    with library("photoprism") as own, library("immich") as wrong:
        fill(own, PHOTOS)
        fill(wrong, {"2020/X.jpg": b"x" * 300, "2020/Y.jpg": b"y" * 300})
        assert sync(own, tmp_path, target).exit_code == 0
        before = mirrored_files(target)
        _forget_identity(target)
        mistaken = sync(wrong, tmp_path, target)  # a typo in [server] url, say
        # a complete walk that lists none of the mirror's keys: another server, refused
        assert mistaken.exit_code == 4 and "--rebind" in mistaken.safety_stop, mistaken
        assert wrong.download_count() == 0 and mirrored_files(target) == before
        assert identity(target) is None and runs(target)[0]["exit_code"] == 4
        try:
            back = sync(own, tmp_path, target)  # the typo fixed
        except SafetyStop as exc:
            raise AssertionError(f"its own server refused after one mistaken pass: {exc}") \
                from None
        assert back.exit_code == 0 and back.downloaded == 0
        assert bound_to(target) == ("photoprism", own_url(own))
        assert mirrored_files(target) == before
        with pytest.raises(SafetyStop):  # now bound: the wrong server is refused up front
            sync(wrong, tmp_path, target)


def own_url(lib: Any) -> str:
    from ppsync.mirror.identity import normalise_url

    return normalise_url(lib.url)


def test_an_old_state_binds_only_after_a_full_walk_lists_its_files(
        lib: Library, tmp_path: Path, target: Path) -> None:
    """A change pass proves nothing (it lists what changed): a state from an older ppsync gets a
    full walk, which binds it."""
    from ppsync.mirror.sync import PassOptions, run_sync
    from tests.test_identity import PHOTOS, bound_to, fill, settings

    fill(lib, PHOTOS)
    assert run_sync(settings(lib, tmp_path, target)).exit_code == 0
    _forget_identity(target)
    lib.add("2024/New.jpg", b"new" * 100)
    report = run_sync(settings(lib, tmp_path, target), PassOptions(changes_only=True))
    assert report.command == "sync" and report.exit_code == 0  # walked everything
    assert report.downloaded == 1
    assert bound_to(target) == (lib.kind, own_url(lib))


def test_an_unproven_server_holds_a_bounded_number_of_actions(
        tmp_path: Path, target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What waits for the proof is bounded (a wrong server's listing is never held in memory);
    what did not fit is planned again by the next pass, once the walk proved the server."""
    from datetime import UTC, datetime

    from ppsync.mirror import unproven
    from tests.conftest import mirrored_files
    from tests.kinds import library
    from tests.test_identity import PHOTOS, bound_to, fill, sync

    monkeypatch.setattr(unproven, "HOLD_LIMIT", 2)
    with library("immich") as own:
        fill(own, PHOTOS)
        assert sync(own, tmp_path, target).exit_code == 0
        _forget_identity(target)
        older = datetime(2010, 1, 1, tzinfo=UTC)  # listed before the mirror's own files
        for n in range(4):
            own.add(f"OLD{n}.jpg", bytes([n + 1]) * 100, older)
        first = sync(own, tmp_path, target)
        assert first.exit_code == 0 and first.downloaded == 2  # held 2, dropped 2
        assert bound_to(target) == ("immich", own_url(own))
        second = sync(own, tmp_path, target)
        assert second.exit_code == 0 and second.downloaded == 2
        assert len(mirrored_files(target)) == len(PHOTOS) + 4


@pytest.fixture
def fake() -> Iterator[FakeImmich]:
    with FakeImmich(generation="v2.5") as f:
        yield f


# --- removals confirmed per asset: a trashed live photo, a partner's asset -------------------
