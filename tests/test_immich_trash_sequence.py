"""Immich's trash and archive over a sequence of passes of one process on one state, as the
daemon runs them (one session, change passes between full walks), under ``delete = "trash"``:
trashed on the server → a change pass keeps the file → the next full walk moves it to
``.ppsync/trash`` → restored on the server → the next pass puts the kept copy back (verified,
nothing downloaded) → purged → the next full walk moves it aside again. Then archive and
unarchive with ``include_archived`` off and on."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from ppsync.config import Settings, load_config
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.models import RunReport
from ppsync.servers import open_server
from ppsync.servers.base import PhotoServer
from ppsync.state import State
from tests.conftest import mirrored_files, write_config
from tests.kinds import library
from tests.kinds_immich import ImmichLibrary


@pytest.fixture
def immich() -> Iterator[ImmichLibrary]:
    with library("immich") as lib:
        assert isinstance(lib, ImmichLibrary)
        yield lib


def settings(lib: ImmichLibrary, tmp_path: Path, target: Path, *,
             include_archived: bool = False) -> Settings:
    path = write_config(tmp_path / "ppsync.toml", {
        "server": {**lib.server_section(), "retry_backoff": 0.01},
        "mirror": {"target": str(target), "delete": "trash",
                   "include_archived": include_archived},
        "log": {"level": "debug", "format": "json"}})
    return load_config(path, {})


class Passes:
    """Passes of one process: one opened server (one session), one state."""

    def __init__(self, config: Settings, server: PhotoServer) -> None:
        self.config = config
        self.server = server

    def full(self) -> RunReport:
        report = run_sync(self.config, PassOptions(server=self.server))
        assert report.exit_code == 0 and report.walk_complete, report
        return report

    def change(self) -> RunReport:
        report = run_sync(self.config, PassOptions(changes_only=True, server=self.server))
        assert report.exit_code == 0 and report.command == "change", report
        return report


def trash_of(target: Path) -> dict[str, bytes]:
    return {p.relative_to(target / ".ppsync" / "trash").as_posix(): p.read_bytes()
            for p in (target / ".ppsync" / "trash").rglob("*") if p.is_file()}


def tracked(target: Path) -> dict[str, str]:
    state = State.open(target / ".ppsync" / "state.db")
    try:
        return {r.path: r.sha1 for r in state.active_records()}
    finally:
        state.close()


def test_trash_restore_purge_in_one_process(immich: ImmichLibrary, tmp_path: Path,
                                            target: Path) -> None:
    a = immich.add("a.jpg", b"A" * 4000)
    immich.add("b.jpg", b"B" * 4000)
    path = immich.path("a.jpg")
    config = settings(immich, tmp_path, target)
    server = open_server(config.server)
    server.open()
    try:
        passes = Passes(config, server)
        assert passes.full().downloaded == 2

        immich.user.trash(a)  # into Immich's trash: it has left the library
        report = passes.change()
        assert report.trashed == report.deleted == report.forgotten == 0
        assert (target / path).read_bytes() == b"A" * 4000  # a change pass never removes

        report = passes.full()
        assert report.trashed == 1 and not (target / path).exists()
        assert trash_of(target) == {path: b"A" * 4000}  # kept aside, not deleted
        assert path not in tracked(target)

        # Restored on the server: the restore bumps updatedAt, so the next change pass sees it.
        # What the mirror kept aside is the very original (same SHA-1): it goes back to its
        # place, verified; nothing is downloaded, and no second copy piles up in the trash.
        immich.user.restore(a)
        immich.reset_counters()
        report = passes.change()
        assert report.downloaded == 0 and report.adopted == 1 and immich.download_count() == 0
        assert (target / path).read_bytes() == b"A" * 4000
        assert trash_of(target) == {}
        assert tracked(target)[path] == hashlib.sha1(b"A" * 4000).hexdigest()
        assert passes.full().downloaded == 0  # and the next full walk agrees

        # Purged (deleted for good): nothing in the change feed; the full walk moves it aside.
        immich.user.purge(a)
        report = passes.change()
        assert report.trashed == 0 and (target / path).exists()
        report = passes.full()
        assert report.trashed == 1 and trash_of(target) == {path: b"A" * 4000}
        assert set(mirrored_files(target)) == {immich.path("b.jpg")}
    finally:
        server.close()


def test_a_restore_never_takes_a_different_copy_from_the_trash(
        immich: ImmichLibrary, tmp_path: Path, target: Path) -> None:
    # The trash holds a file of that name whose bytes are not the server's: it stays where it
    # is, and the original is downloaded.
    a = immich.add("a.jpg", b"A" * 4000)
    immich.add("b.jpg", b"B" * 4000)
    path = immich.path("a.jpg")
    config = settings(immich, tmp_path, target)
    server = open_server(config.server)
    server.open()
    try:
        passes = Passes(config, server)
        passes.full()
        immich.user.trash(a)
        passes.full()
        (target / ".ppsync" / "trash" / path).write_bytes(b"edited by hand")
        immich.user.restore(a)
        report = passes.change()
        assert report.downloaded == 1
        assert (target / path).read_bytes() == b"A" * 4000
        assert trash_of(target) == {path: b"edited by hand"}
    finally:
        server.close()


def test_archive_and_unarchive_with_include_archived_off_and_on(
        immich: ImmichLibrary, tmp_path: Path, target: Path) -> None:
    immich.add("a.jpg", b"A" * 4000)
    b = immich.add("b.jpg", b"B" * 4000)
    path = immich.path("b.jpg")
    off = settings(immich, tmp_path, target)
    server = open_server(off.server)
    server.open()
    try:
        passes = Passes(off, server)
        passes.full()

        # Off: an archived asset is out of the mirror's scope. A change pass leaves it; the
        # next full walk treats it as gone, under the policy: trash keeps it aside.
        immich.user.archive(b)
        assert passes.change().trashed == 0 and (target / path).exists()
        report = passes.full()
        assert report.trashed == 1 and trash_of(target) == {path: b"B" * 4000}

        # Unarchived: back in the timeline; the kept copy goes back, nothing downloaded.
        immich.user.archive(b, on=False)
        immich.reset_counters()
        report = passes.change()
        assert report.downloaded == 0 and immich.download_count() == 0
        assert (target / path).read_bytes() == b"B" * 4000 and trash_of(target) == {}

        # On: archived again, it stays in the mirror through change passes and full walks.
        immich.user.archive(b)
        passes.config = settings(immich, tmp_path, target, include_archived=True)
        immich.reset_counters()
        for _ in range(2):
            assert passes.change().trashed == 0
            report = passes.full()
            assert report.trashed == report.downloaded == 0
        assert immich.download_count() == 0
        assert mirrored_files(target) == {immich.path("a.jpg"): b"A" * 4000,
                                          path: b"B" * 4000}
        assert trash_of(target) == {}
    finally:
        server.close()
