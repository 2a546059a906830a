"""Metadata sidecars and sidecar originals against the loopback fake: written once, rewritten
only on change, no per-photo requests on a no-op pass, XMP originals mirrored and kept."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from ppsync.config import load_config
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.models import RunReport
from ppsync.state import SCHEMA_VERSION, State
from tests.conftest import ConfigFactory, admin_http
from tests.fake_photoprism import FakePhotoPrism

Sync = Callable[..., RunReport]
JSON = {"metadata": {"sidecars": "json"}}


def details_requests(server: FakePhotoPrism) -> list[str]:
    return [r.path for r in server.requests_to("/api/v1/photos/", "GET")]


def library(server: FakePhotoPrism) -> tuple[str, str, str]:
    garden = server.add_photo([("2024/05/IMG_1.jpg", b"garden" * 50)], title="Garden")
    server.update_photo(garden.uid, caption="Roses <& tulips>", favorite=True)
    video = server.add_photo([], type="video")
    server.add_file(video.uid, "2024/05/VID_1.mp4", b"mp4" * 500)
    server.add_file(video.uid, "2024/05/VID_1.mp4.jpg", b"preview", root="sidecar",
                    primary=True)
    raw = server.add_photo([("2024/06/DSC_1.NEF", b"raw" * 300)], type="raw")
    server.add_file(raw.uid, "2024/06/DSC_1.xmp", b"<x:xmpmeta>darktable</x:xmpmeta>",
                    sidecar=True)
    return garden.uid, video.uid, raw.uid


def test_json_sidecars_written_once_and_no_requests_on_a_noop(
        server: FakePhotoPrism, target: Path, sync: Sync) -> None:
    garden, video, raw = library(server)
    album = server.add_album("Holiday", photo_uids=[garden])
    assert sync(**JSON).exit_code == 0
    doc = json.loads((target / "2024/05/IMG_1.jpg.ppsync.json").read_text())
    assert doc["format"] == "ppsync-photo/1"
    assert (doc["photo_uid"], doc["title"], doc["caption"]) == (garden, "Garden",
                                                                "Roses <& tulips>")
    assert doc["favorite"] is True and doc["albums"] == [album]
    assert doc["files"][0]["sha1"] == hashlib.sha1(b"garden" * 50).hexdigest()
    assert doc["files"][0]["primary"] is True and doc["files"][0]["root"] == "/"
    # a video's primary is a sidecar-root preview: the sidecar sits next to the .mp4
    assert json.loads((target / "2024/05/VID_1.mp4.ppsync.json").read_text())[
        "photo_uid"] == video
    assert (target / "2024/06/DSC_1.NEF.ppsync.json").is_file()
    sidecars = sorted(target.rglob("*.ppsync.json"))
    mtimes = {p: p.stat().st_mtime_ns for p in sidecars}

    server.reset_counters()
    assert sync(**JSON).exit_code == 0
    assert details_requests(server) == []
    assert {p: p.stat().st_mtime_ns for p in sidecars} == mtimes

    server.update_photo(garden, title="Garden in May")
    server.reset_counters()
    assert sync(**JSON).exit_code == 0
    assert details_requests(server) == [f"/api/v1/photos/{garden}"]
    doc = json.loads((target / "2024/05/IMG_1.jpg.ppsync.json").read_text())
    assert doc["title"] == "Garden in May"
    assert {p: p.stat().st_mtime_ns for p in sidecars if "IMG_1" not in p.name} == {
        p: m for p, m in mtimes.items() if "IMG_1" not in p.name}
    assert raw


def test_xmp_kind_and_switching_kinds(server: FakePhotoPrism, target: Path,
                                      sync: Sync) -> None:
    library(server)
    assert sync(metadata={"sidecars": "xmp"}).exit_code == 0
    xmp = (target / "2024/05/IMG_1.jpg.ppsync.xmp").read_text()
    assert "<rdf:li xml:lang=\"x-default\">Garden</rdf:li>" in xmp
    assert "Roses &lt;&amp; tulips&gt;" in xmp and 'xmp:Rating="5"' in xmp
    assert not list(target.rglob("*.ppsync.json"))
    assert sync(metadata={"sidecars": "both"}).exit_code == 0
    assert (target / "2024/05/IMG_1.jpg.ppsync.json").is_file()
    assert sync(metadata={"sidecars": "json"}).exit_code == 0
    assert not list(target.rglob("*.ppsync.xmp"))


def test_sidecar_originals_mirrored_verified_and_kept_by_full_walks(
        server: FakePhotoPrism, target: Path, sync: Sync) -> None:
    library(server)
    mirror = {"delete": "mirror"}
    assert sync(metadata={"sidecars": "json"}, mirror=mirror).exit_code == 0
    xmp = target / "2024/06/DSC_1.xmp"
    assert xmp.read_bytes() == b"<x:xmpmeta>darktable</x:xmpmeta>"
    for _ in range(2):  # full walks that fetch no details must not delete it
        report = sync(metadata={"sidecars": "json"}, mirror=mirror)
        assert report.exit_code == 0 and report.deleted == 0
        assert xmp.is_file()
    state = State.open(target / ".ppsync/state.db")
    try:
        assert any(r.path == "2024/06/DSC_1.xmp" for r in state.active_records())
    finally:
        state.close()


def test_corrupt_sidecar_original_is_refused(server: FakePhotoPrism, target: Path,
                                             sync: Sync) -> None:
    library(server)
    xmp_hash = next(f.sha1 for f in server.files(include_sidecars=True) if f.sidecar)
    server.faults.corrupt_hash = xmp_hash
    report = sync(**JSON)
    assert report.exit_code == 1
    assert not (target / "2024/06/DSC_1.xmp").exists()
    server.faults.corrupt_hash = ""
    assert sync(**JSON).exit_code == 0  # retried: the photo was not marked exported
    assert (target / "2024/06/DSC_1.xmp").is_file()


def test_originals_sidecars_off_and_sidecars_none_cost_nothing(
        server: FakePhotoPrism, target: Path, sync: Sync) -> None:
    library(server)
    assert sync(metadata={"sidecars": "json", "originals_sidecars": False}).exit_code == 0
    assert not (target / "2024/06/DSC_1.xmp").exists()
    server.reset_counters()
    assert sync().exit_code == 0
    assert details_requests(server) == []


def test_removed_photo_loses_its_sidecar_with_delete_mirror(
        server: FakePhotoPrism, target: Path, sync: Sync) -> None:
    garden, _, _ = library(server)
    settings = {"metadata": {"sidecars": "json"}, "mirror": {"delete": "mirror"}}
    assert sync(**settings).exit_code == 0
    server.delete_photo(garden)
    assert sync(**settings).exit_code == 0
    assert not (target / "2024/05/IMG_1.jpg").exists()
    assert not (target / "2024/05/IMG_1.jpg.ppsync.json").exists()


def test_schema_2_state_migrates_to_3_keeping_records(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    state = State.open(path)
    state.db.execute("INSERT INTO files VALUES ('f1', 'p1', 'a.jpg', 'x', 1, 'active', 0, 0)")
    for table in ("photos", "photo_todo", "sidecar_files", "albums", "album_entries"):
        state.db.execute(f"DROP TABLE {table}")
    state.set_meta("schema_version", "2")
    state.close()
    state = State.open(path)
    try:
        assert state.get_meta("schema_version") == str(SCHEMA_VERSION)
        assert state.count_active() == 1
        assert state.album_rows() == {} and state.photo_todo(10) == []
    finally:
        state.close()


def test_config_resolves_originals_sidecars_and_guards_the_album_folder(
        make_config: Callable[..., Path]) -> None:
    from ppsync.config import load_config
    from ppsync.errors import ConfigError

    assert load_config(make_config(**JSON), {}).metadata.originals_sidecars is True
    assert load_config(make_config(), {}).metadata.originals_sidecars is False
    off = {"metadata": {"sidecars": "both", "originals_sidecars": False}}
    assert load_config(make_config(**off), {}).metadata.originals_sidecars is False
    for bad in (".ppsync", "../out", "a/../b", ""):
        try:
            load_config(make_config(albums={"folder": bad}), {})
        except ConfigError as exc:
            assert "albums.folder" in str(exc)
        else:
            raise AssertionError(bad)


def sidecar_mtimes(target: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in sorted(target.rglob("*.ppsync.*"))}


def test_a_star_set_in_the_ui_reaches_the_sidecars_on_the_next_full_walk(
        server: FakePhotoPrism, target: Path, make_config: ConfigFactory) -> None:
    # Starring (POST/DELETE /photos/<uid>/like) leaves UpdatedAt alone (photoprism-api.md §h):
    # only the Favorite and Private flags of the search rows can tell.
    garden, video, raw = library(server)
    both = {"metadata": {"sidecars": "both"}, "mirror": {"include_private": True}}
    settings = load_config(make_config(**both), {})
    assert run_sync(settings).exit_code == 0
    before = server.photo(garden).updated_at
    with admin_http(server) as http:
        assert http.delete(f"/api/v1/photos/{garden}/like").is_success
        assert http.post(f"/api/v1/photos/{raw}/like").is_success
    assert server.photo(garden).updated_at == before and not server.photo(garden).favorite
    mtimes = sidecar_mtimes(target)
    server.reset_counters()
    assert run_sync(settings).exit_code == 0  # a full walk
    assert sorted(details_requests(server)) == sorted(
        [f"/api/v1/photos/{garden}", f"/api/v1/photos/{raw}"])
    doc = json.loads((target / "2024/05/IMG_1.jpg.ppsync.json").read_text())
    assert doc["favorite"] is False
    assert 'xmp:Rating="0"' in (target / "2024/05/IMG_1.jpg.ppsync.xmp").read_text()
    assert json.loads((target / "2024/06/DSC_1.NEF.ppsync.json").read_text())["favorite"]
    assert 'xmp:Rating="5"' in (target / "2024/06/DSC_1.NEF.ppsync.xmp").read_text()
    changed = {p for p, m in sidecar_mtimes(target).items() if mtimes.get(p) != m}
    assert {p.name for p in changed} == {"IMG_1.jpg.ppsync.json", "IMG_1.jpg.ppsync.xmp",
                                         "DSC_1.NEF.ppsync.json", "DSC_1.NEF.ppsync.xmp"}

    server.reset_counters()
    assert run_sync(settings).exit_code == 0  # and then it is quiet again
    assert details_requests(server) == []
    assert video


def test_a_rescan_that_bumps_every_updated_at_rewrites_no_sidecar(
        server: FakePhotoPrism, target: Path, make_config: ConfigFactory) -> None:
    library(server)
    settings = load_config(make_config(metadata={"sidecars": "both"}), {})
    assert run_sync(settings).exit_code == 0
    mtimes = sidecar_mtimes(target)
    assert len(mtimes) == 6
    with admin_http(server) as http:
        assert http.post("/api/v1/index", json={"path": "/", "rescan": True}).is_success
    server.reset_counters()
    change = run_sync(settings, PassOptions(changes_only=True))
    # every photo came back changed: 3 originals by the search, the XMP by the RAW's details
    assert change.exit_code == 0 and change.listed == 4
    assert len(details_requests(server)) == 3  # its details are read again...
    assert sidecar_mtimes(target) == mtimes  # ...but no sidecar is rewritten
    assert run_sync(settings).exit_code == 0
    assert sidecar_mtimes(target) == mtimes


def test_schema_3_state_migrates_to_4_and_rechecks_each_photo_once(
        server: FakePhotoPrism, target: Path, make_config: ConfigFactory) -> None:
    garden, _, _ = library(server)
    settings = load_config(make_config(metadata={"sidecars": "json"}), {})
    assert run_sync(settings).exit_code == 0
    server.like_photo(garden, False)  # missed by an older ppsync
    state = State.open(settings.mirror.state_path)
    for table in ("photos", "photo_todo"):  # the schema 3 tables, as they were
        state.db.execute(f"ALTER TABLE {table} DROP COLUMN flags")
    state.db.execute("ALTER TABLE photos DROP COLUMN albums_unknown")  # schema 5's
    state.set_meta("schema_version", "3")
    state.close()
    server.reset_counters()
    assert run_sync(settings).exit_code == 0
    assert len(details_requests(server)) == 3  # each photo once, after the upgrade
    assert json.loads((target / "2024/05/IMG_1.jpg.ppsync.json").read_text())[
        "favorite"] is False
    server.reset_counters()
    assert run_sync(settings).exit_code == 0
    assert details_requests(server) == []


def test_a_change_pass_notices_a_star_by_the_favourite_count_and_walks_everything(
        server: FakePhotoPrism, target: Path, make_config: ConfigFactory) -> None:
    garden, _, raw = library(server)
    server.age_library(3600)  # last changed an hour ago: a change pass lists none of it
    settings = load_config(make_config(metadata={"sidecars": "both"}), {})
    assert run_sync(settings).exit_code == 0
    quiet = run_sync(settings, PassOptions(changes_only=True))
    assert quiet.command == "change" and quiet.listed == 0

    with admin_http(server) as http:
        assert http.post(f"/api/v1/photos/{raw}/like").is_success  # UpdatedAt stays
    server.reset_counters()
    noticed = run_sync(settings, PassOptions(changes_only=True))
    # 3 originals by the search, and the RAW's XMP by its details (read: it was starred)
    assert noticed.exit_code == 0 and noticed.command == "sync" and noticed.listed == 4
    assert details_requests(server) == [f"/api/v1/photos/{raw}"]
    assert json.loads((target / "2024/06/DSC_1.NEF.ppsync.json").read_text())["favorite"]
    assert 'xmp:Rating="5"' in (target / "2024/06/DSC_1.NEF.ppsync.xmp").read_text()

    server.reset_counters()
    after = run_sync(settings, PassOptions(changes_only=True))  # quiet again: 3 requests
    assert after.command == "change" and after.listed == 0 and details_requests(server) == []
    asked = [r.path for r in server.requests if not r.path.startswith("/api/v1/session")]
    # the counts; the library's and the archive's searches (include_archived by default)
    assert sorted(asked) == ["/api/v1/config", "/api/v1/photos", "/api/v1/photos"]
    assert garden
