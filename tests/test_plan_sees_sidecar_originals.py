"""``plan`` tells the truth about sidecar originals (issue 18, item 6): with sidecars on, it
reads what ``sync`` reads (the details of the photos that changed) and shows what sync would
do with their XMP/AAE files, which search never lists, writing nothing; on a no-op it asks the
server nothing sync would not. Each plan is held to the sync that follows it: the same counts."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ppsync.config import Settings, load_config
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.models import Action, RunReport
from tests.conftest import ConfigFactory, run_cli
from tests.fake_photoprism import FakePhotoPrism
from tests.kinds import Library

SIDECARS = {"metadata": {"sidecars": "json"}}
DARKTABLE = b"<x:xmpmeta>darktable</x:xmpmeta>"


def library(server: FakePhotoPrism) -> tuple[str, str, str]:
    """A RAW with its darktable XMP, and a JPEG with none; (raw photo, its XMP, JPEG photo)."""
    raw = server.add_photo([("2024/06/DSC_1.NEF", b"raw" * 300)], type="raw")
    xmp = server.add_file(raw.uid, "2024/06/DSC_1.xmp", DARKTABLE, sidecar=True)
    jpeg = server.add_photo([("2024/05/IMG_1.jpg", b"jpeg" * 200)])
    return raw.uid, xmp.uid, jpeg.uid


def plan(settings: Settings) -> tuple[RunReport, list[str]]:
    """A full-walk ``plan`` in this process: its report and the actions it shows."""
    shown: list[str] = []

    def show(action: Action) -> None:
        shown.append(" ".join(action.describe().split()))

    report = run_sync(settings, PassOptions(command="plan", dry_run=True, on_action=show))
    return report, sorted(shown)


def counts(report: RunReport) -> dict[str, Any]:
    """What a plan promises and a sync does, side by side."""
    return {"exit": report.exit_code, "listed": report.listed,
            "downloaded": report.downloaded, "bytes": report.bytes_downloaded,
            "moved": report.moved, "unchanged": report.unchanged, "trashed": report.trashed,
            "deleted": report.deleted, "forgotten": report.forgotten,
            "kept_aside": report.kept_aside, "failed": report.failed,
            "safety_stop": report.safety_stop}


def footprint(target: Path) -> tuple[dict[str, tuple[bytes, int]], list[str]]:
    """Every file of the mirror (bytes and mtime) but the state and the lock, and every row of
    the state but the run history (a plan is recorded there like any run, and says so)."""
    files = {p.relative_to(target).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
             for p in sorted(target.rglob("*")) if p.is_file()
             and not p.name.startswith("state.db") and p.name != "lock"}
    conn = sqlite3.connect(f"file:{target / '.ppsync/state.db'}?mode=ro", uri=True)
    try:
        rows = sorted(line for line in conn.iterdump()  # in any order: opening the state
                      if not line.startswith(('INSERT INTO "runs"',  # rewrites its version
                                              'INSERT INTO "sqlite_sequence"')))
    finally:
        conn.close()
    return files, rows


def detail_requests(server: FakePhotoPrism) -> list[str]:
    return [r.path for r in server.requests_to("/api/v1/photos/", "GET")]


def test_plan_after_a_sync_has_nothing_to_do_and_reads_no_photo(
        server: FakePhotoPrism, target: Path, make_config: ConfigFactory) -> None:
    library(server)
    config = make_config(**SIDECARS)
    assert run_cli(config, "sync").returncode == 0
    assert (target / "2024/06/DSC_1.xmp").read_bytes() == DARKTABLE
    before = footprint(target)
    server.reset_counters()
    result = run_cli(config, "plan", "--full")
    assert result.returncode == 0, result.stdout + result.stderr
    shown = [line for line in result.stdout.splitlines()
             if not line.startswith(("plan run", "  "))]
    assert shown == []  # the XMP is still on the server: nothing to trash
    assert "would download 0 (" in result.stdout and "unchanged 2" in result.stdout
    assert "trash 0, delete 0, stop tracking 0" in result.stdout
    assert detail_requests(server) == [] and server.download_count == 0  # as cheap as sync
    assert footprint(target) == before


@pytest.mark.parametrize("delete", ["keep", "trash", "mirror"])
def test_plan_shows_what_sync_then_does_with_a_new_and_a_removed_xmp(
        server: FakePhotoPrism, target: Path, make_config: ConfigFactory, delete: str) -> None:
    raw, xmp, jpeg = library(server)
    settings = load_config(make_config(mirror={"delete": delete}, **SIDECARS), {})
    assert run_sync(settings).exit_code == 0

    server.add_file(jpeg, "2024/05/IMG_1.xmp", b"<x:xmpmeta>new</x:xmpmeta>", sidecar=True)
    before = footprint(target)
    server.reset_counters()
    planned, shown = plan(settings)
    assert shown == ["download 2024/05/IMG_1.xmp"]
    assert detail_requests(server) == [f"/api/v1/photos/{jpeg}"]  # the photo that changed
    assert server.download_count == 0 and footprint(target) == before
    synced = run_sync(settings)
    assert counts(planned) == counts(synced) and synced.downloaded == 1
    assert (target / "2024/05/IMG_1.xmp").read_bytes() == b"<x:xmpmeta>new</x:xmpmeta>"

    # A sidecar original leaves a photo: the photo's details say so, and sync notes it (its
    # .ppsync.json names it no more); it is removed by the next full walk that does not see it,
    # under the policy and the same safety limits as any original. Plan says so pass by pass.
    server.delete_file(xmp)
    for removes in (False, True):
        before = footprint(target)
        planned, shown = plan(settings)
        removal = {"keep": "forget", "trash": "trash", "mirror": "delete"}[delete]
        assert shown == ([f"{removal} 2024/06/DSC_1.xmp (no longer on the server)"]
                         if removes else [])
        assert footprint(target) == before
        synced = run_sync(settings)
        assert counts(planned) == counts(synced)
    assert (target / "2024/06/DSC_1.xmp").exists() == (delete == "keep")
    assert plan(settings)[1] == []
    assert raw


def test_sync_change_plan_sync_plan_in_one_process(
        server: FakePhotoPrism, target: Path, make_config: ConfigFactory) -> None:
    raw, _, jpeg = library(server)
    settings = load_config(make_config(mirror={"delete": "trash"}, **SIDECARS), {})
    assert run_sync(settings).exit_code == 0
    server.add_file(raw, "2024/06/DSC_1.aae", b"<aae/>", sidecar=True)
    server.add_photo([("2024/07/IMG_2.jpg", b"two" * 100)])
    server.update_photo(jpeg, title="Retitled")  # a changed photo with no sidecar original
    planned, shown = plan(settings)
    assert shown == ["download 2024/06/DSC_1.aae", "download 2024/07/IMG_2.jpg"]
    synced = run_sync(settings)
    assert counts(planned) == counts(synced)
    assert (target / "2024/06/DSC_1.aae").read_bytes() == b"<aae/>"
    server.reset_counters()
    quiet, shown = plan(settings)
    assert shown == [] and quiet.exit_code == 0 and quiet.unchanged == 3  # the listed ones
    assert quiet.trashed == quiet.downloaded == 0 and detail_requests(server) == []
    assert counts(quiet) == counts(run_sync(settings))


def test_plan_makes_no_request_sync_would_not_make_on_either_server(
        lib: Library, target: Path, lib_config: ConfigFactory) -> None:
    first = lib.add("first.jpg", b"first" * 60)
    plain = load_config(lib_config(), {})  # the same mirror, sidecars off
    settings = load_config(lib_config(**SIDECARS), {})
    assert run_sync(settings).exit_code == 0
    for change in (False, True):
        if change:
            lib.add("second.jpg", b"second" * 60)
            lib.describe(first, "now with a caption")
        before = footprint(target)
        lib.reset_counters()
        planned, shown = plan(settings)
        plan_requests = lib.request_count()
        assert shown == ([f"download {lib.path('second.jpg')}"] if change else [])
        assert footprint(target) == before and lib.download_count() == 0
        lib.reset_counters()
        assert plan(plain)[1] == shown
        if lib.kind == "immich":  # its details list no sidecar original: none are read
            assert plan_requests == lib.request_count()
        lib.reset_counters()
        synced = run_sync(settings)
        assert counts(planned) == counts(synced)
        assert plan_requests <= lib.request_count() - synced.downloaded
