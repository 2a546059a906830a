"""Reports that say what happened (issue 21, item 5): every count and label a person reads is
what the run did (or, for a dry run, what the real run then does).

* a dry-run restore counts the bytes it would send and the photos it would archive, as the
  real run that follows does;
* the upload summary says how many uploads went into the configured albums, and a file with
  the same content as another file of the same pass is said to be that, not "settling";
* ``listed`` counts the XMP sidecar originals ``downloaded`` counts;
* an Immich key that cannot sync serves no sidecars or albums either (``check``'s "serves");
* a stop during a download is not an outage, and is not logged as one;
* an interrupted restore and an interrupted sync report what they did until then;
* a refusal for lack of permission is labelled so, not "cannot reach or authenticate";
* a pass that fails at once on a server already known to be down does not say it waited.

Against the loopback fakes of both kinds where the behaviour applies, with real state and files.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ppsync.config import load_config
from ppsync.inbox.report import summary_lines as upload_summary
from ppsync.inbox.uploader import run_upload
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.report import summary_lines
from ppsync.restore.run import run_restore
from ppsync.restore.run import summary_lines as restore_summary
from ppsync.servers import open_server
from ppsync.state import State
from tests.conftest import ConfigFactory, mirrored_files, run_cli, write_config
from tests.fake_immich import FakeImmich, ImmichUser
from tests.fake_photoprism import FakePhotoPrism
from tests.kinds import KINDS, TAKEN, Library, library
from tests.test_client_credentials import client_config
from tests.test_identity import config, fill, sync

A, B, C, D = "2024/A.jpg", "2024/B.jpg", "2023/C.jpg", "2023/D.jpg"
PHOTOS = {A: b"a" * 300, B: b"b" * 400, C: b"c" * 500, D: b"d" * 600}
EXPORT: dict[str, dict[str, Any]] = {"metadata": {"sidecars": "json"},
                                     "albums": {"mode": "symlink"}}
DIRECTIONS = [(old, new) for old in KINDS for new in KINDS]


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    """Poll ``condition`` until it holds (a busy machine may be slow; never a guessed sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


# --- 1. a dry-run restore counts what the real run does -----------------------------------------


COUNTS = ("uploaded", "bytes_sent", "present", "untrashed", "sidecars_sent", "live_linked",
          "stacked", "archived", "albums", "albums_created", "albums_changed", "members_added")


@pytest.mark.parametrize(("old_kind", "new_kind"), DIRECTIONS)
def test_a_dry_run_restore_counts_the_bytes_and_archives_the_real_run_then_does(
        old_kind: str, new_kind: str, tmp_path: Path, target: Path) -> None:
    with library(old_kind) as old, library(new_kind) as new:
        keys = fill(old, PHOTOS)
        old.album("Trips", [keys[A], keys[B], keys[C]])
        old.archive(keys[A])
        old.archive(keys[D])
        assert sync(old, tmp_path, target, **EXPORT).exit_code == 0
        path = config(old, tmp_path, target, **EXPORT, **{"servers.to": new.server_section()})

        dry = run_restore(load_config(path, {}), "to", dry_run=True)
        assert dry.exit_code == 0, dry
        assert new.hashes() == {}  # a dry run changes nothing
        real = run_restore(load_config(path, {}), "to")
        assert real.exit_code == 0, real

        assert real.uploaded == 4 and real.bytes_sent == sum(len(b) for b in PHOTOS.values())
        assert real.archived == 2
        assert {c: getattr(dry, c) for c in COUNTS} == {c: getattr(real, c) for c in COUNTS}
        text = "\n".join(restore_summary(dry))
        assert f"would be uploaded 4 ({real.bytes_sent} bytes)" in text
        assert "would be archived 2" in text


# --- 2. the upload summary: albums, and a second copy in the same pass --------------------------


def upload_config(lib: Library, tmp_path: Path, target: Path, inbox: Path) -> Path:
    path = config(lib, tmp_path, target,
                  upload={"enabled": True, "inbox": str(inbox), "settle_seconds": 0})
    path.write_text(path.read_text().replace("[upload]\n", '[upload]\nalbums = ["Phone"]\n'))
    return path


def album_members(lib: Library, title: str) -> int:
    """How many photos (PhotoPrism) or assets (Immich) the server's album holds."""
    fake: Any = lib.fake  # type: ignore[attr-defined]
    if isinstance(fake, FakeImmich):
        with fake.lib.lock:
            return sum(len(a.asset_ids) for a in fake.lib.albums.values() if a.name == title)
    return sum(len(a.photo_uids) for a in fake.albums() if a.title == title)


def test_the_upload_summary_counts_album_adds_and_same_content_in_one_pass(
        lib: Library, tmp_path: Path, target: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, body in PHOTOS.items():
        (inbox / Path(name).name).write_bytes(body)
    (inbox / "copy-of-A.jpg").write_bytes(PHOTOS[A])  # the same content as A.jpg
    settings = load_config(upload_config(lib, tmp_path, target, inbox), {})

    first = run_upload(settings)
    assert first.exit_code == 0, first
    assert first.confirmed == 4 and first.added_to_albums == 4
    assert first.same_as_sent == 1 and first.waiting == 0
    text = "\n".join(upload_summary(first))
    assert "added to albums 4" in text
    assert "waiting to settle 0, same content as a file sent in this pass 1" in text

    assert album_members(lib, "Phone") == 4  # the figure is what the server holds

    second = run_upload(settings)  # the copy is now a duplicate of what the server has
    assert second.exit_code == 0, second
    assert second.duplicates == 1 and second.same_as_sent == 0
    assert second.added_to_albums == 0 and second.confirmed == 0


# --- 3. listed and downloaded count the same files ----------------------------------------------


def test_listed_counts_the_xmp_sidecar_originals_downloaded_counts(
        server: FakePhotoPrism, make_config: ConfigFactory) -> None:
    raw = server.add_photo([("2024/06/DSC_1.NEF", b"raw" * 300)], type="raw")
    server.add_file(raw.uid, "2024/06/DSC_1.xmp", b"<x:xmpmeta>darktable</x:xmpmeta>",
                    sidecar=True)
    server.add_photo([("2024/05/IMG_1.jpg", b"jpeg" * 200)])
    settings = load_config(make_config(metadata={"sidecars": "json"}), {})

    plan = run_sync(settings, PassOptions(command="plan", dry_run=True))
    first = run_sync(settings)
    assert first.exit_code == 0, first
    assert first.downloaded == 3 and first.listed == 3
    assert plan.listed == 3 and plan.downloaded == 3
    assert "listed 3 originals; downloaded 3" in "\n".join(summary_lines(first))


# --- 4. check: "serves" only what the key can do ------------------------------------------------


def test_an_immich_key_that_cannot_sync_serves_no_sidecars_or_albums(
        tmp_path: Path, target: Path) -> None:
    with FakeImmich(generation="v2.5") as immich:
        key = immich.add_key(("asset.read", "album.read", "user.read"))  # no asset.download
        path = write_config(tmp_path / "ppsync.toml", {
            "server": {"kind": "immich", "url": immich.url, "api_key": key, "retries": 0},
            "mirror": {"target": str(target)}, **EXPORT})
        settings = load_config(path, {})
        server = open_server(settings.server)
        try:
            server.open()
            access = server.access(settings)
        finally:
            server.close()
        assert "sync" in access.problems and "asset.download" in access.problems["sync"]
        assert access.served == ()  # sidecars and albums are written by the sync
        assert "sync" in access.problems["sidecars"] and "sync" in access.problems["albums"]


# --- 5. a stop is not an outage ---------------------------------------------------------------


def partial_bytes(target: Path) -> int:
    partial = target / ".ppsync" / "partial"
    return sum(p.stat().st_size for p in partial.glob("*.part")) if partial.is_dir() else 0


def test_sigterm_during_a_download_is_a_stop_not_an_outage(
        lib: Library, target: Path, lib_config: ConfigFactory) -> None:
    lib.add("big/video.mp4", os.urandom(1024 * 1024))
    lib.set_download_rate(5 * 1024)
    path = lib_config(server={"timeout": 60})
    proc = subprocess.Popen([sys.executable, "-m", "ppsync", "--config", str(path), "sync"],
                            env={"PATH": os.environ.get("PATH", "")},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: partial_bytes(target) > 4096)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert not lib.is_down()
    assert "not answering" not in err and "waiting for it to come back" not in err
    assert "Bad file descriptor" not in err + out
    assert "cannot reach" not in err + out


# --- 6. an interrupted run reports what it did until then --------------------------------------


def originals_held(lib: Library) -> int:
    """How many originals the server holds (by key: equal names may land on one path)."""
    fake: Any = lib.fake  # type: ignore[attr-defined]
    if isinstance(fake, FakeImmich):
        with fake.lib.lock:
            return len(fake.lib.assets)
    return len(fake.files("/", include_archived=True))


PHOTOS_ON_CARDS = 40  # each its own batch: the restore is long enough to be stopped midway


def slow_confirmations(lib: Library) -> None:
    """Immich answers slowly (one POST per file makes its batches quick); PhotoPrism's 40
    batches of an upload, an import and a look-up each are slow enough as they are."""
    fake: Any = lib.fake  # type: ignore[attr-defined]
    if isinstance(fake, FakeImmich):
        fake.faults.answer_delay = 0.1


def test_an_interrupted_restore_reports_the_uploads_it_made(
        server: FakePhotoPrism, tmp_path: Path, target: Path) -> None:
    # One base name in many folders: each photo goes in an upload batch of its own, so a stop
    # falls between batches, after some were sent and confirmed.
    for i in range(PHOTOS_ON_CARDS):
        server.add_photo([(f"card{i:02}/DSC_0001.JPG", f"camera {i}".encode() * 50)])
    for kind in KINDS:
        with library(kind) as into:
            path = write_config(tmp_path / f"restore-{kind}.toml", {
                "server": {"url": server.url, "username": "admin", "password": "insecure-pw",
                           "retries": 0},
                "mirror": {"target": str(target)},
                "servers.to": {**into.server_section(), "retries": 0}})
            settings = load_config(path, {})
            if not mirrored_files(target):
                assert run_sync(settings).exit_code == 0
            slow_confirmations(into)  # each batch's look-up by SHA-1 takes a while
            stop = threading.Event()

            def stop_after_three(into: Library = into, stop: threading.Event = stop) -> None:
                wait_for(lambda: originals_held(into) >= 3)
                stop.set()

            stopper = threading.Thread(target=stop_after_three, daemon=True)
            stopper.start()
            report = run_restore(settings, "to", stop=stop)
            stopper.join(timeout=60)
            held = originals_held(into)
            assert report.exit_code == 130, report
            assert 3 <= report.uploaded == held < PHOTOS_ON_CARDS, (kind, report.uploaded, held)
            assert f"uploaded {held} (" in "\n".join(restore_summary(report))
            state = State.open(settings.mirror.state_path)
            try:
                stored = state.last_runs(1)[0]
            finally:
                state.close()
            assert stored["command"] == "restore" and stored["downloaded"] == held


def test_an_interrupted_sync_records_what_it_listed(
        lib: Library, tmp_path: Path, target: Path) -> None:
    lib.seed(120, size=64)  # three pages of 50
    lib.set_listing_delay(0.3)
    settings = load_config(config(lib, tmp_path, target), {})
    stop = threading.Event()
    requests = lib.listing_requests()

    def stop_on_the_second_page() -> None:
        wait_for(lambda: lib.listing_requests() >= requests + 2)
        stop.set()

    stopper = threading.Thread(target=stop_on_the_second_page, daemon=True)
    stopper.start()
    report = run_sync(settings, PassOptions(stop=stop))
    stopper.join(timeout=60)
    assert report.exit_code == 130, report
    assert report.listed >= 50, report.listed
    state = State.open(settings.mirror.state_path)
    try:
        stored = state.last_runs(1)[0]
    finally:
        state.close()
    assert stored["listed"] == report.listed


# --- 7. a refusal for lack of permission says so ------------------------------------------------


REFUSED = "exit 3 (refused by the server: the credentials lack a permission or scope)"


def test_a_photoprism_scope_refused_is_labelled_a_refusal(
        server: FakePhotoPrism, make_config: ConfigFactory) -> None:
    server.add_photo([("p/1.jpg", b"one")])
    path = client_config(make_config, server.add_client("photos files"),
                         albums={"mode": "symlink"})
    result = run_cli(path, "sync")
    out = result.stdout + result.stderr
    assert result.returncode == 3, out
    assert REFUSED in out and "cannot reach or authenticate" not in out


def test_an_immich_key_refused_is_labelled_a_refusal(tmp_path: Path, target: Path) -> None:
    with FakeImmich(generation="v2.5") as immich:
        ImmichUser(immich).upload("P.jpg", b"p" * 100, taken=TAKEN)
        key = immich.add_key(("asset.read", "user.read"))  # no asset.download
        path = write_config(tmp_path / "ppsync.toml", {
            "server": {"kind": "immich", "url": immich.url, "api_key": key, "retries": 0},
            "mirror": {"target": str(target)}})
        result = run_cli(path, "sync")
        out = result.stdout + result.stderr
        assert result.returncode == 3, out
        assert REFUSED in out and "cannot reach or authenticate" not in out


# --- 8. a pass that did not wait does not say it waited ----------------------------------------


def test_a_pass_that_fails_at_once_does_not_say_it_waited(
        lib: Library, tmp_path: Path, target: Path) -> None:
    lib.add("2024/P.jpg", b"p" * 100)
    settings = load_config(config(lib, tmp_path, target), {})  # outage_wait 1 s
    server = open_server(settings.server)
    try:
        server.open()
        assert run_sync(settings, PassOptions(server=server)).exit_code == 0
        lib.go_down(120)
        waited = run_sync(settings, PassOptions(server=server))
        assert waited.exit_code == 3, waited
        assert "waited 1 s for it to come back" in waited.error, waited.error
        at_once = run_sync(settings, PassOptions(server=server))
        assert at_once.exit_code == 3, at_once
        assert at_once.duration < 1.0, at_once.duration
        assert "waited" not in at_once.error, at_once.error
        assert "has not answered for" in at_once.error and "did not wait" in at_once.error
        assert json.dumps(at_once.error)  # a plain line
    finally:
        server.close()
