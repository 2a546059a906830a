"""Immich through the engine, beyond the shared invariants (``test_kinds.py``): config rules,
auth (key, one login per process, 401/403), ``ppsync check``, the wrong kind of server, live
photos, archived assets, hostile names, generations, change passes with metadata, albums,
upload and restore in both directions."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ppsync.config import Settings, load_config
from ppsync.errors import ConfigError
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.models import RunReport
from ppsync.servers import open_server
from tests.conftest import mirrored_files, run_cli, write_config
from tests.fake_immich import EMAIL, PASSWORD, FakeImmich, ImmichUser
from tests.fake_photoprism import FakePhotoPrism

TAKEN = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)


@pytest.fixture
def immich() -> Iterator[FakeImmich]:
    with FakeImmich(generation="v2.5") as fake:
        yield fake


def config(tmp_path: Path, target: Path, server: dict[str, Any],
           **sections: dict[str, Any]) -> Path:
    merged: dict[str, dict[str, Any]] = {
        "server": {"kind": "immich", "timeout": 10, "retries": 2, "retry_backoff": 0.01,
                   "outage_wait": "1s", **server},
        "mirror": {"target": str(target), "workers": 2},
        "log": {"level": "debug", "format": "json"},
    }
    for name, values in sections.items():
        merged.setdefault(name, {}).update(values)
    return write_config(tmp_path / "ppsync.toml", merged)


def key_settings(immich: FakeImmich, tmp_path: Path, target: Path,
                 permissions: tuple[str, ...] = ("all",), **sections: dict[str, Any]) -> Settings:
    key = immich.add_key(permissions)
    return load_config(config(tmp_path, target, {"url": immich.url, "api_key": key},
                              **sections), {})


def sync(settings: Settings, **options: Any) -> RunReport:
    return run_sync(settings, PassOptions(**options))


# --- config -----------------------------------------------------------------------------------


def problems(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ or {})
    return caught.value.problems


def test_config_mixing_ways_in_and_other_kinds_keys(tmp_path: Path, target: Path) -> None:
    found = problems(config(tmp_path, target, {
        "url": "http://h:2283", "api_key": "k" * 20, "username": EMAIL, "password": "pw",
        "token": "t" * 20, "client_id": "cabcdefghijklmno"}))
    assert any(p.startswith("server.api_key: set either api_key") for p in found)
    assert any(p.startswith("server.token: only for kind = \"photoprism\"") for p in found)
    assert any(p.startswith("server.client_id: only for kind") for p in found)
    none = problems(config(tmp_path, target, {"url": "http://h:2283"}))
    assert none[0].startswith("server.api_key: no credentials configured")
    half = problems(config(tmp_path, target, {"url": "http://h:2283", "username": EMAIL}))
    assert half[0].startswith("server.password: an Immich login needs both")
    write_config(tmp_path / "pp.toml", {"server": {"url": "http://h", "password": "pw",
                                                   "api_key": "k" * 20},
                                        "mirror": {"target": str(target)}})
    assert problems(tmp_path / "pp.toml")[0].startswith('server.api_key: only for kind = "immich"')


def test_config_reads_the_key_from_a_file_or_a_systemd_credential(
        tmp_path: Path, target: Path) -> None:
    (tmp_path / "key").write_text("secret-from-file\n")
    path = config(tmp_path, target, {"url": "http://h:2283/",
                                     "api_key_file": str(tmp_path / "key")})
    settings = load_config(path, {})
    assert settings.server.api_key.get_secret_value() == "secret-from-file"
    assert settings.server.url == "http://h:2283" and settings.server.username == ""
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "api_key").write_text("secret-from-systemd")
    path = config(tmp_path, target, {"url": "http://h:2283"})
    settings = load_config(path, {"CREDENTIALS_DIRECTORY": str(creds)})
    assert settings.server.api_key.get_secret_value() == "secret-from-systemd"


def test_a_layout_the_kind_cannot_fill_is_a_config_error(
        immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    settings = key_settings(immich, tmp_path, target, mirror={"layout": "{server_path}"})
    with pytest.raises(ConfigError, match="not available for a immich server"):
        sync(settings)


# --- auth ---------------------------------------------------------------------------------------


def test_a_password_logs_in_once_for_many_passes_and_out_at_close(
        immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    ImmichUser(immich).upload("A.jpg", b"a" * 100, taken=TAKEN)
    settings = load_config(config(tmp_path, target, {"url": immich.url, "username": EMAIL,
                                                     "password": PASSWORD}), {})
    server = open_server(settings.server)
    try:
        for _ in range(3):
            assert sync(settings, server=server).exit_code == 0
        assert immich.logins == 1 and immich.logouts == 0
    finally:
        server.close()
    assert immich.logouts == 1


def test_an_expired_session_logs_in_again_once(immich: FakeImmich, tmp_path: Path,
                                               target: Path) -> None:
    user = ImmichUser(immich)
    for n in range(6):
        user.upload(f"E{n}.jpg", bytes([n]) * 100, taken=TAKEN)
    # A token dies after 8 requests: the pass (searches, then six downloads on four workers)
    # outlives it at least once. With 4, the other workers could spend the fresh token's whole
    # budget before the request that logged in again was retried (seen once under CI load).
    immich.faults.expire_tokens_after = 8
    settings = load_config(config(tmp_path, target, {"url": immich.url, "username": EMAIL,
                                                     "password": PASSWORD}), {})
    report = sync(settings)
    assert report.exit_code == 0 and report.downloaded == 6
    assert immich.logins >= 2


def test_a_refused_key_is_exit_3(immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    settings = load_config(config(tmp_path, target, {"url": immich.url,
                                                     "api_key": "not-a-real-key-123"}), {})
    result = run_cli(config(tmp_path, target, {"url": immich.url,
                                               "api_key": "not-a-real-key-123"}), "sync")
    assert result.returncode == 3, result.stderr
    assert "not-a-real-key-123" not in result.stdout + result.stderr
    assert settings.server.kind == "immich"


def test_a_missing_permission_is_exit_3_naming_it(immich: FakeImmich, tmp_path: Path,
                                                  target: Path) -> None:
    ImmichUser(immich).upload("P.jpg", b"p" * 100, taken=TAKEN)
    key = immich.add_key(("asset.read", "album.read", "user.read"))
    path = config(tmp_path, target, {"url": immich.url, "api_key": key})
    result = run_cli(path, "sync")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "asset.download" in result.stdout + result.stderr
    (tmp_path / "inbox").mkdir()
    inbox = tmp_path / "inbox"
    path.write_text(path.read_text() + f'[upload]\nenabled = true\ninbox = "{inbox}"\n')
    check = run_cli(path, "check")
    out = check.stdout + check.stderr
    assert "Immich v2.5.6" in out and "lacks asset.download" in out
    assert "cannot serve upload: the API key lacks asset.upload" in out
    assert check.returncode != 0
    assert key not in out
    state = (target / ".ppsync" / "state.db").read_bytes()
    assert key.encode() not in state


def test_check_names_kind_and_version(immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    key = immich.add_key(("all",))
    result = run_cli(config(tmp_path, target, {"url": immich.url, "api_key": key}), "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "server: Immich v2.5.6" in result.stdout
    assert "every permission" in result.stdout


def test_the_wrong_kind_of_server_is_a_clear_error(tmp_path: Path, target: Path) -> None:
    with FakePhotoPrism(password="pw") as photoprism:
        result = run_cli(config(tmp_path, target, {"url": photoprism.url, "api_key": "k" * 20}),
                         "sync")
    assert result.returncode == 2
    assert "does not answer like an Immich" in result.stdout + result.stderr


def test_kind_photoprism_at_an_immich_is_a_clear_error(immich: FakeImmich, tmp_path: Path,
                                                       target: Path) -> None:
    path = write_config(tmp_path / "pp.toml", {
        "server": {"url": immich.url, "password": "not-the-pw", "retries": 0},
        "mirror": {"target": str(target)}})
    result = run_cli(path, "sync")
    assert result.returncode == 2
    assert "does not answer like a PhotoPrism" in result.stdout + result.stderr


# --- what the mirror holds ----------------------------------------------------------------------


def test_live_photos_land_side_by_side_and_archived_assets_unless_left_out(
        immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(immich)
    user.upload_live(("IMG_1.HEIC", b"still" * 20), ("IMG_1.MOV", b"video" * 20), taken=TAKEN)
    archived = user.upload("OLD.jpg", b"old" * 20, taken=TAKEN)
    user.archive(archived)
    settings = key_settings(immich, tmp_path, target, mirror={"include_archived": False})
    assert sync(settings).exit_code == 0
    assert set(mirrored_files(target)) == {"2024/05/IMG_1.HEIC", "2024/05/IMG_1.MOV"}
    settings = key_settings(immich, tmp_path, target)  # unset: Immich's archive is mirrored
    assert sync(settings).exit_code == 0
    assert "2024/05/OLD.jpg" in mirrored_files(target)


def test_hostile_names_are_refused_with_the_reason(immich: FakeImmich, tmp_path: Path,
                                                   target: Path) -> None:
    for name in ("../../evil.jpg", "sub/dir.jpg", "ok.jpg"):
        asset = immich.lib.create_asset(name, name.encode() * 10, file_created_at=TAKEN,
                                        file_modified_at=TAKEN)
        immich.lib.run_metadata_job(asset)
    report = sync(key_settings(immich, tmp_path, target))
    assert report.exit_code == 1
    assert set(mirrored_files(target)) == {"2024/05/ok.jpg"}
    reasons = " ".join(f.reason for f in report.failures)
    assert "original file name contains a slash" in reasons
    assert not (tmp_path / "evil.jpg").exists()


@pytest.mark.parametrize("generation", ["v1.135", "v3"])
def test_every_generation_mirrors(generation: str, tmp_path: Path, target: Path) -> None:
    with FakeImmich(generation=generation) as fake:
        ImmichUser(fake).upload("G.jpg", b"g" * 300, taken=TAKEN)
        report = sync(key_settings(fake, tmp_path, target))
    assert report.exit_code == 0 and mirrored_files(target) == {"2024/05/G.jpg": b"g" * 300}


def test_a_change_pass_sees_replaced_originals_favourites_and_descriptions(
        immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(immich)
    a = user.upload("A.jpg", b"a" * 300, taken=TAKEN)
    b = user.upload("B.jpg", b"b" * 300, taken=TAKEN)
    c = user.upload("C.jpg", b"c" * 300, taken=TAKEN)
    settings = key_settings(immich, tmp_path, target, metadata={"sidecars": "json"},
                            mirror={"delete": "mirror"})
    assert sync(settings).exit_code == 0
    user.replace(a, b"A" * 400)
    user.favourite(b)
    user.describe(b, "a day at the lake")
    user.trash(c)
    change = sync(settings, changes_only=True)
    assert change.exit_code == 0 and change.command == "change"
    assert (target / "2024/05/A.jpg").read_bytes() == b"A" * 400
    doc = json.loads((target / "2024/05/B.jpg.ppsync.json").read_text())
    assert doc["favorite"] is True and doc["caption"] == "a day at the lake"
    assert (target / "2024/05/C.jpg").exists()  # only a full walk removes
    full = sync(settings)
    assert full.exit_code == 0 and not (target / "2024/05/C.jpg").exists()
    user.restore(c)
    assert sync(settings).exit_code == 0 and (target / "2024/05/C.jpg").exists()


def test_album_folders_and_sidecars(immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(immich)
    a = user.upload("A.jpg", b"a" * 300, taken=TAKEN, city="Berlin", make="Canon")
    user.create_album("Holiday", (a,))
    settings = key_settings(immich, tmp_path, target, metadata={"sidecars": "json"},
                            albums={"mode": "symlink"})
    assert sync(settings).exit_code == 0
    entries = list((target / "Albums" / "Holiday").iterdir())
    assert [e.name for e in entries if not e.name.startswith(".")] == ["A.jpg"]
    doc = json.loads((target / "2024/05/A.jpg.ppsync.json").read_text())
    assert doc["place"]["city"] == "Berlin" and doc["camera"]["make"] == "Canon"
    before = len(immich.requests)
    assert sync(settings).exit_code == 0
    assert not [r for r in immich.requests[before:] if r.path.startswith("/api/assets/")
                and r.method == "GET" and "statistics" not in r.path]  # none per asset


@pytest.mark.parametrize("generation", ["v1.135", "v2.5", "v3"])
def test_upload_sends_new_files_skips_duplicates_and_finds_the_album_by_name(
        generation: str, tmp_path: Path, target: Path) -> None:
    with FakeImmich(generation=generation) as fake:
        user = ImmichUser(fake)
        on_server = user.upload("old.jpg", b"o" * 100, taken=TAKEN)
        album = user.create_album("Inbox")
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        (inbox / "new.jpg").write_bytes(b"n" * 100)
        (inbox / "again.jpg").write_bytes(b"o" * 100)  # the same bytes as old.jpg
        key = fake.add_key(("all",))
        path = config(tmp_path, target, {"url": fake.url, "api_key": key},
                      upload={"enabled": True, "inbox": str(inbox), "settle_seconds": 0})
        path.write_text(path.read_text().replace("[upload]\n", '[upload]\nalbums = ["Inbox"]\n'))
        result = run_cli(path, "upload")
        assert result.returncode == 0, result.stdout + result.stderr
        assert key not in result.stdout + result.stderr
        new = fake.lib.by_checksum(base64.b64encode(hashlib.sha1(b"n" * 100).digest()).decode())
        assert new is not None and new.original_file_name == "new.jpg"
        assert [a.name for a in fake.lib.albums.values()] == ["Inbox"]  # no second album
        # Only what the upload brought: the duplicate of old.jpg is left as it is.
        assert set(fake.lib.albums[album].asset_ids) == {new.id}
        assert fake.lib.assets[on_server].visibility == "timeline"
        uploads = fake.requests_to("/api/assets", "POST")
        assert len([r for r in uploads if r.path == "/api/assets"]) == 1
        again = run_cli(path, "upload")  # nothing new: nothing sent
        assert again.returncode == 0
        assert len([r for r in fake.requests_to("/api/assets", "POST")
                    if r.path == "/api/assets"]) == 1


def test_a_photoprism_mirror_migrates_into_immich(immich: FakeImmich, tmp_path: Path,
                                                  target: Path) -> None:
    key = immich.add_key(("all",))
    with FakePhotoPrism(password="insecure-pw") as photoprism:
        sunset = photoprism.add_photo([("2024/05/sunset.jpg", b"sunset" * 50)], title="Sunset")
        photoprism.update_photo(sunset.uid, caption="At the beach", favorite=True)
        secret = photoprism.add_photo([("2024/05/secret.jpg", b"secret" * 50)], private=True)
        photoprism.add_album("Trips", photo_uids=[sunset.uid, secret.uid])
        old = photoprism.add_photo([("2019/old.jpg", b"old" * 50)])
        photoprism.archive_photo(old.uid)
        path = write_config(tmp_path / "pp.toml", {
            "server": {"url": photoprism.url, "username": "admin", "password": "insecure-pw"},
            "mirror": {"target": str(target), "include_archived": True},
            "metadata": {"sidecars": "json"},
            "albums": {"mode": "symlink"},
            "servers.im": {"kind": "immich", "url": immich.url, "api_key": key, "retries": 0}})
        assert run_cli(path, "sync").returncode == 0
    result = run_cli(path, "restore", "--to", "im")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out  # the private mark cannot move across: reported
    assert "not carried 2 " in out  # and the title: Immich keeps one description
    assert "sunset.jpg.ppsync.json: title: this server keeps one description" in out
    assert "secret.jpg.ppsync.json: private: this server has no private mark" in out
    assets = {a.original_file_name: a for a in immich.lib.assets.values()}
    assert set(assets) == {"sunset.jpg", "secret.jpg", "old.jpg"}
    assert assets["old.jpg"].visibility == "archive"
    detail = ImmichUser(immich)._call("GET", f"/assets/{assets['sunset.jpg'].id}").json()
    assert detail["isFavorite"] is True
    assert detail["exifInfo"]["description"] == "At the beach"
    trips = [a for a in immich.lib.albums.values() if a.name == "Trips"]
    assert len(trips) == 1 and set(trips[0].asset_ids) == {
        assets["sunset.jpg"].id, assets["secret.jpg"].id}
    again = run_cli(path, "restore", "--to", "im")
    assert len(immich.lib.assets) == 3 and len(immich.lib.albums) == 1
    assert "uploaded 0" in again.stdout


def test_a_colliding_live_photo_keeps_still_and_video_together(
        immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(immich)
    stills = [user.upload_live(("IMG_1.HEIC", f"s{n}".encode() * 30),
                               ("IMG_1.MOV", f"v{n}".encode() * 30), taken=TAKEN)[0]
              for n in range(2)]
    assert sync(key_settings(immich, tmp_path, target)).exit_code == 0
    tag = hashlib.sha1(max(stills).encode()).hexdigest()[:8]
    assert set(mirrored_files(target)) == {
        "2024/05/IMG_1.HEIC", "2024/05/IMG_1.MOV",
        f"2024/05/IMG_1~{tag}.HEIC", f"2024/05/IMG_1~{tag}.MOV"}


@pytest.mark.parametrize("fault", ["malformed_search", "truncate_json"])
def test_a_broken_listing_removes_nothing(immich: FakeImmich, tmp_path: Path, target: Path,
                                          fault: str) -> None:
    user = ImmichUser(immich)
    keys = [user.upload(f"K{n}.jpg", bytes([n]) * 100, taken=TAKEN) for n in range(3)]
    settings = key_settings(immich, tmp_path, target, mirror={"delete": "mirror"})
    assert sync(settings).exit_code == 0
    user.trash(keys[0])
    setattr(immich.faults, fault, 20)
    report = sync(settings)
    assert report.exit_code != 0 and not report.walk_complete
    assert (target / "2024/05/K0.jpg").exists()


def test_upload_with_a_key_that_may_not_upload_is_exit_3_naming_it(
        immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.jpg").write_bytes(b"a" * 50)
    key = immich.add_key(("asset.read", "asset.download", "user.read"))
    path = config(tmp_path, target, {"url": immich.url, "api_key": key},
                  upload={"enabled": True, "inbox": str(inbox), "settle_seconds": 0})
    result = run_cli(path, "upload")
    assert result.returncode == 3
    assert "asset.upload" in result.stdout


def test_an_immich_mirror_restores_into_photoprism(immich: FakeImmich, tmp_path: Path,
                                                   target: Path) -> None:
    user = ImmichUser(immich)
    a = user.upload("A.jpg", b"a" * 300, taken=TAKEN)
    b = user.upload("B.jpg", b"b" * 300, taken=TAKEN)
    user.favourite(a)
    user.describe(a, "the lake")
    user.create_album("Trip", (a, b))
    key = immich.add_key(("all",))
    with FakePhotoPrism(password="insecure-pw", new_api=True) as photoprism:
        path = config(tmp_path, target, {"url": immich.url, "api_key": key},
                      metadata={"sidecars": "json"}, albums={"mode": "symlink"},
                      **{"servers.pp": {"url": photoprism.url, "username": "admin",
                                        "password": "insecure-pw", "retries": 0}})
        assert run_cli(path, "sync").returncode == 0
        result = run_cli(path, "restore", "--to", "pp")
        assert result.returncode == 0, result.stdout + result.stderr
        assert len(photoprism.photos()) == 2  # PhotoPrism names uploads itself: match by SHA-1
        file_a = photoprism.file_by_hash(hashlib.sha1(b"a" * 300).hexdigest())
        assert file_a is not None
        photo_a = photoprism.photo(file_a.photo_uid)
        assert photo_a.favorite and photo_a.caption == "the lake"
        albums = [al for al in photoprism.albums() if al.title == "Trip"]
        assert len(albums) == 1 and len(albums[0].photo_uids) == 2
        again = run_cli(path, "restore", "--to", "pp")
        assert again.returncode == 0
        assert len(photoprism.photos()) == 2


def test_plan_verify_and_status_work_on_an_immich_mirror(immich: FakeImmich, tmp_path: Path,
                                                         target: Path) -> None:
    ImmichUser(immich).upload("V.jpg", b"v" * 300, taken=TAKEN)
    key = immich.add_key(("all",))
    path = config(tmp_path, target, {"url": immich.url, "api_key": key})
    plan = run_cli(path, "plan")
    assert plan.returncode == 0 and "2024/05/V.jpg" in plan.stdout
    assert run_cli(path, "sync").returncode == 0
    assert run_cli(path, "verify").returncode == 0
    (target / "2024/05/V.jpg").write_bytes(b"x" * 300)  # bit rot
    assert run_cli(path, "verify").returncode != 0
    status = run_cli(path, "status")
    assert status.returncode == 0 and key not in status.stdout + status.stderr


def test_a_walk_no_count_can_check_confirms_its_removals(
        immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(immich)
    keys = [user.upload(f"N{n}.jpg", bytes([n]) * 100, taken=TAKEN) for n in range(3)]
    settings = key_settings(immich, tmp_path, target,
                            ("asset.read", "asset.download", "user.read"),
                            mirror={"delete": "mirror"})  # no asset.statistics: no count
    assert sync(settings).exit_code == 0
    user.trash(keys[0])
    report = sync(settings)
    assert report.exit_code == 0 and not (target / "2024/05/N0.jpg").exists()
    assert immich.requests_to(f"/api/assets/{keys[0]}", "GET")  # asked again before removing
