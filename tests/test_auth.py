"""Auth and secrets: session expiry, server restarts, app passwords, wrong passwords, and no
password or token in logs, reports or state files (invariant 5)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from ppsync.models import RunReport
from tests.conftest import PASSWORD, ConfigFactory, mirrored_files, run_cli
from tests.fake_photoprism import FakePhotoPrism, make_app_password

Sync = Callable[..., RunReport]


def photos(server: FakePhotoPrism, n: int = 8) -> dict[str, bytes]:
    for i in range(n):
        server.add_photo([(f"{i}.jpg", f"content {i}".encode())])
    return {f"{i}.jpg": f"content {i}".encode() for i in range(n)}


def test_session_expiring_mid_run_is_renewed_once(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    files = photos(server, 12)
    server.faults.expire_sessions_after = 3
    report = sync(mirror={"page_size": 2})
    assert report.exit_code == 0, report
    assert mirrored_files(target) == files
    assert server.login_attempts >= 2


def test_server_restart_forgetting_download_tokens(
    server: FakePhotoPrism, target: Path, sync: Sync
) -> None:
    files = photos(server)
    assert sync().exit_code == 0
    for rel in files:
        (target / rel).unlink()
    server.restart()  # sessions and download tokens are forgotten
    report = sync()
    assert report.exit_code == 0, report
    assert mirrored_files(target) == files


def test_download_token_refreshed_after_restart_mid_run(
    server: FakePhotoPrism, target: Path, make_config: ConfigFactory
) -> None:
    from ppsync.config import load_config
    from ppsync.mirror.downloader import PartFile
    from ppsync.servers.photoprism.client import PhotoPrismClient

    files = photos(server, 1)
    settings = load_config(make_config(), {})
    client = PhotoPrismClient(settings.server)
    client.login()
    server.restart()
    sha1 = server.files(root="/")[0].sha1
    part = PartFile(target / "x.part", len(files["0.jpg"]))
    client.download(sha1, part)
    assert part.finish()[1] == sha1
    client.close()


def test_app_password_is_used_as_bearer_and_never_logged_out(tmp_path: Path) -> None:
    from tests.conftest import write_config

    app_password = make_app_password()
    with FakePhotoPrism(password=PASSWORD, app_passwords=[app_password]) as server:
        files = photos(server, 3)
        target = tmp_path / "m"
        target.mkdir()
        config = write_config(tmp_path / "c.toml", {
            "server": {"url": server.url, "token": app_password, "retry_backoff": 0.01},
            "mirror": {"target": str(target)}, "log": {"format": "json", "level": "debug"}})
        result = run_cli(config, "sync")
        assert result.returncode == 0, result.stderr
        assert mirrored_files(target) == files
        assert server.login_attempts == 0
        assert not any(r.method == "DELETE" for r in server.requests)
        assert not server.app_password_deleted
        assert app_password not in result.stderr + result.stdout


def test_wrong_password_exits_3_after_one_login_attempt(
    server: FakePhotoPrism, make_config: ConfigFactory
) -> None:
    photos(server, 1)
    config = make_config(server={"password": "wrong-password"})
    result = run_cli(config, "sync")
    assert result.returncode == 3
    assert "wrong username or password" in result.stderr
    assert "Traceback" not in result.stderr
    assert server.login_attempts <= 2
    assert "wrong-password" not in result.stderr + result.stdout


def test_login_rate_limit_is_not_retried(server: FakePhotoPrism,
                                         make_config: ConfigFactory) -> None:
    config = make_config(server={"password": "wrong"})
    for _ in range(12):
        run_cli(config, "check")
    attempts = server.login_attempts
    result = run_cli(config, "check")
    assert result.returncode == 3
    assert "rate limit" in result.stderr
    assert server.login_attempts == attempts + 1


def test_no_secret_in_debug_logs_reports_or_state(
    server: FakePhotoPrism, target: Path, make_config: ConfigFactory
) -> None:
    photos(server, 4)
    server.faults.expire_sessions_after = 5
    config = make_config(log={"level": "debug", "format": "json"}, mirror={"page_size": 2})
    sync_result = run_cli(config, "-v", "sync")
    assert sync_result.returncode == 0, sync_result.stderr
    server.restart()
    for rel in ("0.jpg", "1.jpg"):
        (target / rel).unlink()
    again = run_cli(config, "sync")
    status = run_cli(config, "status", "--json")
    output = sync_result.stdout + sync_result.stderr + again.stdout + again.stderr + status.stdout
    assert '"event"' in sync_result.stderr  # debug JSON lines were written
    sent = [r.headers.get("authorization", "").removeprefix("Bearer ") for r in server.requests]
    download_tokens = [r.query.get("t", "") for r in server.requests if "/dl/" in r.path]
    secrets = {PASSWORD, server.download_token, *sent, *download_tokens} - {""}
    assert len(secrets) >= 3  # the password, at least one session token, the download token
    dump = "\n".join(sqlite3.connect(target / ".ppsync" / "state.db").iterdump())
    for secret in secrets:
        assert secret not in output
        assert secret not in dump
    assert "t=" not in output or "t=[redacted]" in output
