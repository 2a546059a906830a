"""The core mirror against each kind of server (``lib``, ``tests/kinds.py``) over loopback HTTP:
incremental, moves, edits, new files, deletions under each policy, adoption, hashes."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ppsync.config import load_config
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.models import RunReport
from ppsync.report import status_lines, summary_lines
from ppsync.state import State
from tests.conftest import ConfigFactory, mirrored_files
from tests.fake_photoprism import FakePhotoPrism
from tests.kinds import LATER, TAKEN, Library

Sync = Callable[..., RunReport]


def originals(server: FakePhotoPrism) -> dict[str, bytes]:
    result = {}
    for file in server.files(root="/"):
        if file.sidecar:
            continue
        result[file.name] = file.content if file.content is not None else Path(
            str(file.path)).read_bytes()
    return result


def library(server: FakePhotoPrism) -> None:
    server.add_photo([("2024/05/IMG_4711.jpg", b"jpeg-bytes-1" * 100)], title="Garden")
    video = server.add_photo([], type="video")
    server.add_file(video.uid, "2024/05/VID_1.mp4", b"mp4" * 5000)
    server.add_file(video.uid, "2024/05/VID_1.mp4.jpg", b"preview", root="sidecar",
                    primary=True)
    raw = server.add_photo([("2024/06/DSC_1.NEF", b"raw" * 3000),
                            ("2024/06/DSC_1.JPG", b"jpg" * 1000)], type="raw")
    server.add_file(raw.uid, "2024/06/DSC_1.NEF.jpg", b"raw-preview", root="sidecar")
    live = server.add_photo([("2024/07/IMG_1.HEIC", b"heic" * 700),
                             ("2024/07/IMG_1.MOV", b"mov" * 900)], type="live")
    server.add_file(live.uid, "2024/07/IMG_1.xmp", b"<xmp/>", sidecar=True)
    server.add_photo([("Urlaub 2023/Strand am Meer.JPG", b"beach" * 10)])
    server.add_photo([("写真/東京.heic", b"tokyo" * 10)])
    server.add_photo([("a/same.jpg", b"one")])
    server.add_photo([("b/same.jpg", b"two")])


# PhotoPrism-only: its photo/file split (a video's preview and a RAW's JPEG in the sidecar root,
# an XMP sidecar) decides what is an original; test_kinds.py has the byte-exact no-op for both.
def test_full_mirror_is_byte_exact_and_second_run_downloads_nothing(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    library(server)
    report = sync()
    assert report.exit_code == 0, report
    expected = originals(server)
    assert mirrored_files(target) == expected
    # mtimes follow the server's Last-Modified (whole seconds, as HTTP dates carry them)
    for file in server.files(root="/"):
        if not file.sidecar:
            assert int((target / file.name).stat().st_mtime) == int(file.mtime)
    # previews in the sidecar root and metadata sidecars are not originals
    assert "2024/05/VID_1.mp4.jpg" not in mirrored_files(target)
    assert report.downloaded == len(expected)
    assert report.walk_complete

    server.reset_counters()
    second = sync()
    assert second.exit_code == 0
    assert second.downloaded == 0 and second.unchanged == len(expected)
    assert server.download_count == 0
    assert mirrored_files(target) == expected


def test_photos_split_across_page_edges_are_all_mirrored(
    lib: Library, target: Path, lib_sync: Sync
) -> None:
    # Live photos: PhotoPrism lists a still and its video as two rows of one photo, which a page
    # edge cuts; Immich walks the stills, then their hidden videos, page by page.
    expected = {}
    for n in range(7):
        still, video = (f"p{n}/IMG_{n}.HEIC", f"a{n}".encode()), (f"p{n}/IMG_{n}.MOV",
                                                                   f"c{n}".encode())
        lib.add_live(still, video, TAKEN + timedelta(minutes=n))
        expected |= {lib.path(still[0]): still[1], lib.path(video[0]): video[1]}
    report = lib_sync(mirror={"page_size": 2})  # every photo is cut by a page edge
    assert report.exit_code == 0, report
    assert mirrored_files(target) == expected
    assert report.listed == 14


def test_move_on_server_moves_locally_without_download(
    lib: Library, target: Path, lib_sync: Sync
) -> None:
    # PhotoPrism: the file is renamed; Immich (no server path): its taken time changes.
    key = lib.add("2024/a.jpg", b"content-a")
    assert lib_sync().exit_code == 0
    lib.move(key, "2025/renamed/a.jpg", LATER)
    lib.reset_counters()
    report = lib_sync()
    assert report.exit_code == 0 and report.moved == 1 and report.downloaded == 0
    assert lib.download_count() == 0
    assert mirrored_files(target) == {lib.path("2025/renamed/a.jpg", LATER): b"content-a"}


def test_edit_under_mirror_policy_does_not_keep_old_version(
    lib: Library, target: Path, lib_sync: Sync
) -> None:
    key = lib.add("a.jpg", b"version-1")
    assert lib_sync(mirror={"delete": "mirror"}).exit_code == 0
    lib.replace(key, b"version-2")
    assert lib_sync(mirror={"delete": "mirror"}).exit_code == 0
    assert (target / lib.path("a.jpg")).read_bytes() == b"version-2"
    assert not list((target / ".ppsync").rglob("a.jpg~*"))


def test_new_files_arrive_on_the_next_run(lib: Library, target: Path,
                                         lib_sync: Sync) -> None:
    lib.add("old.jpg", b"old")
    assert lib_sync().exit_code == 0
    lib.add_live(("new.jpg", b"new"), ("new.mov", b"new-live"))
    report = lib_sync()
    assert report.exit_code == 0 and report.downloaded == 2
    assert mirrored_files(target) == {lib.path("old.jpg"): b"old", lib.path("new.jpg"): b"new",
                                      lib.path("new.mov"): b"new-live"}


def _library_then_delete_one(lib: Library, sync: Sync, policy: str) -> RunReport:
    keys = [lib.add(f"f{n}.jpg", f"c{n}".encode()) for n in range(4)]
    assert sync(mirror={"delete": policy}).exit_code == 0
    lib.remove(keys[0])
    return sync(mirror={"delete": policy})


def test_delete_keep_leaves_the_file_and_stops_tracking(
    lib: Library, target: Path, lib_sync: Sync
) -> None:
    report = _library_then_delete_one(lib, lib_sync, "keep")
    assert report.exit_code == 0 and report.forgotten == 1 and report.walk_complete
    assert (target / lib.path("f0.jpg")).read_bytes() == b"c0"
    state = State.open(target / ".ppsync" / "state.db")
    assert state.count_active() == 3
    state.close()


def test_delete_trash_moves_the_file_under_ppsync_trash(
    lib: Library, target: Path, lib_sync: Sync
) -> None:
    report = _library_then_delete_one(lib, lib_sync, "trash")
    assert report.exit_code == 0 and report.trashed == 1
    assert not (target / lib.path("f0.jpg")).exists()
    assert (target / ".ppsync" / "trash" / lib.path("f0.jpg")).read_bytes() == b"c0"
    assert len(mirrored_files(target)) == 3


def test_delete_mirror_removes_the_file(lib: Library, target: Path,
                                        lib_sync: Sync) -> None:
    report = _library_then_delete_one(lib, lib_sync, "mirror")
    assert report.exit_code == 0 and report.deleted == 1
    assert not (target / lib.path("f0.jpg")).exists()
    assert not (target / ".ppsync" / "trash" / lib.path("f0.jpg")).exists()
    assert len(mirrored_files(target)) == 3


def test_a_photo_back_from_the_archive_comes_back_from_ppsync_trash(
    lib: Library, target: Path, lib_sync: Sync
) -> None:
    # Archived (include_archived off), the photo left the mirror: trash kept it aside. Back
    # from the archive, the kept copy (same SHA-1) goes back in place: nothing is downloaded,
    # and no second copy piles up in the trash when it leaves again.
    keys = [lib.add(f"f{n}.jpg", f"c{n}".encode() * 500) for n in range(3)]
    path = lib.path("f0.jpg")
    mirror = {"delete": "trash", "include_archived": False}
    assert lib_sync(mirror=mirror).exit_code == 0
    lib.archive(keys[0])
    assert lib_sync(mirror=mirror).trashed == 1
    assert (target / ".ppsync" / "trash" / path).read_bytes() == b"c0" * 500
    lib.unarchive(keys[0])
    lib.reset_counters()
    report = lib_sync(mirror=mirror)
    assert report.exit_code == 0 and report.downloaded == 0 and report.adopted == 1
    assert lib.download_count() == 0
    assert (target / path).read_bytes() == b"c0" * 500
    assert not list((target / ".ppsync" / "trash").rglob("f0.jpg*"))
    assert lib_sync(mirror=mirror).downloaded == 0


def test_existing_copy_is_adopted_without_download(
    lib: Library, target: Path, lib_sync: Sync
) -> None:
    lib.add("2024/a.jpg", b"already here")
    lib.add("2024/b.jpg", b"server version")
    a, b = target / lib.path("2024/a.jpg"), target / lib.path("2024/b.jpg")
    a.parent.mkdir(parents=True)
    a.write_bytes(b"already here")
    b.write_bytes(b"a different local file")
    lib.reset_counters()
    report = lib_sync()
    assert report.exit_code == 0 and report.adopted == 1 and report.downloaded == 1
    assert lib.download_count() == 1
    assert b.read_bytes() == b"server version"
    kept = list((target / ".ppsync" / "replaced").rglob("b.jpg~*"))
    assert [p.read_bytes() for p in kept] == [b"a different local file"]


def test_locally_deleted_file_is_downloaded_again(
    lib: Library, target: Path, lib_sync: Sync
) -> None:
    lib.add("a.jpg", b"precious")
    assert lib_sync().exit_code == 0
    (target / lib.path("a.jpg")).unlink()
    report = lib_sync()
    assert report.exit_code == 0 and report.downloaded == 1
    assert (target / lib.path("a.jpg")).read_bytes() == b"precious"


def test_swap_of_two_names_on_the_server(lib: Library, target: Path,
                                         lib_sync: Sync) -> None:
    # PhotoPrism: x/ and y/ swap their IMG.jpg; Immich: two IMG.jpg swap their taken months.
    x_at, y_at, elsewhere = TAKEN, LATER, datetime(2019, 1, 1, tzinfo=UTC)
    a = lib.add("x/IMG.jpg", b"content-x", x_at)
    b = lib.add("y/IMG.jpg", b"content-y", y_at)
    assert lib_sync().exit_code == 0
    lib.move(a, "tmp/IMG.jpg", elsewhere)
    lib.move(b, "x/IMG.jpg", x_at)
    lib.move(a, "y/IMG.jpg", y_at)
    lib.reset_counters()
    report = lib_sync()
    assert report.exit_code == 0, report
    assert lib.download_count() == 0
    assert mirrored_files(target) == {lib.path("x/IMG.jpg", x_at): b"content-y",
                                      lib.path("y/IMG.jpg", y_at): b"content-x"}


def test_every_mirrored_file_matches_the_server_hash(
    lib: Library, target: Path, lib_sync: Sync
) -> None:
    contents = {lib.path(f"2024/IMG_{n}.jpg"): os.urandom(1000 + n) for n in range(6)}
    for rel, content in contents.items():
        lib.add("2024/" + rel.rsplit("/", 1)[-1], content)
    lib.add_live(("2024/LIVE.HEIC", b"still" * 99), ("2024/LIVE.MOV", b"motion" * 99))
    assert lib_sync().exit_code == 0
    hashes = lib.hashes()
    for rel, content in mirrored_files(target).items():
        assert hashlib.sha1(content).hexdigest() == hashes[rel]
    assert len(mirrored_files(target)) == len(hashes) == 8


def test_a_quiet_change_pass_says_what_its_listed_count_is(
        lib: Library, lib_config: ConfigFactory) -> None:
    for n in range(3):
        lib.add(f"2024/IMG_{n}.jpg", b"photo %d" % n)
    settings = load_config(lib_config(), {})
    assert run_sync(settings).exit_code == 0
    quiet = run_sync(settings, PassOptions(changes_only=True))
    # Everything was updated within the 5-minute margin before the last pass began, so the
    # quiet pass lists it all again; its summary says why the count is what it is.
    assert quiet.exit_code == 0 and quiet.listed == 3 and quiet.downloaded == 0
    text = "\n".join(summary_lines(quiet))
    assert f"updated since {quiet.changes_since}" in text
    assert "5-minute safety margin" in text and "unchanged 3" in text
    state = State.open(settings.mirror.state_path)
    try:
        row = status_lines(state.last_runs(1), {"files": 3, "bytes": 0})[-1]
    finally:
        state.close()
    assert "change" in row and "5-min margin" in row


def test_owner_lookups_by_path_use_the_path_index(server: FakePhotoPrism, target: Path,
                                                  sync: Sync) -> None:
    """Looking up who holds a path must search the path index: with the status index SQLite
    reads every active row, once per page of a walk (quadratic in the library's size)."""
    library(server)
    assert sync().exit_code == 0
    state = State.open(target / ".ppsync" / "state.db")
    statements: list[str] = []
    state.db.conn.set_trace_callback(statements.append)
    try:
        owners = state.active_owners_of(["2024/05/IMG_4711.jpg", "nowhere.jpg"])
        assert list(owners) == ["2024/05/IMG_4711.jpg"]
        assert state.active_path_under("2024") is not None
        state.db.conn.set_trace_callback(None)
        assert len(statements) == 2
        for sql in statements:
            plan = " ".join(row[3] for row in state.db.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert "USING INDEX files_path" in plan, (sql, plan)
    finally:
        state.db.conn.set_trace_callback(None)
        state.close()
