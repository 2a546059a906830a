"""Album folders against the loopback fake: each mode, a filesystem that refuses links,
membership changes, renames, deletions, colliding entry names, manifests, and the album
folder's boundaries."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from ppsync.config import load_config
from ppsync.export.albums import AlbumExport, entry_names, folder_names, safe_title
from ppsync.mirror.executor import Layout
from ppsync.models import RunReport
from ppsync.servers import open_server
from ppsync.servers.base import Album
from ppsync.state import State
from tests.conftest import ConfigFactory
from tests.fake_photoprism import FakePhotoPrism

Sync = Callable[..., RunReport]


def albums(mode: str = "symlink", **extra: object) -> dict[str, dict[str, object]]:
    return {"albums": {"mode": mode, **extra}}


def library(server: FakePhotoPrism) -> list[str]:
    a = server.add_photo([("2024/05/IMG_0001.jpg", b"first" * 100)])
    b = server.add_photo([("2024/06/IMG_0001.jpg", b"second" * 100)])
    c = server.add_photo([("2024/07/beach.jpg", b"beach" * 100)])
    return [a.uid, b.uid, c.uid]


def entries(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name != ".album.json"}


def manifest(folder: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((folder / ".album.json").read_text())
    return data


@pytest.mark.parametrize("mode", ["symlink", "hardlink", "copy"])
def test_album_folder_in_each_mode(server: FakePhotoPrism, target: Path, sync: Sync,
                                   mode: str) -> None:
    a, b, c = library(server)
    uid = server.add_album("Summer", photo_uids=[a, b, c])
    assert sync(**albums(mode)).exit_code == 0
    folder = target / "Albums/Summer"
    names = {f"IMG_0001~{a}.jpg": b"first" * 100, f"IMG_0001~{b}.jpg": b"second" * 100,
             "beach.jpg": b"beach" * 100}
    assert entries(folder) == names
    beach = folder / "beach.jpg"
    if mode == "symlink":
        assert beach.is_symlink() and os.readlink(beach) == "../../2024/07/beach.jpg"
    elif mode == "hardlink":
        assert beach.stat().st_ino == (target / "2024/07/beach.jpg").stat().st_ino
    else:
        assert not beach.is_symlink() and beach.stat().st_nlink == 1
    doc = manifest(folder)
    assert doc["format"] == "ppsync-album/1" and doc["uid"] == uid and doc["title"] == "Summer"
    members = {m["photo_uid"]: m for m in doc["members"]}  # type: ignore[attr-defined]
    assert members[c]["entry"] == "beach.jpg" and len(members) == 3
    assert members[c]["sha1"] == members[c]["files"][0]
    # the originals are untouched and still the mirror's
    assert (target / "2024/07/beach.jpg").read_bytes() == b"beach" * 100


def test_noop_pass_reads_no_members_and_rewrites_nothing(
        server: FakePhotoPrism, target: Path, sync: Sync) -> None:
    a, b, c = library(server)
    server.add_album("Summer", photo_uids=[a, b])
    server.add_album("Winter", photo_uids=[c])
    assert sync(**albums("copy")).exit_code == 0
    files = sorted((target / "Albums").rglob("*"))
    before = {p: p.stat().st_mtime_ns for p in files}
    server.reset_counters()
    assert sync(**albums("copy")).exit_code == 0
    assert [r for r in server.requests_to("/api/v1/photos") if "s" in r.query] == []
    assert len(server.requests_to("/api/v1/albums")) == 1
    assert {p: p.stat().st_mtime_ns for p in sorted((target / "Albums").rglob("*"))} == before


def test_membership_rename_and_delete(server: FakePhotoPrism, target: Path,
                                      sync: Sync) -> None:
    a, b, c = library(server)
    uid = server.add_album("Trip", photo_uids=[a, c])
    assert sync(**albums()).exit_code == 0
    assert set(entries(target / "Albums/Trip")) == {"IMG_0001.jpg", "beach.jpg"}
    server.set_album_members(uid, [a, b])  # c leaves, b joins: now two IMG_0001.jpg
    assert sync(**albums()).exit_code == 0
    assert set(entries(target / "Albums/Trip")) == {f"IMG_0001~{a}.jpg", f"IMG_0001~{b}.jpg"}
    server.rename_album(uid, "Trip to Rome")
    assert sync(**albums()).exit_code == 0
    assert not (target / "Albums/Trip").exists()
    assert set(entries(target / "Albums/Trip to Rome")) == {f"IMG_0001~{a}.jpg",
                                                           f"IMG_0001~{b}.jpg"}
    (target / "Albums/Trip to Rome/my notes.txt").write_text("mine")
    server.delete_album(uid)
    assert sync(**albums()).exit_code == 0
    # ppsync's entries and manifest are gone; the user's file and every original stay
    assert [p.name for p in (target / "Albums/Trip to Rome").iterdir()] == ["my notes.txt"]
    for name in ("2024/05/IMG_0001.jpg", "2024/06/IMG_0001.jpg", "2024/07/beach.jpg"):
        assert (target / name).is_file()


def test_original_moved_on_server_retargets_entry(server: FakePhotoPrism, target: Path,
                                                  sync: Sync) -> None:
    a, _, _ = library(server)
    server.add_album("Moved", photo_uids=[a])
    assert sync(**albums()).exit_code == 0
    file_uid = server.photo(a).files[0].uid
    server.rename_file(file_uid, "2025/IMG_0001.jpg")
    assert sync(**albums()).exit_code == 0
    entry = target / "Albums/Moved/IMG_0001.jpg"
    assert os.readlink(entry) == "../../2025/IMG_0001.jpg" and entry.read_bytes()


def test_link_refusal_falls_back_to_copies_with_one_warning(
        server: FakePhotoPrism, target: Path, sync: Sync, make_config: ConfigFactory) -> None:
    a, b, c = library(server)
    server.add_album("One", photo_uids=[a, b])
    server.add_album("Two", photo_uids=[c])
    assert sync().exit_code == 0
    settings = load_config(make_config(**albums("hardlink")), {})

    def refuse(source: str, destination: str) -> None:  # what SMB/exFAT answer
        raise OSError(errno.EPERM, "Operation not permitted", destination)

    state = State.open(settings.mirror.state_path)
    photos = open_server(settings.server)
    report = RunReport(command="test")
    try:
        photos.open()
        export = AlbumExport(settings.albums, state, photos, Layout(target), report,
                             link=refuse)
        with capture_logs() as logs:
            export.run()
    finally:
        photos.close()
        state.close()
    assert report.failures == []
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert len(warnings) == 1 and "refuses links" in warnings[0]["event"]
    for entry in (target / "Albums").rglob("*.jpg"):
        assert not entry.is_symlink() and entry.stat().st_nlink == 1
    assert len(list((target / "Albums").rglob("*.jpg"))) == 3


def test_original_inside_album_folder_refuses_export(server: FakePhotoPrism, target: Path,
                                                     sync: Sync) -> None:
    a, _, _ = library(server)
    server.add_photo([("Albums/Summer/x.jpg", b"a server original")])
    server.add_album("Summer", photo_uids=[a])
    report = sync(**albums("copy"))
    assert report.exit_code == 1
    assert any("album export refused" in f.reason for f in report.failures)
    assert (target / "Albums/Summer/x.jpg").read_bytes() == b"a server original"
    assert not (target / "Albums/Summer/.album.json").exists()


def test_unmirrored_member_listed_without_entry_then_added(
        server: FakePhotoPrism, target: Path, sync: Sync) -> None:
    a, _, _ = library(server)
    secret = server.add_photo([("private/p.jpg", b"private")], private=True)
    server.add_album("Mixed", photo_uids=[a, secret.uid])
    settings = {**albums(), "mirror": {"include_private": False}}
    assert sync(**settings).exit_code == 0
    members = {m["photo_uid"]: m for m in manifest(target / "Albums/Mixed")["members"]}  # type: ignore[attr-defined]
    assert members[secret.uid]["entry"] == "" and members[a]["entry"] == "IMG_0001.jpg"
    assert sync(**albums()).exit_code == 0  # now private photos are mirrored
    assert set(entries(target / "Albums/Mixed")) == {"IMG_0001.jpg", "p.jpg"}


def test_names_are_safe_unique_and_stable() -> None:
    assert safe_title("../../etc/passwd", "a1") == "_.._etc_passwd"
    assert safe_title("..", "a1") == "a1" and safe_title(".hidden", "a1") == "hidden"
    assert safe_title("x\x00y", "a1") == "x_y"
    assert len(safe_title("é" * 300, "a1").encode()) <= 200
    names = folder_names([Album("a2", "Trip"), Album("a1", "trip"), Album("a3", "Home")])
    assert names == {"a2": "Trip (a2)", "a1": "trip (a1)", "a3": "Home"}
    assert entry_names({"p2": "x/IMG.jpg", "p1": "y/IMG.jpg", "p3": "z/.album.json"}) == {
        "p2": "IMG~p2.jpg", "p1": "IMG~p1.jpg", "p3": "_.album.json"}


def test_album_export_touches_nothing_outside_the_album_folder(
        server: FakePhotoPrism, target: Path, sync: Sync) -> None:
    a, b, c = library(server)
    uid = server.add_album("Everything", photo_uids=[a, b, c])
    assert sync().exit_code == 0

    def outside() -> dict[str, tuple[bytes, int, int]]:
        return {p.relative_to(target).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns,
                                                   p.stat().st_nlink)
                for p in target.rglob("*") if p.is_file() and not p.is_symlink()
                and p.relative_to(target).parts[0] not in ("Albums", ".ppsync")}

    before = outside()
    for mode in ("copy", "symlink", "copy"):
        server.set_album_members(uid, [a] if mode == "symlink" else [a, b, c])
        assert sync(**albums(mode)).exit_code == 0
    server.delete_album(uid)
    assert sync(**albums("copy")).exit_code == 0
    assert outside() == before
    assert list((target / "Albums").iterdir()) == []


def test_membership_change_refreshes_sidecar_albums(server: FakePhotoPrism, target: Path,
                                                    sync: Sync) -> None:
    a, b, _ = library(server)
    uid = server.add_album("Trip", photo_uids=[a])
    settings = {**albums(), "metadata": {"sidecars": "json"}}
    assert sync(**settings).exit_code == 0
    sidecar = target / "2024/06/IMG_0001.jpg.ppsync.json"
    assert json.loads(sidecar.read_text())["albums"] == []
    server.set_album_members(uid, [a, b])  # does not change the photos' UpdatedAt
    assert sync(**settings).exit_code == 0
    assert json.loads(sidecar.read_text())["albums"] == [uid]
    server.reset_counters()
    assert sync(**settings).exit_code == 0
    assert server.requests_to("/api/v1/photos/p") == []


def members_of(folder: Path) -> list[dict[str, object]]:
    members = manifest(folder)["members"]
    assert isinstance(members, list)
    return members


def test_archived_members_stay_in_the_manifest_while_archived(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    # Archiving hides a photo's album entries on the server (the album's search no longer
    # lists it, not even with archived=true), and restoring does not bring them back.
    a, _, c = library(server)
    uid = server.add_album("Trips", photo_uids=[a, c])
    outside = {"mirror": {"include_archived": False}}  # an archived photo is not mirrored
    assert sync(**albums(), **outside).exit_code == 0
    server.archive_photo(a)
    assert server.album(uid).photo_uids == [c]
    assert sync(**albums(), **outside).exit_code == 0
    folder = target / "Albums/Trips"
    assert entries(folder) == {"beach.jpg": b"beach" * 100}  # not mirrored: no entry
    members = {m["photo_uid"]: m for m in members_of(folder)}
    sha1_a = server.photo(a).files[0].sha1
    assert members[a] == {"photo_uid": a, "entry": "", "sha1": sha1_a, "files": [sha1_a],
                          "archived": True}
    assert "archived" not in members[c]
    server.rename_album(uid, "Trips 2024")  # the album is read again: still listed
    assert sync(**albums(), **outside).exit_code == 0
    assert [m["photo_uid"] for m in members_of(target / "Albums/Trips 2024")] == sorted([a, c])
    server.restore_photo(a)  # back in the library, but no longer in the album
    assert sync(**albums(), **outside).exit_code == 0
    assert [m["photo_uid"] for m in members_of(target / "Albums/Trips 2024")] == [c]


def test_a_member_removed_from_the_album_leaves_the_manifest(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    a, _, c = library(server)
    uid = server.add_album("Trips", photo_uids=[a, c])
    assert sync(**albums()).exit_code == 0
    server.set_album_members(uid, [c])
    assert sync(**albums()).exit_code == 0
    assert [m["photo_uid"] for m in members_of(target / "Albums/Trips")] == [c]
