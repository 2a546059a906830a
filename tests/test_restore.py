"""``ppsync restore`` against loopback fake PhotoPrism servers: a mirror synced from one server
(with sidecars and album manifests written per the issue 5 contract) is restored into a second,
empty server. Files by hash, metadata and albums come back; a second run changes nothing; an
interrupted or killed run followed by a rerun ends like a clean one; --dry-run changes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ppsync.config import load_config
from ppsync.errors import ConfigError
from ppsync.restore.run import RestoreReport, run_restore, summary_lines
from tests.conftest import PASSWORD, ConfigFactory, admin_http, run_cli
from tests.fake_photoprism import FakePhotoPrism

Restore = Callable[..., RestoreReport]


@pytest.fixture
def fresh() -> Iterator[FakePhotoPrism]:
    with FakePhotoPrism(password=PASSWORD, new_api=True) as fake:
        yield fake


def fresh_section(fresh: FakePhotoPrism) -> dict[str, dict[str, Any]]:
    return {"servers.fresh": {"url": fresh.url, "username": "admin", "password": PASSWORD,
                              "timeout": 10, "retries": 0, "retry_backoff": 0.01}}


@pytest.fixture
def config(make_config: ConfigFactory, fresh: FakePhotoPrism) -> Path:
    return make_config(**fresh_section(fresh))


@pytest.fixture
def restore(config: Path) -> Restore:
    def run(to: str = "fresh", **kwargs: Any) -> RestoreReport:
        return run_restore(load_config(config, {}), to, **kwargs)

    return run


def build_library(server: FakePhotoPrism) -> dict[str, Any]:
    """A source library: titles, captions, flags, a live photo, equal base names in two
    folders, an XMP sidecar original, and two albums."""
    sunset = server.add_photo([("2024/05/IMG_0001.jpg", b"sunset jpeg")], title="Sunset")
    server.update_photo(sunset.uid, caption="At the beach", favorite=True)
    secret = server.add_photo([("2024/05/IMG_0002.jpg", b"secret jpeg")], title="Secret",
                              private=True)
    live = server.add_photo([("2024/06/IMG_0003.heic", b"live heic"),
                             ("2024/06/IMG_0003.mov", b"live mov" * 100)], type="live",
                            with_preview=True)
    server.add_file(live.uid, "2024/06/IMG_0003.xmp", b"<x:xmpmeta/>", sidecar=True)
    card1 = server.add_photo([("card1/DSC_0001.JPG", b"first camera")], title="Card one")
    card2 = server.add_photo([("card2/DSC_0001.JPG", b"second camera")])
    server.add_album("Trips", photo_uids=[sunset.uid, live.uid])
    server.add_album("Family", photo_uids=[secret.uid, card1.uid, card2.uid])
    return {"photos": [sunset, secret, live, card1, card2]}


def write_metadata(server: FakePhotoPrism, target: Path) -> None:
    """Sidecars and album manifests as the issue 5 contract describes them."""
    primary_of: dict[str, str] = {}
    for photo in server.photos():
        for f in photo.files:  # metadata sidecar originals, as [metadata] originals_sidecars
            if f.root == "/" and f.sidecar and not (target / f.name).exists():
                (target / f.name).write_bytes(server.read_file(f.uid))
        originals = [f for f in photo.files if f.root == "/" and not f.sidecar]
        primary = next((f for f in originals if f.primary), originals[0])
        primary_of[photo.uid] = primary.name
        data = {
            "format": "ppsync-photo/1", "photo_uid": photo.uid, "type": photo.type,
            "title": photo.title, "title_src": photo.title_src, "caption": photo.caption,
            "favorite": photo.favorite, "private": photo.private, "archived": photo.archived,
            "albums": photo.album_uids,
            "files": [{"name": f.name, "sha1": f.sha1, "size": f.size, "root": f.root,
                       "primary": f.primary, "sidecar": f.sidecar} for f in photo.files],
        }
        path = target / (primary.name + ".ppsync.json")
        path.write_text(json.dumps(data, sort_keys=True, indent=2) + "\n")
    for album in server.albums():
        members = []
        for uid in album.photo_uids:
            photo = server.photo(uid)
            files = [f.sha1 for f in photo.files if f.root == "/"]
            primary = next(f for f in photo.files if f.name == primary_of[uid])
            members.append({"photo_uid": uid, "entry": primary.name.rsplit("/", 1)[-1],
                            "sha1": primary.sha1, "files": files})
        folder = target / "Albums" / album.title
        folder.mkdir(parents=True)
        (folder / ".album.json").write_text(json.dumps({
            "format": "ppsync-album/1", "uid": album.uid, "title": album.title,
            "description": "", "type": album.type, "members": members}, sort_keys=True,
            indent=2) + "\n")


@pytest.fixture
def mirror(server: FakePhotoPrism, fresh: FakePhotoPrism, sync: Callable[..., Any],
           target: Path) -> dict[str, Any]:
    library = build_library(server)
    assert sync(**fresh_section(fresh)).exit_code == 0
    write_metadata(server, target)
    return library


def originals_by_hash(fake: FakePhotoPrism) -> set[str]:
    return {f.sha1 for f in fake.files("/", include_sidecars=True, include_archived=True)}


def snapshot(fake: FakePhotoPrism) -> dict[str, Any]:
    """What a restore should reproduce, keyed by content, not by UIDs. A title only where it
    is carried: one the server generated (source "") is made again by the target, which may
    make another ("Unknown" on a Dec 2024 server, "" on a 2026 one)."""
    photos = {}
    for photo in fake.photos():
        key = min(f.sha1 for f in photo.files if f.root == "/" and not f.sidecar)
        title = photo.title if photo.title_src else None
        photos[key] = (title, photo.caption, photo.favorite, photo.private, photo.archived)
    albums = {}
    for album in fake.albums():
        albums[album.title] = sorted(
            min(f.sha1 for f in fake.photo(u).files if f.root == "/" and not f.sidecar)
            for u in album.photo_uids)
    return {"files": originals_by_hash(fake), "photos": photos, "albums": albums}


def changes(fake: FakePhotoPrism) -> dict[str, int]:
    return {"posts": len(fake.requests_to("/upload/", "POST")),
            "puts": len(fake.requests_to("/photos/p", "PUT")),
            "adds": len(fake.requests_to("/albums/", "POST")),
            "created": len([r for r in fake.requests_to("/albums", "POST")
                            if r.path.rstrip("/") == "/api/v1/albums"]),
            "archives": len(fake.requests_to("/batch/", "POST"))}


def test_restore_into_an_empty_server_reproduces_files_metadata_and_albums(
    server: FakePhotoPrism, fresh: FakePhotoPrism, mirror: dict[str, Any], restore: Restore,
    config: Path
) -> None:
    report = restore()
    assert report.exit_code == 0, report
    assert report.failures == []
    want = snapshot(server)
    assert snapshot(fresh) == want
    assert report.uploaded == len(want["files"]) and report.present == 0
    status = run_cli(config, "status", "--json")
    restore_run = json.loads(status.stdout)["runs"][0]  # in the run history, like any run
    assert restore_run["command"] == "restore" and restore_run["exit_code"] == 0
    assert restore_run["downloaded"] == report.uploaded
    assert report.albums == 2 and report.albums_created == 2 and report.members_added == 5
    assert len(fresh.albums()) == 2
    # Equal base names never shared an upload folder (one would have overwritten the other).
    assert fresh.file_by_hash(server.photos()[3].files[0].sha1) is not None
    assert fresh.file_by_hash(server.photos()[4].files[0].sha1) is not None
    # The live photo's files are stacked into one photo again, its XMP with it.
    live = fresh.photo(fresh.file_by_hash(mirror["photos"][2].files[0].sha1).photo_uid)  # type: ignore[union-attr]
    assert {f.name.rsplit(".", 1)[-1] for f in live.files if f.root == "/"} == {
        "heic", "mov", "xmp"}

    fresh.reset_counters()
    fresh.requests.clear()
    again = restore()
    assert again.exit_code == 0, again
    assert (again.uploaded, again.metadata_applied, again.members_added) == (0, 0, 0)
    assert again.present == len(want["files"]) and again.metadata_unchanged == 5
    assert changes(fresh) == {"posts": 0, "puts": 0, "adds": 0, "created": 0, "archives": 0}
    assert again.albums_created == 0
    assert snapshot(fresh) == want


def test_dry_run_changes_nothing(
    fresh: FakePhotoPrism, mirror: dict[str, Any], restore: Restore,
    capsys: pytest.CaptureFixture[str]
) -> None:
    report = restore(dry_run=True)
    assert report.exit_code == 0, report
    assert report.uploaded == 7 and report.albums_created == 2
    out = capsys.readouterr().out
    assert "would upload 2024/05/IMG_0001.jpg" in out and "would create album 'Trips'" in out
    assert fresh.photos() == [] and fresh.albums() == []
    assert not fresh.requests_to("/upload/") and not fresh.requests_to("/albums", "POST")

    assert restore().exit_code == 0
    trips = next(a for a in fresh.albums() if a.title == "Trips")
    fresh.set_album_members(trips.uid, trips.photo_uids[:1])
    fresh.requests.clear()
    partial = restore(dry_run=True)
    assert (partial.uploaded, partial.albums_created, partial.members_added) == (0, 0, 1)
    assert "would add 1 members to album 'Trips'" in capsys.readouterr().out
    assert len(fresh.album(trips.uid).photo_uids) == 1
    assert not fresh.requests_to("/albums", "POST") and not fresh.requests_to("/photos/p", "PUT")


def test_metadata_is_applied_only_where_the_server_differs(
    server: FakePhotoPrism, fresh: FakePhotoPrism, mirror: dict[str, Any], restore: Restore
) -> None:
    assert restore().exit_code == 0
    sunset = fresh.file_by_hash(mirror["photos"][0].files[0].sha1)
    assert sunset is not None
    fresh.update_photo(sunset.photo_uid, title="Renamed on the new server", favorite=False)
    fresh.requests.clear()
    report = restore()
    assert report.exit_code == 0 and report.metadata_applied == 1
    puts = fresh.requests_to("/photos/p", "PUT")
    assert len(puts) == 1 and sunset.photo_uid in puts[0].path
    photo = fresh.photo(sunset.photo_uid)
    assert (photo.title, photo.caption, photo.favorite) == ("Sunset", "At the beach", True)


def test_an_interrupted_run_is_finished_by_the_next(
    server: FakePhotoPrism, fresh: FakePhotoPrism, mirror: dict[str, Any], restore: Restore
) -> None:
    # The server fails while the metadata is applied: originals are in, the rest is not.
    fresh.faults.fail_path_contains = "/api/v1/photos/p"
    fresh.faults.fail_next_requests = 1
    first = restore()
    assert first.exit_code == 3 and "reading photo" in first.error
    assert originals_by_hash(fresh) == originals_by_hash(server)
    assert fresh.albums() == []
    second = restore()
    assert second.exit_code == 0, second
    assert second.uploaded == 0 and second.present == 7
    assert snapshot(fresh) == snapshot(server)


def test_a_killed_run_is_finished_by_the_next(
    server: FakePhotoPrism, fresh: FakePhotoPrism, sync: Callable[..., Any], target: Path,
    config: Path
) -> None:
    # Twenty photos all named IMG_0001.jpg: twenty upload folders, one import each.
    for n in range(20):
        server.add_photo([(f"day{n:02d}/IMG_0001.jpg", f"photo {n}".encode() * 50)],
                         title=f"Day {n}")
    assert sync(**fresh_section(fresh)).exit_code == 0  # (re)writes the config too
    write_metadata(server, target)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ppsync", "--config", str(config), "restore", "--to", "fresh"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    deadline = time.monotonic() + 60
    while not fresh.requests_to("/upload/", "PUT") and time.monotonic() < deadline:
        assert proc.poll() is None, "the restore ended before it could be killed"
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    fresh.wait_idle()  # the PUT seen above is recorded before the fake has imported it
    partial = len(originals_by_hash(fresh))
    assert 1 <= partial < 20  # killed midway
    result = run_cli(config, "restore", "--to", "fresh")
    assert result.returncode == 0, result.stderr + result.stdout
    assert f"already on the server {partial}" in result.stdout
    assert snapshot(fresh) == snapshot(server)


def test_a_file_the_server_will_not_take_is_reported_and_the_rest_restored(
    server: FakePhotoPrism, fresh: FakePhotoPrism, mirror: dict[str, Any], restore: Restore,
    target: Path
) -> None:
    (target / "2024/05/notes.txt").write_text("not a photo")
    sidecar = target / "2024/05/IMG_0001.jpg.ppsync.json"
    data = json.loads(sidecar.read_text())
    data["files"].append({"name": "2024/05/notes.txt", "size": 11,
                          "sha1": hashlib.sha1(b"not a photo").hexdigest(),
                          "root": "/", "primary": False, "sidecar": False})
    sidecar.write_text(json.dumps(data))
    report = restore()
    assert report.exit_code == 1
    reasons = {f.path: f.reason for f in report.failures}
    assert "refused by the server" in reasons["2024/05/notes.txt"]
    assert snapshot(fresh) == snapshot(server)


def test_album_members_whose_photo_is_missing_are_reported(
    server: FakePhotoPrism, fresh: FakePhotoPrism, mirror: dict[str, Any], restore: Restore,
    target: Path
) -> None:
    manifest = target / "Albums/Trips/.album.json"
    data = json.loads(manifest.read_text())
    data["members"].append({"photo_uid": "pgone", "entry": "gone.jpg", "sha1": "f" * 40,
                            "files": ["f" * 40]})
    manifest.write_text(json.dumps(data))
    report = restore()
    assert report.exit_code == 1
    assert [f.path for f in report.failures] == ["Albums/Trips/.album.json: gone.jpg"]
    assert snapshot(fresh)["albums"] == snapshot(server)["albums"]


def test_archived_photos_are_archived_again_after_joining_their_albums(
    server: FakePhotoPrism, fresh: FakePhotoPrism, mirror: dict[str, Any], restore: Restore,
    target: Path
) -> None:
    sidecar = target / "2024/05/IMG_0002.jpg.ppsync.json"
    data = json.loads(sidecar.read_text())
    data["archived"] = True
    sidecar.write_text(json.dumps(data))
    report = restore()
    assert report.exit_code == 0 and report.archived == 1
    secret = fresh.file_by_hash(mirror["photos"][1].files[0].sha1)
    assert secret is not None and fresh.photo(secret.photo_uid).archived
    assert restore().archived == 0
    assert len(fresh.requests_to("/batch/photos/archive", "POST")) == 1


def test_cli_targets_and_unknown_name(
    fresh: FakePhotoPrism, mirror: dict[str, Any], config: Path
) -> None:
    unknown = run_cli(config, "restore", "--to", "nowhere")
    assert unknown.returncode == 2 and "nowhere" in unknown.stderr
    assert "fresh" in unknown.stderr
    by_url = run_cli(config, "restore", "--to", fresh.url, "--dry-run")
    assert by_url.returncode == 0, by_url.stderr
    assert "dry run" in by_url.stdout and fresh.photos() == []
    done = run_cli(config, "restore", "--to", "fresh")
    assert done.returncode == 0, done.stderr
    assert "uploaded 7" in done.stdout and "members added 5" in done.stdout


def test_export_by_sync_then_restore_end_to_end(
    server: FakePhotoPrism, fresh: FakePhotoPrism, sync: Callable[..., Any], target: Path,
    config: Path
) -> None:
    """The real exporter writes the sidecars and manifests; restore reads them back."""
    build_library(server)
    sections = {**fresh_section(fresh), "albums": {"mode": "symlink"},
                "metadata": {"sidecars": "both"}}
    assert sync(**sections).exit_code == 0
    assert list(target.rglob("*.ppsync.json")) and list(target.rglob(".album.json"))
    result = run_cli(config, "restore", "--to", "fresh")
    assert result.returncode == 0, result.stdout + result.stderr
    assert snapshot(fresh) == snapshot(server)
    again = run_cli(config, "restore", "--to", "fresh")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "uploaded 0" in again.stdout and "attributes set on 0," in again.stdout
    assert "members added 0" in again.stdout


def test_dry_run_counts_the_members_an_album_would_get(
    fresh: FakePhotoPrism, mirror: dict[str, Any], restore: Restore,
    capsys: pytest.CaptureFixture[str]
) -> None:
    report = restore(dry_run=True)
    out = capsys.readouterr().out
    assert "would create album 'Family' with 3 members" in out
    assert "would create album 'Trips' with 2 members" in out
    assert report.members_added == 5 and fresh.photos() == []


@pytest.mark.parametrize("new_api", [False, True], ids=["Description", "Caption"])
def test_restored_titles_and_captions_stick_through_a_rescan_and_a_rerun_sends_nothing(
    server: FakePhotoPrism, sync: Callable[..., Any], target: Path, make_config: ConfigFactory,
    new_api: bool
) -> None:
    # The real server regenerates a title saved without TitleSrc "manual", and a rescan
    # replaces a caption saved without its source "manual" (photoprism-api.md §h).
    photo = server.add_photo([("2020/Sommer Ferien/Möwe 01.jpg", b"gull")], title="Möwe")
    server.update_photo(photo.uid, caption="Am Strand", favorite=True)
    with FakePhotoPrism(password=PASSWORD, new_api=new_api) as other:
        section = fresh_section(other)
        assert sync(**section).exit_code == 0
        write_metadata(server, target)
        settings = load_config(make_config(**section), {})
        assert run_restore(settings, "fresh").exit_code == 0
        (new,) = other.photos()
        other.set_file_caption(new.uid, "caption from the file")
        with admin_http(other) as http:
            assert http.post("/api/v1/index", json={"path": "/", "rescan": True}).is_success
        assert (new.title, new.caption, new.favorite) == ("Möwe", "Am Strand", True)
        other.requests.clear()
        again = run_restore(settings, "fresh")
        assert again.exit_code == 0 and again.metadata_applied == 0
        assert other.requests_to("/photos/p", "PUT") == []


def test_upload_restore_renames_like_the_real_import(
    fresh: FakePhotoPrism, mirror: dict[str, Any], restore: Restore
) -> None:
    assert restore().exit_code == 0
    names = {f.name for f in fresh.files("/", include_sidecars=True)}
    assert all(re.fullmatch(r"\d{4}/\d{2}/\d{8}_\d{6}_[0-9A-F]{8}(\.\d+)?\.\w+", n)
               for n in names), names


def test_originals_path_restore_keeps_names_and_folders_and_never_merges_with_a_stranger(
    server: FakePhotoPrism, fresh: FakePhotoPrism, mirror: dict[str, Any], target: Path,
    make_config: ConfigFactory, tmp_path: Path
) -> None:
    originals = tmp_path / "fresh-originals"  # the new server's originals folder, mounted
    originals.mkdir()
    fresh.originals_dir = str(originals)
    section = fresh_section(fresh)
    section["servers.fresh"]["originals_path"] = str(originals)
    settings = load_config(make_config(**section), {})
    (originals / "card2").mkdir()
    (originals / "card2/DSC_0001.JPG").write_bytes(b"someone else's photo")

    # A file already there with the photo's base name would be indexed as part of the same
    # photo: the photo gets a base name of its own, and the stranger is left as it is.
    ours = server.photos()[4].files[0]
    own = f"card2/DSC_0001-ppsync-{ours.sha1[:8]}.JPG"
    report = run_restore(settings, "fresh")
    assert report.exit_code == 0 and report.failures == [], report
    assert (originals / "card2/DSC_0001.JPG").read_bytes() == b"someone else's photo"
    wanted = {f.name for f in server.files("/", include_sidecars=True)}
    on_disk = {p.relative_to(originals).as_posix() for p in originals.rglob("*") if p.is_file()}
    # Its own names and folders; nothing else written there, no temporaries left.
    assert on_disk == wanted - {"card2/DSC_0001.JPG"} | {own, "card2/DSC_0001.JPG"}
    for name in wanted - {"card2/DSC_0001.JPG"}:
        assert (originals / name).read_bytes() == (target / name).read_bytes()
    assert (originals / own).read_bytes() == (target / ours.name).read_bytes()
    mine = fresh.photo(fresh.file_by_hash(ours.sha1).photo_uid)  # type: ignore[union-attr]
    assert [f.name for f in mine.files if f.root == "/"] == [own]  # not merged with the stranger
    indexed = [r.json["path"] for r in fresh.requests_to("/api/v1/index", "POST")]
    assert sorted(indexed) == ["2024/05", "2024/06", "card1", "card2"]  # exactly those folders
    assert not fresh.requests_to("/upload/")
    sunset = fresh.photo(fresh.file_by_hash(mirror["photos"][0].files[0].sha1).photo_uid)  # type: ignore[union-attr]
    assert (sunset.title, sunset.caption, sunset.favorite) == ("Sunset", "At the beach", True)
    live = fresh.photo(fresh.file_by_hash(mirror["photos"][2].files[0].sha1).photo_uid)  # type: ignore[union-attr]
    assert len([f for f in live.files if f.root == "/"]) == 3  # heic + mov + xmp, one photo

    fresh.requests.clear()
    again = run_restore(settings, "fresh")  # everything there: nothing copied, nothing indexed
    assert again.exit_code == 0 and again.failures == [] and again.uploaded == 0
    assert not fresh.requests_to("/api/v1/index")
    assert {p.relative_to(originals).as_posix() for p in originals.rglob("*")
            if p.is_file()} == on_disk


def test_a_restore_to_a_url_never_copies_into_the_main_servers_originals(
    fresh: FakePhotoPrism, mirror: dict[str, Any], make_config: ConfigFactory, tmp_path: Path
) -> None:
    # originals_path under [server] is the MIRRORED server's folder: a restore --to <URL>
    # borrows [server]'s credentials, never that folder (it would index on the wrong server).
    theirs = tmp_path / "mirrored-server-originals"
    theirs.mkdir()
    settings = load_config(make_config(server={"originals_path": str(theirs)}), {})
    report = run_restore(settings, fresh.url)
    assert report.exit_code == 0, report
    assert report.how == "uploaded" and report.uploaded == 7
    assert list(theirs.iterdir()) == []
    assert fresh.requests_to("/upload/") and not fresh.requests_to("/api/v1/index")


def test_originals_path_dry_run_and_an_unmounted_folder(
    fresh: FakePhotoPrism, mirror: dict[str, Any], make_config: ConfigFactory, tmp_path: Path,
    capsys: pytest.CaptureFixture[str]
) -> None:
    section = fresh_section(fresh)
    section["servers.fresh"]["originals_path"] = str(tmp_path / "not-mounted")
    unmounted = run_restore(load_config(make_config(**section), {}), "fresh")
    assert unmounted.exit_code == 4 and "is the new server's originals folder mounted" in \
        unmounted.error
    assert not (tmp_path / "not-mounted").exists()
    (tmp_path / "not-mounted").mkdir()
    dry = run_restore(load_config(make_config(**section), {}), "fresh", dry_run=True)
    assert dry.exit_code == 0 and dry.uploaded == 7
    out = capsys.readouterr().out
    assert "would copy 2024/05/IMG_0001.jpg into the originals folder" in out
    assert "would create album 'Family' with 3 members" in out
    assert "would index 2024/05" in out and "would index card2" in out
    assert "would be copied 7" in "\n".join(summary_lines(dry))
    assert list((tmp_path / "not-mounted").iterdir()) == []


def test_originals_path_must_not_overlap_the_mirror(
    fresh: FakePhotoPrism, make_config: ConfigFactory, target: Path
) -> None:
    section = fresh_section(fresh)
    section["servers.fresh"]["originals_path"] = str(target / "sub")
    with pytest.raises(ConfigError, match=r"servers.fresh.originals_path"):
        load_config(make_config(**section), {})


def test_originals_path_refuses_damaged_files_and_symlinks_leading_out(
    fresh: FakePhotoPrism, mirror: dict[str, Any], target: Path, make_config: ConfigFactory,
    tmp_path: Path
) -> None:
    originals, elsewhere = tmp_path / "fresh-originals", tmp_path / "elsewhere"
    originals.mkdir()
    elsewhere.mkdir()
    (originals / "card1").symlink_to(elsewhere)  # a folder that leads out of originals_path
    fresh.originals_dir = str(originals)
    section = fresh_section(fresh)
    section["servers.fresh"]["originals_path"] = str(originals)
    damaged = target / "2024/05/IMG_0002.jpg"
    damaged.write_bytes(b"X" * damaged.stat().st_size)  # bit rot: same size, other bytes
    report = run_restore(load_config(make_config(**section), {}), "fresh")
    reasons = {f.path: f.reason for f in report.failures}
    assert "do not match the recorded SHA-1" in reasons["2024/05/IMG_0002.jpg"]
    assert "symlink leading out" in reasons["card1/DSC_0001.JPG"]
    assert list(elsewhere.iterdir()) == []
    assert not (originals / "2024/05/IMG_0002.jpg").exists()
    assert not [p for p in originals.rglob(".*")]  # no temporaries left behind
    assert report.uploaded == 5


def test_originals_path_copies_only_regular_files_and_leaves_no_empty_folders(
    server: FakePhotoPrism, fresh: FakePhotoPrism, mirror: dict[str, Any], target: Path,
    make_config: ConfigFactory, sync: Callable[..., Any], tmp_path: Path
) -> None:
    server.add_photo([("zero/empty.jpg", b"")])  # an empty original: recorded size 0
    assert sync(**fresh_section(fresh)).exit_code == 0
    originals = tmp_path / "fresh-originals"
    originals.mkdir()
    fresh.originals_dir = str(originals)
    section = fresh_section(fresh)
    section["servers.fresh"]["originals_path"] = str(originals)
    config = make_config(**section)
    (target / "zero/empty.jpg").unlink()
    (target / "zero/empty.jpg").symlink_to("/dev/zero")  # endless, and its size says 0
    outside = tmp_path / "outside.jpg"
    outside.write_bytes((target / "card1/DSC_0001.JPG").read_bytes())
    (target / "card1/DSC_0001.JPG").unlink()
    (target / "card1/DSC_0001.JPG").symlink_to(outside)  # right bytes, but not the mirror's
    damaged = target / "card2/DSC_0001.JPG"
    damaged.write_bytes(b"X" * damaged.stat().st_size)

    def small_files() -> None:  # the old code filled the disk from /dev/zero: cap it
        resource.setrlimit(resource.RLIMIT_FSIZE, (8 << 20, 8 << 20))

    result = subprocess.run(
        [sys.executable, "-m", "ppsync", "--config", str(config), "restore", "--to", "fresh"],
        capture_output=True, text=True, timeout=60, preexec_fn=small_files,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    assert result.returncode == 1, result.stderr[-2000:]
    out = result.stdout
    assert "zero/empty.jpg" in out and "card1/DSC_0001.JPG" in out, out
    assert out.count("not a regular file") == 2, out
    assert "card2/DSC_0001.JPG" in out and "do not match the recorded SHA-1" in out
    on_disk = sorted(p.relative_to(originals).as_posix() for p in originals.rglob("*"))
    assert not [p for p in on_disk if p.split("/")[0] in ("zero", "card1", "card2")], on_disk
    assert "2024/05/IMG_0001.jpg" in on_disk


def test_an_xmp_whose_photo_is_already_there_is_reported_not_sent_alone(
    server: FakePhotoPrism, fresh: FakePhotoPrism, sync: Callable[..., Any], restore: Restore
) -> None:
    """PhotoPrism imports an XMP only with its photo's files (one sent alone stays in the
    upload folder): when the photo is already on the target, its XMP is said, not sent."""
    photo = server.add_photo([("2024/07/IMG_0300.jpg", b"jpeg with xmp")])
    server.add_file(photo.uid, "2024/07/IMG_0300.xmp", b"<x:xmpmeta/>", sidecar=True)
    fresh.add_photo([("2023/01/other-name.jpg", b"jpeg with xmp")])  # the photo, no XMP
    assert sync(**fresh_section(fresh), metadata={"sidecars": "json"}).exit_code == 0
    for _ in range(2):
        fresh.requests.clear()
        report = restore()
        assert report.exit_code == 0 and report.failures == [], report
        assert [(n.path, n.what) for n in report.not_carried] == [
            ("2024/07/IMG_0300.xmp", "sidecar")]
        assert not fresh.requests_to("/upload/")


def test_an_xmp_no_photo_lists_is_reported_not_sent_alone(
    server: FakePhotoPrism, fresh: FakePhotoPrism, sync: Callable[..., Any], target: Path,
    restore: Restore
) -> None:
    photo = server.add_photo([("2024/07/IMG_0301.jpg", b"jpeg of a lost sidecar")])
    server.add_file(photo.uid, "2024/07/IMG_0301.xmp", b"<x:xmpmeta/>", sidecar=True)
    assert sync(**fresh_section(fresh), metadata={"sidecars": "json"}).exit_code == 0
    (target / "2024/07/IMG_0301.jpg.ppsync.json").unlink()  # the photo's record is gone
    report = restore()
    assert report.exit_code == 0 and report.failures == [], report
    assert [(n.path, n.what) for n in report.not_carried] == [("2024/07/IMG_0301.xmp",
                                                               "sidecar")]
    assert "no photo's .ppsync.json lists" in report.not_carried[0].why
    assert fresh.file_by_hash(hashlib.sha1(b"jpeg of a lost sidecar").hexdigest()) is not None
    assert not fresh.upload_leftovers()  # nothing sent that PhotoPrism would leave behind
