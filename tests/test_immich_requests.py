"""A full Immich walk asks the server only what it needs: the statistics' count (timeline +
archive) is read only when the archive is walked too, the one case where it can judge the walk;
each visibility is walked once, 1,000 assets a page at most, with EXIF."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fake_immich import FakeImmich, ImmichUser
from tests.test_immich import TAKEN, immich, key_settings, sync

__all__ = ["immich"]  # the fixture


@pytest.mark.parametrize("include_archived", [False, True])
def test_a_full_walk_reads_the_count_only_when_it_can_judge_the_walk(
        immich: FakeImmich, tmp_path: Path, target: Path, include_archived: bool) -> None:
    user = ImmichUser(immich)
    kept = user.upload("A.jpg", b"a" * 100, taken=TAKEN)
    user.archive(user.upload("B.jpg", b"b" * 100, taken=TAKEN))
    settings = key_settings(immich, tmp_path, target,
                            mirror={"include_archived": include_archived, "page_size": 5000})
    report = sync(settings)
    assert report.exit_code == 0 and report.listed == (2 if include_archived else 1)
    assert bool(immich.requests_to("/assets/statistics")) == include_archived
    searches = [r.json for r in immich.requests_to("/search/metadata", "POST")]
    walked = ["timeline", "hidden"] + (["archive"] if include_archived else [])
    assert sorted(s["visibility"] for s in searches) == sorted(walked)
    assert all(s["size"] == 1000 and s["withExif"] is True for s in searches)
    assert (target / "2024/05/A.jpg").read_bytes() == b"a" * 100 and kept
