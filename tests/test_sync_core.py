"""The core mirror against a fake PhotoPrism over loopback HTTP: byte-exact, incremental,
moves, edits, new files, deletions under each policy."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from ppsync.config import load_config
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.models import RunReport
from ppsync.report import status_lines, summary_lines
from ppsync.state import State
from tests.conftest import ConfigFactory, mirrored_files
from tests.fake_photoprism import FakePhotoPrism

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
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    for n in range(7):
        server.add_photo([(f"p{n}/a.jpg", f"a{n}".encode()), (f"p{n}/b.jpg", f"b{n}".encode()),
                          (f"p{n}/c.mov", f"c{n}".encode())])
    report = sync(mirror={"page_size": 2})  # every photo is cut by a page edge
    assert report.exit_code == 0, report
    assert mirrored_files(target) == originals(server)
    assert report.listed == 21


def test_move_on_server_moves_locally_without_download(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    photo = server.add_photo([("2024/a.jpg", b"content-a")])
    assert sync().exit_code == 0
    server.rename_file(photo.files[0].uid, "2025/renamed/a.jpg")
    server.reset_counters()
    report = sync()
    assert report.exit_code == 0 and report.moved == 1 and report.downloaded == 0
    assert server.download_count == 0
    assert mirrored_files(target) == {"2025/renamed/a.jpg": b"content-a"}


def test_edit_downloads_new_version_and_keeps_old_aside(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    photo = server.add_photo([("a.jpg", b"version-1")])
    assert sync().exit_code == 0
    server.edit_file(photo.files[0].uid, b"version-2 is longer")
    report = sync()
    assert report.exit_code == 0 and report.downloaded == 1 and report.kept_aside == 1
    assert (target / "a.jpg").read_bytes() == b"version-2 is longer"
    kept = list((target / ".ppsync" / "replaced").rglob("a.jpg~*"))
    assert [p.read_bytes() for p in kept] == [b"version-1"]


def test_edit_under_mirror_policy_does_not_keep_old_version(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    photo = server.add_photo([("a.jpg", b"version-1")])
    assert sync(mirror={"delete": "mirror"}).exit_code == 0
    server.edit_file(photo.files[0].uid, b"version-2")
    assert sync(mirror={"delete": "mirror"}).exit_code == 0
    assert (target / "a.jpg").read_bytes() == b"version-2"
    assert not list((target / ".ppsync").rglob("a.jpg~*"))


def test_new_files_arrive_on_the_next_run(server: FakePhotoPrism, target: Path,
                                         sync: Sync) -> None:
    server.add_photo([("old.jpg", b"old")])
    assert sync().exit_code == 0
    photo = server.add_photo([("new.jpg", b"new")])
    server.add_file(photo.uid, "new.mov", b"new-live")
    report = sync()
    assert report.exit_code == 0 and report.downloaded == 2
    assert mirrored_files(target) == {"old.jpg": b"old", "new.jpg": b"new",
                                      "new.mov": b"new-live"}


def _library_then_delete_one(server: FakePhotoPrism, sync: Sync, policy: str) -> RunReport:
    photos = [server.add_photo([(f"f{n}.jpg", f"c{n}".encode())]) for n in range(4)]
    assert sync(mirror={"delete": policy}).exit_code == 0
    server.delete_photo(photos[0].uid)
    return sync(mirror={"delete": policy})


def test_delete_keep_leaves_the_file_and_stops_tracking(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    report = _library_then_delete_one(server, sync, "keep")
    assert report.exit_code == 0 and report.forgotten == 1
    assert (target / "f0.jpg").read_bytes() == b"c0"
    state = State.open(target / ".ppsync" / "state.db")
    assert state.count_active() == 3
    state.close()


def test_delete_trash_moves_the_file_under_ppsync_trash(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    report = _library_then_delete_one(server, sync, "trash")
    assert report.exit_code == 0 and report.trashed == 1
    assert not (target / "f0.jpg").exists()
    assert (target / ".ppsync" / "trash" / "f0.jpg").read_bytes() == b"c0"


def test_delete_mirror_removes_the_file(server: FakePhotoPrism, target: Path,
                                        sync: Sync) -> None:
    report = _library_then_delete_one(server, sync, "mirror")
    assert report.exit_code == 0 and report.deleted == 1
    assert not (target / "f0.jpg").exists()
    assert not (target / ".ppsync" / "trash" / "f0.jpg").exists()
    assert len(mirrored_files(target)) == 3


def test_existing_copy_is_adopted_without_download(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    server.add_photo([("2024/a.jpg", b"already here")])
    server.add_photo([("2024/b.jpg", b"server version")])
    (target / "2024").mkdir()
    (target / "2024" / "a.jpg").write_bytes(b"already here")
    (target / "2024" / "b.jpg").write_bytes(b"a different local file")
    server.reset_counters()
    report = sync()
    assert report.exit_code == 0 and report.adopted == 1 and report.downloaded == 1
    assert server.download_count == 1
    assert (target / "2024" / "b.jpg").read_bytes() == b"server version"
    kept = list((target / ".ppsync" / "replaced").rglob("b.jpg~*"))
    assert [p.read_bytes() for p in kept] == [b"a different local file"]


def test_locally_deleted_file_is_downloaded_again(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    server.add_photo([("a.jpg", b"precious")])
    assert sync().exit_code == 0
    (target / "a.jpg").unlink()
    report = sync()
    assert report.exit_code == 0 and report.downloaded == 1
    assert (target / "a.jpg").read_bytes() == b"precious"


def test_swap_of_two_names_on_the_server(server: FakePhotoPrism, target: Path,
                                         sync: Sync) -> None:
    a = server.add_photo([("x.jpg", b"content-x")])
    b = server.add_photo([("y.jpg", b"content-y")])
    assert sync().exit_code == 0
    server.rename_file(a.files[0].uid, "tmp.jpg")
    server.rename_file(b.files[0].uid, "x.jpg")
    server.rename_file(a.files[0].uid, "y.jpg")
    server.reset_counters()
    report = sync()
    assert report.exit_code == 0, report
    assert server.download_count == 0
    assert mirrored_files(target) == {"x.jpg": b"content-y", "y.jpg": b"content-x"}


def test_archived_photos_follow_include_archived(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    server.add_photo([("live.jpg", b"l")])
    archived = server.add_photo([("archived.jpg", b"a")])
    server.archive_photo(archived.uid)
    assert sync().exit_code == 0
    assert set(mirrored_files(target)) == {"live.jpg"}
    assert sync(mirror={"include_archived": True}).exit_code == 0
    assert set(mirrored_files(target)) == {"live.jpg", "archived.jpg"}


def test_every_mirrored_file_matches_the_server_hash(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    library(server)
    assert sync().exit_code == 0
    hashes = {f.name: f.sha1 for f in server.files(root="/") if not f.sidecar}
    for rel, content in mirrored_files(target).items():
        assert hashlib.sha1(content).hexdigest() == hashes[rel]


def test_a_quiet_change_pass_says_what_its_listed_count_is(
        server: FakePhotoPrism, make_config: ConfigFactory) -> None:
    for n in range(3):
        server.add_photo([(f"2024/IMG_{n}.jpg", b"photo %d" % n)])
    settings = load_config(make_config(), {})
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
