"""Uploads from an inbox against the fake PhotoPrism over loopback HTTP: new files land once and
in the albums, duplicates and mirrored files are never sent nor put in an album, settling,
after = move/delete only after confirmation, rejections remembered, faults retried,
import-folder mode, the daemon."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ppsync.config import load_config
from ppsync.errors import UploadFailed
from ppsync.inbox.report import UploadReport
from ppsync.inbox.scan import HashingReader, InboxFile, plan_batches
from ppsync.inbox.uploader import run_upload
from ppsync.mirror.sync import run_sync
from ppsync.state import State
from tests.conftest import ConfigFactory, run_cli, toml_value
from tests.fake_photoprism import FakePhotoPrism
from tests.test_daemon import start_daemon, stop, wait_for


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    path = tmp_path / "inbox"
    path.mkdir()
    return path


def upload_config(make_config: ConfigFactory, inbox_dir: Path,
                  sections: dict[str, Any] | None = None, **upload: Any) -> Path:
    """The test config plus an [upload] section (settle_seconds 0 unless given)."""
    path = make_config(**(sections or {}))
    values = {"enabled": True, "inbox": str(inbox_dir), "settle_seconds": 0, **upload}
    lines = ["[upload]"] + [
        f"{key} = {json.dumps(v) if isinstance(v, list) else toml_value(v)}"
        for key, v in values.items()
    ]
    with path.open("a") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def upload(make_config: ConfigFactory, inbox_dir: Path, **values: Any) -> UploadReport:
    return run_upload(load_config(upload_config(make_config, inbox_dir, **values), {}))


def put(inbox: Path, rel: str, content: bytes) -> Path:
    path = inbox / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def sha1(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()


def posts(server: FakePhotoPrism) -> int:
    return len(server.requests_to("/upload/", "POST"))


def test_new_files_land_once_in_the_albums_and_a_second_pass_sends_nothing(
    server: FakePhotoPrism, make_config: ConfigFactory, inbox: Path
) -> None:
    trips = server.add_album("Trips")
    put(inbox, "IMG_1.jpg", b"jpeg one")
    put(inbox, "phone/2024/VID_2.MP4", b"video two" * 1000)
    put(inbox, "notes.txt", b"not a photo")  # not a wanted extension: never looked at
    put(inbox, ".hidden.jpg", b"dotfile")
    report = upload(make_config, inbox, albums=[trips, "From the inbox"])
    assert report.exit_code == 0, report
    assert (report.sent, report.confirmed, report.scanned) == (2, 2, 2)
    photos = {server.file_by_hash(sha1(c)).photo_uid  # type: ignore[union-attr]
              for c in (b"jpeg one", b"video two" * 1000)}
    assert set(server.album(trips).photo_uids) == photos
    created = [a for a in server.albums() if a.title == "From the inbox"]
    assert len(created) == 1 and set(created[0].photo_uids) == photos
    assert server.file_by_hash(sha1(b"dotfile")) is None
    assert (inbox / "IMG_1.jpg").exists()  # after = "keep"

    server.reset_counters()
    second = upload(make_config, inbox, albums=[trips, "From the inbox"])
    assert second.exit_code == 0 and second.sent == 0 and second.known == 2
    assert posts(server) == 0 and not server.requests_to("/files/")


def test_duplicates_of_library_content_are_never_sent_and_join_no_album(
    server: FakePhotoPrism, make_config: ConfigFactory, target: Path, inbox: Path
) -> None:
    server.add_photo([("2024/05/mirrored.jpg", b"mirrored content")])
    assert run_sync(load_config(make_config(), {})).exit_code == 0
    # A file ppsync downloaded, copied back into the inbox, must not echo.
    put(inbox, "copy-of-mirror.jpg", (target / "2024/05/mirrored.jpg").read_bytes())
    # Content the server has although the mirror does not know it (yet).
    only_server = server.add_photo([("2025/01/new-on-server.jpg", b"server content")])
    put(inbox, "same-as-server.jpg", b"server content")
    report = upload(make_config, inbox, albums=["Inbox"])
    assert report.exit_code == 0, report
    assert report.duplicates == 2 and report.sent == 0
    assert posts(server) == 0
    # The albums get only what an upload brought: a duplicate is left as it is (adding it
    # would fill the album with old photos; tests/test_inbox_duplicates_change_nothing.py).
    assert not [a for a in server.albums() if a.title == "Inbox"]
    assert only_server.uid not in {u for a in server.albums() for u in a.photo_uids}


def test_same_named_files_in_different_folders_both_land(
    server: FakePhotoPrism, make_config: ConfigFactory, inbox: Path
) -> None:
    put(inbox, "card1/DSC_0001.JPG", b"first camera")
    put(inbox, "card2/DSC_0001.JPG", b"second camera")
    put(inbox, "card2/DSC_0002.JPG", b"third")
    report = upload(make_config, inbox)
    assert report.exit_code == 0 and report.confirmed == 3, report
    for content in (b"first camera", b"second camera", b"third"):
        assert server.file_by_hash(sha1(content)) is not None
    assert len({r.path for r in server.requests_to("/upload/", "PUT")}) == 2  # two tokens


def test_a_photo_and_its_sidecar_and_live_video_go_together(
    server: FakePhotoPrism, make_config: ConfigFactory, inbox: Path
) -> None:
    put(inbox, "IMG_7.HEIC", b"heic")
    put(inbox, "IMG_7.MOV", b"mov")
    put(inbox, "IMG_7.xmp", b"<xmp/>")
    put(inbox, "lonely.xmp", b"<x/>")  # a sidecar without its photo is not sent
    report = upload(make_config, inbox)
    assert report.exit_code == 0 and report.confirmed == 3 and report.ignored == 1, report
    heic, mov = server.file_by_hash(sha1(b"heic")), server.file_by_hash(sha1(b"mov"))
    assert heic is not None and mov is not None and heic.photo_uid == mov.photo_uid


def test_a_file_is_sent_only_once_it_has_settled(
    server: FakePhotoPrism, make_config: ConfigFactory, inbox: Path
) -> None:
    # Each pass is timed from when the files last changed, with about 2 s to spare either
    # way, so a slow pass on a busy machine cannot land on the wrong side of a settle time.
    settle = 4.0
    fresh = put(inbox, "fresh.jpg", b"still being copied")
    old_mtime = put(inbox, "copied-with-p.jpg", b"cp -p keeps the mtime")
    os.utime(old_mtime, (time.time() - 86400, time.time() - 86400))  # the ctime stays fresh
    copied = old_mtime.stat().st_ctime
    report = upload(make_config, inbox, settle_seconds=settle)
    assert report.waiting == 2 and report.sent == 0 and posts(server) == 0
    _sleep_until(copied + settle / 2)
    with fresh.open("ab") as handle:  # still growing: settling starts over
        handle.write(b" more")
    grown = fresh.stat().st_ctime
    assert upload(make_config, inbox, settle_seconds=settle).sent == 0
    _sleep_until(copied + settle + 0.05)
    report = upload(make_config, inbox, settle_seconds=settle)
    assert report.sent == 1 and report.waiting == 1  # the grown file waits a little longer
    _sleep_until(grown + settle + 0.05)
    report = upload(make_config, inbox, settle_seconds=settle)
    assert report.sent == 1 and server.file_by_hash(sha1(b"still being copied more"))


def _sleep_until(when: float) -> None:
    """Sleep until the wall clock (the one file times and the settle check use) reads ``when``."""
    while (left := when - time.time()) > 0:
        time.sleep(left)


def test_move_acts_only_on_confirmed_files_and_rejections_are_remembered(
    server: FakePhotoPrism, make_config: ConfigFactory, inbox: Path
) -> None:
    put(inbox, "a/good.jpg", b"good")
    put(inbox, "done-before.jpg", b"x")
    (inbox / ".ppsync-done").mkdir()
    (inbox / ".ppsync-done" / "done-before.jpg").write_bytes(b"an earlier file")
    put(inbox, "a/readme.txt", b"the server does not import this")
    settings = {"extensions": ["jpg", "txt"], "after": "move"}
    first = upload(make_config, inbox, **settings)
    assert first.confirmed == 2 and first.moved == 2 and first.exit_code == 1
    assert (inbox / ".ppsync-done/a/good.jpg").read_bytes() == b"good"
    assert (inbox / ".ppsync-done/done-before-1.jpg").read_bytes() == b"x"  # never overwritten
    assert (inbox / ".ppsync-done/done-before.jpg").read_bytes() == b"an earlier file"
    assert (inbox / "a/readme.txt").exists()  # sent, not confirmed: stays
    assert [f.path for f in first.failures] == ["a/readme.txt"]
    for _ in range(2):
        last = upload(make_config, inbox, **settings)
    assert [f.path for f in last.rejected] == ["a/readme.txt"]
    server.reset_counters()
    quiet = upload(make_config, inbox, **settings)
    assert quiet.exit_code == 0 and not quiet.rejected and posts(server) == 0  # reported once
    (inbox / "a/readme.txt").write_bytes(b"changed: tried again")
    assert upload(make_config, inbox, **settings).sent == 1


def test_nothing_is_deleted_when_the_import_fails(
    server: FakePhotoPrism, make_config: ConfigFactory, inbox: Path
) -> None:
    put(inbox, "keep-me.jpg", b"precious")
    server.import_enabled = False  # the POST works, the PUT (import) is refused
    report = upload(make_config, inbox, after="delete")
    assert report.exit_code == 3 and "refuses uploads" in report.error
    assert (inbox / "keep-me.jpg").read_bytes() == b"precious"
    server.import_enabled = True
    report = upload(make_config, inbox, after="delete")
    assert report.exit_code == 0 and report.deleted == 1
    assert not (inbox / "keep-me.jpg").exists()
    assert server.file_by_hash(sha1(b"precious")) is not None


def test_read_only_server_gives_a_clear_message_and_leaves_the_inbox(
    server: FakePhotoPrism, make_config: ConfigFactory, inbox: Path
) -> None:
    put(inbox, "a.jpg", b"a")
    server.readonly = True
    result = run_cli(upload_config(make_config, inbox, after="delete"), "upload")
    assert result.returncode == 3, result.stderr
    assert "refuses uploads" in result.stderr and "read-only" in result.stderr
    assert (inbox / "a.jpg").exists() and server.file_by_hash(sha1(b"a")) is None
    status = run_cli(upload_config(make_config, inbox), "status")
    assert "upload" in status.stdout


@pytest.mark.parametrize("upload_values, key", [
    ({"inbox": "{target}/inbox"}, "upload.inbox"),
    ({"inbox": "{tmp}"}, "upload.inbox"),  # the target inside the inbox
    ({"inbox": ""}, "upload.inbox"),
    ({"mode": "import-folder"}, "upload.import_path"),
    ({"done_dir": "{target}/done"}, "upload.done_dir"),
    ({"after": "shred"}, "upload.after"),
])
def test_bad_upload_config_is_exit_2_with_the_key(
    make_config: ConfigFactory, inbox: Path, target: Path, tmp_path: Path,
    upload_values: dict[str, str], key: str
) -> None:
    values = {k: v.format(target=target, tmp=tmp_path) for k, v in upload_values.items()}
    result = run_cli(upload_config(make_config, inbox, **values), "upload")
    assert result.returncode == 2 and key in result.stderr, result.stderr


def test_upload_needs_it_enabled(make_config: ConfigFactory, inbox: Path) -> None:
    result = run_cli(upload_config(make_config, inbox, enabled=False), "upload")
    assert result.returncode == 2 and "upload.enabled" in result.stderr


def test_an_interrupted_upload_is_sent_again(
    server: FakePhotoPrism, make_config: ConfigFactory, inbox: Path
) -> None:
    put(inbox, "a.jpg", b"a" * 100_000)
    server.faults.reset_connections = 1
    server.faults.reset_path_contains = "/upload/"
    server.faults.fail_next_requests = 1
    server.faults.fail_status = 503
    server.faults.fail_path_contains = "/upload/"
    report = upload(make_config, inbox)
    assert report.exit_code == 0 and report.confirmed == 1, report
    assert posts(server) == 3  # reset, 503, then through
    assert all(r.body_size > 100_000 for r in server.requests_to("/upload/", "POST"))


def test_a_file_over_the_server_limit_is_rejected_once(
    server: FakePhotoPrism, make_config: ConfigFactory, inbox: Path
) -> None:
    server.upload_limit = 0
    put(inbox, "huge.mp4", os.urandom(1 << 20) + b"x" * 1024)
    put(inbox, "small.jpg", b"small")
    report = upload(make_config, inbox)
    assert report.confirmed == 1 and [f.path for f in report.rejected] == ["huge.mp4"]
    assert "413" in report.rejected[0].reason and report.exit_code == 1
    server.reset_counters()
    assert upload(make_config, inbox).exit_code == 0 and posts(server) == 0


def test_import_folder_mode_copies_imports_and_retries_when_busy(
    server: FakePhotoPrism, make_config: ConfigFactory, inbox: Path, tmp_path: Path
) -> None:
    import_dir = tmp_path / "import"
    import_dir.mkdir()
    server.import_dir = str(import_dir)
    server.import_busy = True
    put(inbox, "x/IMG_1.jpg", b"one")
    put(inbox, "y/IMG_1.jpg", b"two")
    values = {"mode": "import-folder", "import_path": str(import_dir), "after": "delete",
              "albums": ["Imported"]}
    busy = upload(make_config, inbox, **values)
    assert busy.confirmed == 0 and busy.sent == 2 and len(busy.failures) == 2
    copies = sorted(p.relative_to(import_dir).as_posix() for p in import_dir.rglob("*.jpg"))
    assert copies == ["ppsync-upload/x/IMG_1.jpg", "ppsync-upload/y/IMG_1.jpg"]
    assert (inbox / "x/IMG_1.jpg").exists()
    assert server.requests_to("/import/", "POST")[0].path == "/api/v1/import/"

    server.import_busy = False
    done = upload(make_config, inbox, **values)
    assert done.exit_code == 0 and done.confirmed == 2 and done.sent == 0  # copies reused
    assert not list(import_dir.rglob("*.jpg")) and not list(inbox.rglob("*.jpg"))
    album = next(a for a in server.albums() if a.title == "Imported")
    assert len(album.photo_uids) == 2


def test_the_daemon_runs_an_upload_pass_after_each_sync(
    server: FakePhotoPrism, make_config: ConfigFactory, inbox: Path, target: Path
) -> None:
    server.add_photo([("a.jpg", b"on the server")])
    config = upload_config(make_config, inbox, {"schedule": {"interval": "1s"}})
    put(inbox, "new.jpg", b"from the inbox")
    proc = start_daemon(config)
    try:
        wait_for(lambda: (target / "a.jpg").exists())
        wait_for(lambda: server.file_by_hash(sha1(b"from the inbox")) is not None)
        # The next sync mirrors the upload under PhotoPrism's name; it is not sent again.
        wait_for(lambda: any(p.read_bytes() == b"from the inbox"
                             for p in target.rglob("*.jpg")))
        server.reset_counters()
        wait_for(lambda: len(server.requests_to("/photos", "GET")) >= 2)
    finally:
        code, err = stop(proc)
    assert code == 0, err
    assert posts(server) == 0
    assert any(json.loads(line).get("event") == "upload finished" for line in err.splitlines()
               if line.startswith("{"))


def test_a_large_file_is_streamed_not_read_into_memory(
    server: FakePhotoPrism, make_config: ConfigFactory, inbox: Path
) -> None:
    size = 96 << 20
    with (inbox / "big.mp4").open("wb") as handle:
        handle.truncate(size)  # sparse: cheap to write, all of it still hashed and sent
    config = upload_config(make_config, inbox)
    # VmHWM, not ru_maxrss: ru_maxrss survives exec and counts the forking pytest process,
    # which grows with the number of tests run before this one.
    script = ("import sys; from ppsync.cli import main; code = main(sys.argv[1:]); "
              "print([int(l.split()[1]) for l in open('/proc/self/status') "
              "if l.startswith('VmHWM:')][0], file=sys.stderr); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", script, "--config", str(config), "upload"],
                            capture_output=True, text=True, timeout=120,
                            env={"PATH": os.environ.get("PATH", "")})
    assert result.returncode == 0, result.stderr
    peak_kib = int(result.stderr.strip().splitlines()[-1])
    assert peak_kib < 90 * 1024  # the interpreter and libraries, not the 96 MiB file
    assert server.requests_to("/upload/", "POST")[0].body_size > size
    assert server.file_by_hash(hashlib.sha1(bytes(size)).hexdigest()) is not None


def test_hashing_reader_sends_exactly_the_checked_size(tmp_path: Path) -> None:
    path = tmp_path / "f.jpg"
    path.write_bytes(b"0123456789")
    with path.open("rb") as handle:
        reader = HashingReader(handle, 8)  # the file grew after it was checked
        assert reader.seek(0, io.SEEK_END) == 8 and reader.tell() == 0
        assert reader.read(5) + reader.read(5) + reader.read(5) == b"01234567"
        assert reader.complete and reader.hexdigest() == sha1(b"01234567")
        reader.seek(0)  # a retry starts over
        assert reader.read() == b"01234567" and reader.hexdigest() == sha1(b"01234567")
    with path.open("rb") as handle:
        reader = HashingReader(handle, 20)  # the file shrank
        reader.read(10)
        with pytest.raises(UploadFailed):
            reader.read(10)


def test_batches_never_hold_two_equal_names_and_respect_the_size_cap() -> None:
    def f(rel: str, size: int = 10) -> InboxFile:
        return InboxFile(Path("/inbox") / rel, rel, size, 0, 0.0)

    groups = [[f("a/IMG_1.jpg"), f("a/IMG_1.mov")], [f("b/IMG_1.jpg")], [f("c/IMG_2.jpg")],
              [f("d/big.mp4", 100)]]
    batches = plan_batches(groups, max_bytes=50)
    for batch in batches:
        names = [item.name for item in batch]
        assert len(names) == len(set(names))
        assert sum(i.size for i in batch) <= 50 or len(batch) == 1
    assert [[i.rel for i in b] for b in batches] == [
        ["a/IMG_1.jpg", "a/IMG_1.mov", "c/IMG_2.jpg"], ["b/IMG_1.jpg"], ["d/big.mp4"]]


def test_state_schema_2_keeps_existing_mirror_records(
    server: FakePhotoPrism, make_config: ConfigFactory, target: Path
) -> None:
    server.add_photo([("a.jpg", b"a")])
    assert run_sync(load_config(make_config(), {})).exit_code == 0
    state = State.open(target / ".ppsync" / "state.db")
    try:
        assert state.knows_sha1(sha1(b"a")) and state.upload_records() == {}
        assert int(state.get_meta("schema_version") or 0) >= 2  # 3 since issue 5
    finally:
        state.close()


def test_the_inbox_never_sends_what_ppsync_writes_whatever_the_settings(
    server: FakePhotoPrism, make_config: ConfigFactory, inbox: Path
) -> None:
    # An inbox holding a copy of mirror folders, with every extension allowed (issue 10).
    put(inbox, "2024/05/IMG_1.jpg", b"a new photo")
    put(inbox, "2024/05/IMG_1.jpg.ppsync.xmp", b"<x:xmpmeta/>")
    put(inbox, "2024/05/IMG_1.jpg.ppsync.json", b'{"format": "ppsync-photo/1"}')
    put(inbox, "2024/05/IMG_1.ppsync.XMP", b"<x:xmpmeta/>")  # case does not matter
    put(inbox, "albums/Family/.album.json", b'{"format": "ppsync-album/1"}')
    put(inbox, "albums/Family/IMG_1.jpg.ppsync.json", b"{}")
    put(inbox, "mirror-copy/.ppsync/replaced/2024/IMG_2.jpg", b"kept aside")
    put(inbox, "mirror-copy/.ppsync-trash/IMG_3.jpg", b"trashed")
    put(inbox, "2024/05/.IMG_4.jpg.ppsync-tmp", b"half written")
    report = upload(make_config, inbox, extensions=["jpg", "xmp", "json"])
    assert report.exit_code == 0 and report.confirmed == 1, report
    assert server.uploaded_names == ["IMG_1.jpg"]
