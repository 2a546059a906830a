"""Property tests of the pure planner: for random remote listings and states, the invariants
hold (never delete what a complete listing contains, never exceed max_delete, never plan two
writers for one path, nothing removed on an incomplete listing)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ppsync.config import MirrorConfig
from ppsync.mirror.planner import Policy, plan_listing
from ppsync.models import ActionKind, LocalRecord, RecordStatus, RemoteFile
from ppsync.servers.photoprism.listing import LISTING_COUNTS, WalkStats, judge_walk

UIDS = [f"f{n:015d}" for n in range(12)]
NAMES = ["a.jpg", "b.jpg", "x/a.jpg", "x/y/c.mp4", "../evil", "/abs", "d.heic", "e\x00.jpg"]
HASHES = [f"{n:040x}" for n in range(4)]

remote_files = st.builds(
    RemoteFile,
    file_uid=st.sampled_from(UIDS),
    photo_uid=st.just("p1"),
    name=st.sampled_from(NAMES),
    sha1=st.sampled_from(HASHES),
    size=st.integers(0, 10),
)
records = st.builds(
    LocalRecord,
    file_uid=st.sampled_from(UIDS),
    photo_uid=st.just("p1"),
    path=st.sampled_from(NAMES[:4] + NAMES[6:7]),
    sha1=st.sampled_from(HASHES),
    size=st.integers(0, 10),
    status=st.sampled_from(list(RecordStatus)),
)
policies = st.builds(
    Policy,
    delete=st.sampled_from(["keep", "trash", "mirror"]),
    max_delete=st.integers(0, 12),
    max_delete_percent=st.sampled_from([0.0, 10.0, 50.0, 100.0]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(remote_files, max_size=14), st.lists(records, max_size=12), policies,
       st.booleans())
def test_planner_invariants(
    listing: list[RemoteFile], state_rows: list[LocalRecord], policy: Policy, complete: bool
) -> None:
    state = {r.file_uid: r for r in state_rows}
    plan = plan_listing(listing, state, walk_complete=complete, policy=policy)
    listed_uids = {f.file_uid for f in listing}
    removed = [a for a in plan.removals if a.kind in (ActionKind.TRASH, ActionKind.DELETE)]

    # Never remove (or forget) a file that the listing contains.
    for action in plan.removals:
        assert action.record is not None
        assert action.record.file_uid not in listed_uids

    # Nothing removed on an incomplete listing; never more than max_delete for removing policies.
    if not complete:
        assert plan.removals == []
    assert len(removed) <= policy.max_delete

    # Never more than max_delete_percent of the tracked mirror, and never on an empty listing.
    tracked = sum(1 for r in state.values() if r.status is RecordStatus.ACTIVE)
    if plan.removals:
        assert len(plan.removals) * 100 <= policy.max_delete_percent * tracked
        assert listing

    # Never two writers for one path: one action per destination among writing actions.
    writers = Counter(a.path for a in plan.actions
                      if a.kind in (ActionKind.DOWNLOAD, ActionKind.MOVE, ActionKind.CHECK))
    assert all(count == 1 for count in writers.values())

    # Unsafe names are refused, never written.
    for action in plan.actions:
        if action.remote is not None and (action.remote.name.startswith("/")
                                          or ".." in action.remote.name.split("/")
                                          or "\x00" in action.remote.name):
            assert action.kind is ActionKind.REFUSE

    # One decision per listed file.
    assert len(plan.actions) == len(listed_uids)


@given(st.lists(records, min_size=1, max_size=12), policies)
def test_empty_listing_never_removes(state_rows: list[LocalRecord], policy: Policy) -> None:
    state = {r.file_uid: r for r in state_rows}
    plan = plan_listing([], state, walk_complete=True, policy=policy)
    assert plan.removals == []
    if any(r.status is RecordStatus.ACTIVE for r in state.values()):
        assert not plan.verdict.allowed


def test_move_edit_new_and_unchanged_are_told_apart() -> None:
    old = LocalRecord("f1", "p1", "a.jpg", "1" * 40, 3)
    state = {"f1": old, "f2": LocalRecord("f2", "p1", "b.jpg", "2" * 40, 3),
             "f3": LocalRecord("f3", "p1", "c.jpg", "3" * 40, 3)}
    listing = [
        RemoteFile("f1", "p1", "moved/a.jpg", "1" * 40, 3),  # same hash, new name
        RemoteFile("f2", "p1", "b.jpg", "9" * 40, 4),  # same name, new hash
        RemoteFile("f3", "p1", "c.jpg", "3" * 40, 3),  # unchanged
        RemoteFile("f4", "p1", "d.jpg", "4" * 40, 3),  # new
    ]
    plan = plan_listing(listing, state, walk_complete=True, policy=Policy())
    kinds = {a.remote.file_uid: (a.kind, a.record) for a in plan.actions if a.remote}
    assert kinds["f1"] == (ActionKind.MOVE, old)
    assert kinds["f2"][0] is ActionKind.DOWNLOAD and kinds["f2"][1] is not None
    assert kinds["f3"][0] is ActionKind.CHECK
    assert kinds["f4"] == (ActionKind.DOWNLOAD, None)


COUNT_KEYS = [*LISTING_COUNTS, "favorites", "albums", "labels", "places", "people", "folders",
              "moments", "months"]


@given(before=st.dictionaries(st.sampled_from(COUNT_KEYS), st.integers(0, 5), min_size=1),
       key=st.sampled_from(COUNT_KEYS), delta=st.integers(1, 3))
@settings(max_examples=200, deadline=None)
def test_only_totals_that_move_rows_make_a_walk_incomplete(
    before: dict[str, int], key: str, delta: int
) -> None:
    after = {**before, key: before.get(key, 0) + delta}
    mirror = MirrorConfig(target=Path("/nonexistent"))
    complete, reason = judge_walk(WalkStats(), before, after, mirror, admin=False)
    assert complete == (key not in LISTING_COUNTS), (key, reason)
