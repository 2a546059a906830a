"""OAuth2 client credentials and narrow scopes (issue 10, item 2).

PhotoPrism's recommended way in for a service is a client (`photoprism clients add --scope
"photos albums files"`): its id and secret are exchanged at POST /api/v1/oauth/token for an
access token that expires. A token with that scope may search, read photos and albums, look up
files and download with ?t=, but GET /api/v1/session answers 403 (§h). The fake enforces that."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ppsync.config import load_config
from ppsync.errors import ConfigError
from ppsync.service.daemon import Daemon
from tests.conftest import PASSWORD, ConfigFactory, mirrored_files, run_cli, write_config
from tests.fake_photoprism import FakeClient, FakePhotoPrism

NARROW = "photos albums files"


def photos(server: FakePhotoPrism, n: int = 4) -> dict[str, bytes]:
    for i in range(n):
        server.add_photo([(f"p/{i}.jpg", f"content {i}".encode())])
    return {f"p/{i}.jpg": f"content {i}".encode() for i in range(n)}


def client_config(make_config: ConfigFactory, client: FakeClient, **sections: Any) -> Path:
    """A config that logs in with ``client`` (no username, no password)."""
    path = make_config(**sections)
    text = path.read_text().replace('username = "admin"\n', "").replace(
        f'password = "{PASSWORD}"\n',
        f'client_id = "{client.client_id}"\nclient_secret = "{client.secret}"\n')
    path.write_text(text)
    return path


def session_reads(server: FakePhotoPrism) -> list[str]:
    return [r.method for r in server.requests if r.path.rstrip("/").endswith("/session")]


# --- config ------------------------------------------------------------------------------------


def test_client_credentials_exclude_password_and_token_reported_with_other_errors(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path / "c.toml", {
        "server": {"url": "http://127.0.0.1:2342", "client_id": "cs5gfen1bgxz7s9i",
                   "client_secret": "abc123", "password": "pw", "token": "t0ken"},
        "servers.fresh": {"url": "http://127.0.0.1:2343", "username": "admin",
                          "client_id": "cs5gfen1bgxz7s9i", "client_secret": "abc123"},
        "servers.other": {"url": "http://127.0.0.1:2344", "client_secret": "abc123"},
        "mirror": {"target": str(tmp_path), "workers": 0}})
    with pytest.raises(ConfigError) as raised:
        load_config(config, {})
    problems = raised.value.problems
    assert any(p.startswith("server.client_id:") and "password and token" in p
               for p in problems), problems
    assert any(p.startswith("servers.fresh.client_id:") and "username" in p for p in problems)
    assert "servers.other.client_id: required with client_secret" in problems
    assert any(p.startswith("mirror.workers") for p in problems)  # all problems at once
    assert not any("abc123" in p for p in problems)


@pytest.mark.parametrize("client_id, secret, message", [
    ("", "abc123", "server.client_id: required"),
    ("cs5gfen1bgxz7s9i", "", "server.client_secret: required with client_id"),
    ("admin", "abc123", "is not a PhotoPrism client ID"),
    ("cs5gfen1bgxz7s9i", "abc-123", "only letters and digits"),
])
def test_incomplete_or_malformed_client_credentials_are_config_errors(
    tmp_path: Path, client_id: str, secret: str, message: str
) -> None:
    config = write_config(tmp_path / "c.toml", {
        "server": {"url": "http://127.0.0.1:2342", "client_id": client_id,
                   "client_secret": secret},
        "mirror": {"target": str(tmp_path)}})
    result = run_cli(config, "check")
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert "abc-123" not in result.stderr


def test_client_secret_from_a_file_or_a_systemd_credential(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cr3tFromFile\n")
    base = {"url": "http://127.0.0.1:2342", "client_id": "cs5gfen1bgxz7s9i"}
    config = write_config(tmp_path / "c.toml", {
        "server": {**base, "client_secret_file": str(secret_file)},
        "mirror": {"target": str(tmp_path)}})
    settings = load_config(config, {})
    assert settings.server.client_secret.get_secret_value() == "s3cr3tFromFile"
    assert "s3cr3tFromFile" not in repr(settings)

    credentials = tmp_path / "creds"
    credentials.mkdir()
    (credentials / "client_secret").write_text("fromSystemd42")
    config = write_config(tmp_path / "d.toml", {"server": base,
                                                "mirror": {"target": str(tmp_path)}})
    settings = load_config(config, {"CREDENTIALS_DIRECTORY": str(credentials)})
    assert settings.server.client_secret.get_secret_value() == "fromSystemd42"


def test_outage_wait_must_be_a_duration(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", {
        "server": {"url": "http://127.0.0.1:2342", "password": "pw", "outage_wait": "soon"},
        "mirror": {"target": str(tmp_path)}})
    result = run_cli(config, "check")
    assert result.returncode == 2 and "server.outage_wait" in result.stderr


# --- the fake behaves like the real server -------------------------------------------------------


def test_fake_token_endpoint_reads_the_secret_from_basic_auth_or_a_form_but_not_json(
    server: FakePhotoPrism,
) -> None:
    client = server.add_client()
    url = f"{server.url}/api/v1/oauth/token"
    fields = {"grant_type": "client_credentials", "client_id": client.client_id,
              "client_secret": client.secret}
    assert httpx.post(url, json=fields).status_code == 401  # the JSON tag is misspelled
    form = httpx.post(url, data=fields)
    basic = httpx.post(url, auth=(client.client_id, client.secret))
    assert form.status_code == basic.status_code == 200
    body = form.json()
    assert set(body) >= {"access_token", "token_type", "expires_in", "scope", "client_name",
                         "session_id"}
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    api = f"{server.url}/api/v1"
    assert httpx.get(f"{api}/session", headers=bearer).status_code == 403
    assert httpx.get(f"{api}/photos", params={"count": 1}, headers=bearer).status_code == 200
    assert httpx.get(f"{api}/config", headers=bearer).json()["downloadToken"] == (
        server.download_token)


# --- mirroring with a client ---------------------------------------------------------------------


def test_narrow_client_mirrors_albums_and_sidecars_and_keeps_its_secret(
    server: FakePhotoPrism, target: Path, make_config: ConfigFactory
) -> None:
    files = photos(server)
    first = server.photos()[0]
    server.add_album("Holidays", photo_uids=[first.uid])
    client = server.add_client(NARROW)
    config = client_config(make_config, client, albums={"mode": "copy"},
                           metadata={"sidecars": "json"})
    result = run_cli(config, "-v", "sync")
    assert result.returncode == 0, result.stderr
    mirrored = mirrored_files(target)
    assert {k: v for k, v in mirrored.items() if k in files} == files
    assert any(k.startswith("Albums/Holidays/") for k in mirrored)
    assert sum(k.endswith(".ppsync.json") for k in mirrored) == len(files)
    assert server.token_requests == 1 and server.login_attempts == 0
    assert "GET" not in session_reads(server)  # 403 for this scope: never asked
    assert "DELETE" not in session_reads(server)  # a client's token is never logged out
    assert server.unauthorized == 0

    status = run_cli(config, "status", "--json")
    tokens = {r.headers.get("authorization", "").removeprefix("Bearer ") for r in server.requests}
    secrets = {client.secret, server.download_token, *tokens} - {""}
    output = result.stdout + result.stderr + status.stdout
    dump = "\n".join(sqlite3.connect(target / ".ppsync" / "state.db").iterdump())
    for secret in secrets:
        assert secret not in output
        assert secret not in dump


def test_narrow_client_on_a_new_server_reads_the_download_token_from_a_search(
    tmp_path: Path,
) -> None:
    # Since Oct 2025 a scope without "config" gets the public config: no download token.
    with FakePhotoPrism(password=PASSWORD, new_api=True) as server:
        files = photos(server, 3)
        client = server.add_client(NARROW)
        target = tmp_path / "m"
        target.mkdir()
        config = write_config(tmp_path / "c.toml", {
            "server": {"url": server.url, "client_id": client.client_id,
                       "client_secret": client.secret, "retry_backoff": 0.01},
            "mirror": {"target": str(target)}, "log": {"format": "json"}})
        result = run_cli(config, "sync")
        assert result.returncode == 0, result.stderr
        assert mirrored_files(target) == files


def test_restart_with_a_client_refreshes_the_download_token_without_get_session(
    server: FakePhotoPrism, target: Path, make_config: ConfigFactory
) -> None:
    files = photos(server, 3)
    config = client_config(make_config, server.add_client(NARROW))
    assert run_cli(config, "sync").returncode == 0
    for rel in files:
        (target / rel).unlink()
    server.restart(keep_sessions=True)  # sessions live in the database; tokens do not
    server.reset_counters()
    result = run_cli(config, "sync")
    assert result.returncode == 0, result.stderr
    assert mirrored_files(target) == files
    assert "GET" not in session_reads(server)


def test_wrong_client_secret_exits_3_after_one_token_request(
    server: FakePhotoPrism, make_config: ConfigFactory
) -> None:
    client = server.add_client(NARROW)
    config = client_config(make_config, client)
    configured, client.secret = client.secret, "0" * 32  # reset with `photoprism clients reset`
    result = run_cli(config, "sync")
    assert result.returncode == 3
    assert "wrong client_id or client_secret" in result.stderr
    assert server.token_requests == 1
    assert configured not in result.stderr + result.stdout


# --- check ---------------------------------------------------------------------------------------


def test_check_with_a_narrow_client_prints_the_scope(
    server: FakePhotoPrism, make_config: ConfigFactory
) -> None:
    photos(server, 1)
    config = client_config(make_config, server.add_client(NARROW),
                           albums={"mode": "symlink"}, metadata={"sidecars": "json"})
    result = run_cli(config, "check")
    assert result.returncode == 0, result.stderr
    assert "scope: photos albums files" in result.stdout
    assert "serves: sync, sidecars, albums" in result.stdout
    assert "cannot serve" not in result.stdout
    assert "GET" not in session_reads(server)


def test_check_says_which_configured_feature_the_scope_cannot_serve(
    server: FakePhotoPrism, make_config: ConfigFactory, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = client_config(make_config, server.add_client("photos"), albums={"mode": "copy"},
                           upload={"enabled": True, "inbox": str(inbox)})
    result = run_cli(config, "check")
    assert result.returncode == 3, result.stdout
    assert "scope: photos" in result.stdout
    assert "cannot serve albums: the scope 'photos' does not allow albums" in result.stdout
    assert "cannot serve upload: the scope 'photos' does not allow write files" in result.stdout


def test_check_says_upload_needs_the_user_of_a_narrow_client(
    server: FakePhotoPrism, make_config: ConfigFactory, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    client = server.add_client(NARROW)
    upload = {"enabled": True, "inbox": str(inbox)}
    result = run_cli(client_config(make_config, client, upload=upload), "check")
    assert result.returncode == 3
    assert "cannot serve upload" in result.stdout and "server.user_uid" in result.stdout
    config = client_config(make_config, client, upload=upload)
    config.write_text(config.read_text().replace(
        "[server]\n", f'[server]\nuser_uid = "{server.user_uid}"\n'))
    result = run_cli(config, "check")
    assert result.returncode == 0, result.stdout
    assert "serves: sync, upload" in result.stdout


def test_narrow_app_password_passes_check_and_syncs(
    server: FakePhotoPrism, target: Path, make_config: ConfigFactory
) -> None:
    files = photos(server, 2)
    token = server.add_app_password(NARROW)
    config = make_config()
    config.write_text(config.read_text().replace(f'password = "{PASSWORD}"',
                                                 f'token = "{token}"'))
    result = run_cli(config, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "scope: not readable by this token" in result.stdout
    assert "photos albums files" in result.stdout
    sync = run_cli(config, "sync")
    assert sync.returncode == 0, sync.stderr
    assert mirrored_files(target) == files
    assert not server.app_password_deleted


# --- upload --------------------------------------------------------------------------------------


def test_narrow_client_of_a_user_uploads(
    server: FakePhotoPrism, make_config: ConfigFactory, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "new.jpg").write_bytes(b"a new photo")
    config = client_config(make_config, server.add_client(NARROW),
                           upload={"enabled": True, "inbox": str(inbox), "settle_seconds": 0})
    config.write_text(config.read_text().replace(
        "[server]\n", f'[server]\nuser_uid = "{server.user_uid}"\n').replace(
        "[upload]\n", '[upload]\nalbums = ["Inbox"]\n'))
    result = run_cli(config, "upload")
    assert result.returncode == 0, result.stdout + result.stderr
    assert any(f.content == b"a new photo" for f in server.files(root="/"))
    album = next(a for a in server.albums() if a.title == "Inbox")
    assert len(album.photo_uids) == 1


def test_client_without_a_user_cannot_upload(
    server: FakePhotoPrism, make_config: ConfigFactory, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "new.jpg").write_bytes(b"a new photo")
    config = client_config(make_config, server.add_client("*", user=False),
                           upload={"enabled": True, "inbox": str(inbox), "settle_seconds": 0})
    result = run_cli(config, "upload")
    assert result.returncode == 3
    # named by the preflight before any work (it was learned at the first upload before)
    assert "a client that belongs to no user cannot upload" in result.stdout + result.stderr
    assert (inbox / "new.jpg").exists()


# --- renewal: a daemon's passes ------------------------------------------------------------------


def test_daemon_renews_the_token_before_it_expires_and_once_on_a_401(
    server: FakePhotoPrism, target: Path, make_config: ConfigFactory
) -> None:
    photos(server, 2)
    client = server.add_client(NARROW, expires_in=4)  # renewed 0.4 s before it runs out
    config = client_config(make_config, client, schedule={"interval": "1h"})
    daemon = Daemon(config, load_config(config, {}))
    try:
        assert daemon.run_pass() is not None
        assert server.token_requests == 1

        # The token's lifetime runs out between two passes: renewed before use, no 401.
        time.sleep(4.0)
        server.add_photo([("later/a.jpg", b"later a")])
        report = daemon.run_pass()
        assert report is not None and report.exit_code == 0, report
        assert (target / "later/a.jpg").read_bytes() == b"later a"
        assert server.token_requests == 2
        assert server.unauthorized == 0

        # The server drops the session early (restart without sessions): one new token.
        server.restart()
        server.add_photo([("later/b.jpg", b"later b")])
        report = daemon.run_pass()
        assert report is not None and report.exit_code == 0, report
        assert (target / "later/b.jpg").exists()
        assert server.token_requests == 3

        # The secret was reset on the server: one failed request, exit 3, then backing off.
        client.secret = "0" * 32
        server.restart()
        report = daemon.run_pass()
        assert report is not None and report.exit_code == 3
        assert "wrong client_id or client_secret" in report.error
        assert server.token_requests == 4
        assert daemon.run_pass() is None  # backing off: no new attempt yet
        assert server.token_requests == 4
        assert server.login_attempts == 0
        assert "DELETE" not in session_reads(server)
    finally:
        if daemon._server is not None:
            daemon._server.close()


def test_secret_and_tokens_stay_out_of_a_daemon_s_logs(
    server: FakePhotoPrism, target: Path, make_config: ConfigFactory, tmp_path: Path
) -> None:
    photos(server, 2)
    client = server.add_client(NARROW, expires_in=2)
    config = client_config(make_config, client, schedule={"interval": "1s"})
    proc = subprocess.Popen([sys.executable, "-m", "ppsync", "--config", str(config), "-v",
                             "daemon"], env={"PATH": os.environ.get("PATH", "")},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while server.token_requests < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert server.token_requests >= 3 and server.unauthorized == 0
    tokens = {r.headers.get("authorization", "").removeprefix("Bearer ") for r in server.requests}
    for secret in {client.secret, server.download_token, *tokens} - {""}:
        assert secret not in out + err
    assert "access token received" in err
