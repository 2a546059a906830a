"""A state from an older ppsync (files, no server identity) binds only to a server proven to be
its own (reviews 2, 3 and 4): by a complete walk that lists the mirror's keys, or, when its keys
all left, by the content of several distinct photos (one shared photo, even listed twice, is no
proof). A change pass proves nothing; a wrong server reached once (a typo in the URL) is
refused and leaves the state free to follow its own; what waits for the proof is bounded, and
what did not fit is fetched by the next pass; a state whose photos all left is told to rebind.
Against the fakes over loopback, with a real state and real files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ppsync.mirror.sync import run_sync
from tests.conftest import mirrored_files
from tests.kinds import Library, library


def _forget_identity(target: Path) -> None:
    from ppsync.mirror.identity import IDENTITY_KEY
    from ppsync.state import State

    state = State.open(target / ".ppsync" / "state.db")
    try:
        state.delete_meta(IDENTITY_KEY)  # as written by a ppsync before identities
    finally:
        state.close()


# --- unproven: actions dropped past HOLD_LIMIT are planned by the very next pass --------------


def test_actions_dropped_past_the_hold_limit_are_fetched_by_the_next_pass(
        tmp_path: Path, target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The proving pass records neither the change cursor nor a full walk when it dropped
    actions: the daemon's next pass, a change pass by default, walks everything instead."""
    from ppsync.mirror import unproven
    from ppsync.mirror.sync import PassOptions, run_sync
    from ppsync.report import summary_lines
    from tests.test_identity import PHOTOS, fill, settings

    monkeypatch.setattr(unproven, "HOLD_LIMIT", 2)
    with library("immich") as own:
        fill(own, PHOTOS)
        assert run_sync(settings(own, tmp_path, target)).exit_code == 0
        _forget_identity(target)  # the state of yesterday's ppsync
        older = datetime(2010, 1, 1, tzinfo=UTC)  # listed before the mirror's own files
        for n in range(4):
            own.add(f"OLD{n}.jpg", bytes([n + 1]) * 100, older)
        # A day passes (the files were added long before the upgrade, not within the change
        # pass's 5-minute margin): the server's clock, which the change cursor comes from.
        fake: Any = own.fake  # type: ignore[attr-defined]
        fake.lib.clock_offset = timedelta(days=1)
        first = run_sync(settings(own, tmp_path, target))
        assert first.exit_code == 0 and first.downloaded == 2  # held 2, dropped 2, exit 0
        assert first.deferred == 2
        assert any("the next pass walks everything" in line for line in summary_lines(first))
        second = run_sync(settings(own, tmp_path, target), PassOptions(changes_only=True))
        assert second.exit_code == 0 and second.deferred == 0
        assert second.command == "sync" and not second.changes_since  # walked everything
        assert second.downloaded == 2
        assert len(mirrored_files(target)) == len(PHOTOS) + 4
        third = run_sync(settings(own, tmp_path, target), PassOptions(changes_only=True))
        assert third.exit_code == 0 and third.command == "change"  # back to change passes


# --- unproven: an old state whose files all left its own server ------------------------------

# Every mirrored photo leaves: the removal guard would stop the pass (its own safety stop).
MIRROR = {"delete": "trash", "max_delete_percent": 100}


def test_an_old_state_is_proven_by_content_when_its_keys_all_left(
        tmp_path: Path, target: Path) -> None:
    """Every mirrored photo deleted on the server and most uploaded again (new asset ids, the
    same bytes): the walk lists the mirror's content, so the server is its own."""
    from ppsync.mirror.sync import run_sync
    from tests.test_identity import bound_to, settings

    with library("immich") as own:
        keys = [own.add(f"2024/{n}.jpg", bytes([n + 1]) * 300) for n in range(4)]
        assert run_sync(settings(own, tmp_path, target,
                                 mirror=MIRROR)).exit_code == 0
        _forget_identity(target)  # the state of yesterday's ppsync
        for key in keys:  # the user cleared those photos from the library (and the trash)
            own.remove(key)
        for key in keys:
            own.user.purge(key)  # type: ignore[attr-defined]  # emptied from the trash
        own.add("2024/again.jpg", bytes([1]) * 300)  # three of the four uploaded again
        own.add("2024/again2.jpg", bytes([2]) * 300)
        own.add("2024/again3.jpg", bytes([3]) * 300)
        own.add("2024/new.jpg", b"n" * 300)
        for attempt in range(2):
            report = run_sync(settings(own, tmp_path, target, mirror=MIRROR))
            assert report.exit_code == 0, f"pass {attempt}: {report.safety_stop}"
        assert bound_to(target) is not None
        assert sorted(mirrored_files(target).values()) == sorted(
            [bytes([1]) * 300, bytes([2]) * 300, bytes([3]) * 300, b"n" * 300])


