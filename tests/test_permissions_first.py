"""Permissions first (issue 18 item 7): before any work, ``check``, ``sync``, ``upload`` and
``restore`` name EVERY permission (Immich key) or scope (PhotoPrism client) the configured work
needs and the credentials lack, at once, and stop with exit 3 before anything is downloaded,
uploaded or changed. Immich v1.139+ tells a key its permissions (``GET /api-keys/me``); older
servers are asked with harmless requests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ppsync.config import load_config
from ppsync.service.daemon import Daemon
from tests.conftest import ConfigFactory, mirrored_files, run_cli, write_config
from tests.fake_immich import FakeImmich, ImmichUser
from tests.fake_photoprism import FakePhotoPrism
from tests.test_client_credentials import client_config

TAKEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SYNC = ("asset.read", "asset.download", "user.read")
UPLOAD = (*SYNC, "asset.upload", "album.read", "album.create")


@pytest.fixture(params=["v2.5", "v3"])
def immich(request: pytest.FixtureRequest) -> Iterator[FakeImmich]:
    with FakeImmich(generation=request.param) as fake:
        yield fake


def config(tmp_path: Path, target: Path, server: dict[str, Any],
           **sections: dict[str, Any]) -> Path:
    merged: dict[str, dict[str, Any]] = {
        "server": {"kind": "immich", "timeout": 10, "retries": 1, "retry_backoff": 0.01,
                   "outage_wait": "1s", **server},
        "mirror": {"target": str(target), "workers": 2},
    }
    albums = sections.get("upload", {}).pop("albums", None)
    for name, values in sections.items():
        merged.setdefault(name, {}).update(values)
    path = write_config(tmp_path / "ppsync.toml", merged)
    if albums:  # write_config writes no lists
        path.write_text(path.read_text().replace(
            "[upload]\n", "[upload]\nalbums = [" + ", ".join(f'"{a}"' for a in albums) + "]\n"))
    return path


def upload_section(tmp_path: Path) -> dict[str, Any]:
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / "a.jpg").write_bytes(b"a" * 50)
    return {"enabled": True, "inbox": str(inbox), "settle_seconds": 0, "albums": ["Phone"]}


def test_a_key_missing_user_read_and_asset_download_stops_sync_naming_both_before_any_download(
        immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    ImmichUser(immich).upload("P.jpg", b"p" * 100, taken=TAKEN)
    key = immich.add_key(("asset.read", "album.read"))
    result = run_cli(config(tmp_path, target, {"url": immich.url, "api_key": key}), "sync")
    out = result.stdout + result.stderr
    assert result.returncode == 3, out
    assert "user.read" in out and "asset.download" in out
    assert "lacks asset.download, user.read" in out  # one message, both named
    assert immich.download_count == 0 and mirrored_files(target) == {}
    assert immich.requests_to("/original") == []  # not even a probe of a download
    assert immich.routes.key_me_reads == 1  # the key told its permissions: one request
    assert key not in out


def test_check_names_a_key_that_cannot_add_uploads_to_albums(
        immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    key = immich.add_key(UPLOAD)  # may upload, may not add to an album
    path = config(tmp_path, target, {"url": immich.url, "api_key": key},
                  upload=upload_section(tmp_path))
    check = run_cli(path, "check")
    assert check.returncode == 3, check.stdout + check.stderr
    assert "cannot serve upload: the API key lacks albumAsset.create" in check.stdout
    upload = run_cli(path, "upload")  # and upload stops before sending anything
    assert upload.returncode == 3, upload.stdout + upload.stderr
    assert "albumAsset.create" in upload.stdout + upload.stderr
    assert [r for r in immich.requests_to("/api/assets", "POST") if r.path == "/api/assets"] == []
    assert immich.lib.assets == {}


def test_an_old_immich_without_api_keys_me_is_asked_with_harmless_requests(
        tmp_path: Path, target: Path) -> None:
    with FakeImmich(generation="v1.135") as old:
        key = old.add_key(UPLOAD)  # v1 names the album permission album.addAsset
        path = config(tmp_path, target, {"url": old.url, "api_key": key},
                      upload=upload_section(tmp_path))
        check = run_cli(path, "check")
        assert check.returncode == 3, check.stdout + check.stderr
        assert "cannot serve upload: the API key lacks album.addAsset" in check.stdout
        assert old.lib.albums == {} and old.lib.assets == {}  # the probes changed nothing
        good = old.add_key(("all",))
        path = config(tmp_path, target, {"url": old.url, "api_key": good},
                      upload=upload_section(tmp_path))
        assert run_cli(path, "check").returncode == 0
        assert old.lib.albums == {} and old.lib.assets == {}


@pytest.mark.parametrize("generation", ["v1.135", "v2.5", "v3"])
def test_a_restore_into_immich_with_a_key_lacking_stack_create_and_tag_asset_stops_before_upload(
        generation: str, tmp_path: Path, target: Path) -> None:
    with FakeImmich(generation="v3") as source, FakeImmich(generation=generation) as other:
        ImmichUser(source).upload("A.jpg", b"a" * 300, taken=TAKEN)
        path = config(tmp_path, target, {"url": source.url, "api_key": source.add_key()},
                      metadata={"sidecars": "json"})
        assert run_cli(path, "sync").returncode == 0
        add = "album.addAsset" if generation == "v1.135" else "albumAsset.create"
        narrow = other.add_key(("asset.read", "asset.upload", "asset.update", "tag.create",
                                "album.read", "album.create", add))
        path.write_text(path.read_text() + (
            f'\n[servers.new]\nkind = "immich"\nurl = "{other.url}"\napi_key = "{narrow}"\n'
            'retries = 0\n'))
        result = run_cli(path, "restore", "--to", "new")
        out = result.stdout + result.stderr
        assert result.returncode == 3, out
        assert "restore: the API key lacks stack.create, tag.asset" in out
        uploads = [r for r in other.requests_to("/api/assets", "POST") if r.path == "/api/assets"]
        assert uploads == [] and other.lib.assets == {}  # a look-up by SHA-1 sends nothing
        assert other.lib.albums == {} and other.lib.tags == {}  # the probes changed nothing
        assert narrow not in out


def test_a_full_key_works_as_before_and_asks_once(
        immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    ImmichUser(immich).upload("P.jpg", b"p" * 100, taken=TAKEN)
    key = immich.add_key(("all",))
    path = config(tmp_path, target, {"url": immich.url, "api_key": key},
                  metadata={"sidecars": "json"}, albums={"mode": "symlink"},
                  upload=upload_section(tmp_path))
    check = run_cli(path, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "with every permission ppsync needs here" in check.stdout
    result = run_cli(path, "sync")
    assert result.returncode == 0, result.stdout + result.stderr
    assert immich.download_count == 1
    assert immich.routes.key_me_reads == 2  # once per run: check, then sync


def test_sidecars_without_album_read_are_a_warning_not_a_stop(
        immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    ImmichUser(immich).upload("P.jpg", b"p" * 100, taken=TAKEN)
    key = immich.add_key(SYNC)
    path = config(tmp_path, target, {"url": immich.url, "api_key": key},
                  metadata={"sidecars": "json"})
    result = run_cli(path, "sync")
    assert result.returncode == 0, result.stdout + result.stderr
    assert immich.download_count == 1


def test_a_photoprism_client_whose_scope_lacks_albums_stops_sync_before_any_download(
        server: FakePhotoPrism, make_config: ConfigFactory) -> None:
    for i in range(3):
        server.add_photo([(f"p/{i}.jpg", f"content {i}".encode())])
    path = client_config(make_config, server.add_client("photos files"),
                         albums={"mode": "symlink"})
    result = run_cli(path, "sync")
    out = result.stdout + result.stderr
    assert result.returncode == 3, out
    assert "albums: the scope 'photos files' does not allow albums" in out
    assert [r for r in server.requests if "/dl/" in r.path] == []
    assert mirrored_files(load_config(path, {}).mirror.target) == {}


def test_the_daemon_asks_once_per_session_not_per_pass(
        immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    ImmichUser(immich).upload("P.jpg", b"p" * 100, taken=TAKEN)
    path = config(tmp_path, target, {"url": immich.url, "api_key": immich.add_key()},
                  schedule={"interval": "1h"})
    daemon = Daemon(path, load_config(path, {}))
    try:
        for _ in range(3):
            report = daemon.run_pass()
            assert report is not None and report.exit_code == 0, report
    finally:
        daemon.stop.set()
        if daemon._server is not None:
            daemon._server.close()
    assert immich.routes.key_me_reads == 1


def test_a_daemon_pass_with_a_key_lacking_two_permissions_stops_before_any_download(
        immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    ImmichUser(immich).upload("P.jpg", b"p" * 100, taken=TAKEN)
    key = immich.add_key(("asset.read",))
    path = config(tmp_path, target, {"url": immich.url, "api_key": key},
                  schedule={"interval": "1h"})
    daemon = Daemon(path, load_config(path, {}))
    try:
        report = daemon.run_pass()
    finally:
        daemon.stop.set()
        if daemon._server is not None:
            daemon._server.close()
    assert report is not None and report.exit_code == 3
    assert "lacks asset.download, user.read" in report.error and key not in report.error
    assert immich.download_count == 0


def test_a_restore_into_photoprism_with_a_client_that_may_not_write_files_stops_before_upload(
        server: FakePhotoPrism, tmp_path: Path, target: Path) -> None:
    with FakeImmich(generation="v3") as source:
        ImmichUser(source).upload("A.jpg", b"a" * 300, taken=TAKEN)
        path = config(tmp_path, target, {"url": source.url, "api_key": source.add_key()})
        assert run_cli(path, "sync").returncode == 0
    client = server.add_client("photos albums")
    path.write_text(path.read_text() + (
        f'\n[servers.pp]\nurl = "{server.url}"\nclient_id = "{client.client_id}"\n'
        f'client_secret = "{client.secret}"\nretries = 0\n'))
    result = run_cli(path, "restore", "--to", "pp")
    out = result.stdout + result.stderr
    assert result.returncode == 3, out
    assert "restore: the scope 'photos albums' does not allow write files" in out
    assert not [r for r in server.requests if r.method == "POST" and "/upload" in r.path]
    assert client.secret not in out
