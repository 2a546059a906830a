"""A restore works from the mirror alone, so the sidecars record what it needs to put a photo
back whole: who set each text, the user's tags, the stack a photo is in. A mirror written by an
older ppsync gains those on its next full walk, from the server's details alone (no download),
on either kind of server."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ppsync.models import RunReport
from tests.kinds import Library

JSON = {"metadata": {"sidecars": "json"}}
NEW_FIELDS = ("title_src", "caption_src", "keywords_src", "place_src", "tags")


def sidecars(target: Path) -> dict[str, dict[str, Any]]:
    return {p.relative_to(target).as_posix(): json.loads(p.read_text())
            for p in target.rglob("*.ppsync.json")}


def as_an_older_ppsync_left_it(target: Path) -> None:
    """The sidecars without the fields this ppsync adds, and the state's record of them as an
    older ppsync wrote it (its export kinds had no document generation)."""
    for path in target.rglob("*.ppsync.json"):
        document = json.loads(path.read_text())
        for field in (*NEW_FIELDS, "stack"):
            document.pop(field, None)
        path.write_text(json.dumps(document, sort_keys=True, indent=2) + "\n")
    db = sqlite3.connect(target / ".ppsync" / "state.db")
    with db:
        db.execute("UPDATE photos SET kinds = replace(kinds, '/2', '')")
    db.close()


def test_an_older_mirror_gains_what_a_restore_needs_on_the_next_full_walk_without_downloads(
        lib: Library, lib_sync: Callable[..., RunReport], target: Path) -> None:
    for n in range(3):
        lib.add(f"IMG_{n}.jpg", bytes([n]) * 200)
    assert lib_sync(**JSON).exit_code == 0
    written = sidecars(target)
    assert len(written) == 3
    for document in written.values():
        assert set(NEW_FIELDS) <= set(document)
    as_an_older_ppsync_left_it(target)
    assert all(not set(NEW_FIELDS) & set(d) for d in sidecars(target).values())
    downloads = lib.download_count()

    report = lib_sync(**JSON)  # a full walk (no change cursor asked for)
    assert report.exit_code == 0, report
    assert report.downloaded == 0 and lib.download_count() == downloads
    assert sidecars(target) == written  # byte for byte what this ppsync writes
    again = lib_sync(**JSON)
    assert again.exit_code == 0 and sidecars(target) == written