def test_an_old_state_is_not_proven_by_a_few_shared_photos(tmp_path: Path,
                                                           target: Path) -> None:
    """Another library that shares one photo with the mirror (a family member's) does not
    prove itself the mirror's: refused, nothing downloaded, nothing bound."""
    from ppsync.errors import SafetyStop
    from ppsync.mirror.sync import run_sync
    from tests.test_identity import bound_to, settings

    with library("immich") as own, library("immich") as other:
        for n in range(3):
            own.add(f"2024/{n}.jpg", bytes([n + 1]) * 300)
        assert run_sync(settings(own, tmp_path, target, mirror=MIRROR)).exit_code == 0
        before = mirrored_files(target)
        _forget_identity(target)
        other.add("2024/shared.jpg", bytes([1]) * 300)  # the same photo, in their library
        other.add("2024/theirs.jpg", b"t" * 300)
        try:
            report = run_sync(settings(other, tmp_path, target, mirror=MIRROR))
            refused = report.exit_code == 4
        except SafetyStop:
            refused = True
        assert refused
        assert other.download_count() == 0 and mirrored_files(target) == before
        assert bound_to(target) is None


def test_an_old_state_whose_photos_all_left_is_told_to_rebind(tmp_path: Path,
                                                               target: Path) -> None:
    """None of the mirror's keys or content listed: still refused (it may be another server),
    with words for both causes; `sync --rebind` then follows the server."""
    from ppsync.mirror.sync import run_sync
    from tests.test_identity import settings, sync

    with library("immich") as own:
        keys = [own.add(f"2024/{n}.jpg", bytes([n + 1]) * 300) for n in range(3)]
        assert run_sync(settings(own, tmp_path, target,
                                 mirror=MIRROR)).exit_code == 0
        _forget_identity(target)
        for key in keys:  # deleted for good: trashed, then emptied from the trash
            own.remove(key)
            own.user.purge(key)  # type: ignore[attr-defined]
        own.add("2024/new.jpg", b"n" * 300)
        for _ in range(2):  # every pass (the daemon's too), until --rebind
            refused = run_sync(settings(own, tmp_path, target, mirror=MIRROR))
            assert refused.exit_code == 4, refused
        message = refused.safety_stop
        assert "every mirrored photo was deleted from it" in message, message
        assert "ppsync sync --rebind" in message, message
        assert len(mirrored_files(target)) == 3  # nothing removed on the strength of it
        assert sync(own, tmp_path, target, rebind=True, mirror=MIRROR) \
            .exit_code == 0
        # What the re-bind's walk did not list stays, kept: a listing is no proof of a
        # deletion to a re-bind (issue 18), so the photos deleted before it are not removed.
        after = run_sync(settings(own, tmp_path, target, mirror=MIRROR))
        assert after.exit_code == 0 and after.trashed == 0 and after.kept_from_before == 3
        assert sorted(mirrored_files(target).values()) == sorted(
            [b"n" * 300] + [bytes([n + 1]) * 300 for n in range(3)])


# --- a wrong server reached once, a change pass, what waits for the proof ---------------------


def test_an_old_state_pointed_once_at_a_wrong_server_still_follows_its_own(
        tmp_path: Path, target: Path) -> None:
    from ppsync.errors import SafetyStop
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


# --- proof by content counts distinct photos, and needs several -----------------------------


@pytest.mark.parametrize("kind", ["photoprism", "immich"])
def test_one_shared_photo_does_not_prove_a_small_mirrors_server(
        tmp_path: Path, target: Path, kind: str) -> None:
    from ppsync.errors import SafetyStop
    from tests.test_identity import bound_to, settings

    with library(kind) as own, library(kind) as other:
        for n in range(2):
            own.add(f"2024/{n}.jpg", bytes([n + 1]) * 300)
        assert run_sync(settings(own, tmp_path, target, mirror=MIRROR)).exit_code == 0
        before = mirrored_files(target)
        _forget_identity(target)
        other.add("2024/shared.jpg", bytes([1]) * 300)  # a family member's copy of one photo
        other.add("2024/theirs.jpg", b"t" * 300)
        other.add("2024/theirs2.jpg", b"u" * 300)
        try:
            report = run_sync(settings(other, tmp_path, target, mirror=MIRROR))
            refused = report.exit_code == 4
        except SafetyStop:
            refused = True
        assert refused
        assert other.download_count() == 0 and mirrored_files(target) == before
        assert bound_to(target) is None


def test_a_shared_photo_listed_twice_counts_once(tmp_path: Path, target: Path) -> None:
    from ppsync.errors import SafetyStop
    from tests.test_identity import bound_to, settings

    with library("photoprism") as own, library("photoprism") as other:
        for n in range(3):
            own.add(f"2024/{n}.jpg", bytes([n + 1]) * 300)
        assert run_sync(settings(own, tmp_path, target, mirror=MIRROR)).exit_code == 0
        before = mirrored_files(target)
        _forget_identity(target)
        other.add("2024/shared.jpg", bytes([1]) * 300)  # one photo they share with the mirror,
        other.add("phone/shared.jpg", bytes([1]) * 300)  # in two of their folders
        other.add("2024/theirs.jpg", b"t" * 300)
        try:
            report = run_sync(settings(other, tmp_path, target, mirror=MIRROR))
            refused = report.exit_code == 4
        except SafetyStop:
            refused = True
        assert refused
        assert other.download_count() == 0 and mirrored_files(target) == before
        assert bound_to(target) is None
