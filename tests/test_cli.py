"""The commands a user runs: sync, plan / --dry-run, status [--json], verify [--repair], check."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ConfigFactory, mirrored_files, run_cli
from tests.fake_photoprism import FakePhotoPrism


def test_plan_and_dry_run_change_nothing(server: FakePhotoPrism, target: Path,
                                         make_config: ConfigFactory) -> None:
    server.add_photo([("a.jpg", b"a")])
    server.add_photo([("b/c.jpg", b"c")])
    config = make_config()
    for args in (["plan"], ["sync", "--dry-run"]):
        result = run_cli(config, *args)
        assert result.returncode == 0, result.stderr
        assert "download a.jpg" in result.stdout.replace("  ", " ").replace("  ", " ")
        assert "b/c.jpg" in result.stdout
        assert mirrored_files(target) == {}
    assert server.download_count == 0


def test_status_shows_the_last_runs(server: FakePhotoPrism, target: Path,
                                    make_config: ConfigFactory) -> None:
    server.add_photo([("a.jpg", b"a")])
    config = make_config()
    assert run_cli(config, "status").returncode == 0
    assert run_cli(config, "sync").returncode == 0
    server.faults.corrupt_hash = server.add_photo([("bad.jpg", b"bad")]).files[0].sha1
    assert run_cli(config, "sync").returncode == 1
    text = run_cli(config, "status")
    assert text.returncode == 0 and "sync" in text.stdout and "mirror: 1 files" in text.stdout
    data = json.loads(run_cli(config, "status", "--json").stdout)
    assert data["mirror"]["files"] == 1
    newest, older = data["runs"][0], data["runs"][1]
    assert newest["exit_code"] == 1 and newest["failures"][0]["path"] == "bad.jpg"
    assert older["exit_code"] == 0 and older["downloaded"] == 1


def test_verify_finds_damage_and_repair_fixes_it(server: FakePhotoPrism, target: Path,
                                                 make_config: ConfigFactory) -> None:
    server.add_photo([("a.jpg", b"original a")])
    server.add_photo([("b.jpg", b"original b")])
    config = make_config()
    assert run_cli(config, "sync").returncode == 0
    assert run_cli(config, "verify").returncode == 0
    (target / "a.jpg").write_bytes(b"bit rot!!!")  # same size, different bytes
    (target / "b.jpg").unlink()
    result = run_cli(config, "verify")
    assert result.returncode == 1
    assert "damaged: a.jpg" in result.stdout and "missing: b.jpg" in result.stdout
    repaired = run_cli(config, "verify", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert mirrored_files(target) == {"a.jpg": b"original a", "b.jpg": b"original b"}
    kept = list((target / ".ppsync" / "damaged").rglob("a.jpg~*"))
    assert [p.read_bytes() for p in kept] == [b"bit rot!!!"]
    assert run_cli(config, "verify").returncode == 0


def test_check_reports_version_and_counts(server: FakePhotoPrism,
                                          make_config: ConfigFactory) -> None:
    server.add_photo([("a.jpg", b"a")])
    result = run_cli(make_config(), "check")
    assert result.returncode == 0, result.stderr
    assert "PhotoPrism" in result.stdout and "counts:" in result.stdout


def test_new_api_server_is_mirrored_too(tmp_path: Path) -> None:
    from tests.conftest import PASSWORD, write_config

    with FakePhotoPrism(password=PASSWORD, new_api=True) as server:
        server.add_photo([("2026/a.jpg", b"new server")])
        target = tmp_path / "m"
        target.mkdir()
        config = write_config(tmp_path / "c.toml", {
            "server": {"url": server.url, "password": PASSWORD},
            "mirror": {"target": str(target)}, "log": {"format": "json"}})
        result = run_cli(config, "sync")
        assert result.returncode == 0, result.stderr
        assert mirrored_files(target) == {"2026/a.jpg": b"new server"}
        wrong = write_config(tmp_path / "w.toml", {
            "server": {"url": server.url, "password": "nope"},
            "mirror": {"target": str(target)}})
        assert run_cli(wrong, "check").returncode == 3


def test_plan_prints_only_what_would_change_with_the_counts_sync_gives(
        server: FakePhotoPrism, target: Path, make_config: ConfigFactory) -> None:
    photos = [server.add_photo([(f"2024/IMG_{n}.jpg", b"x%d" % n)]) for n in range(5)]
    config = make_config()
    assert run_cli(config, "sync").returncode == 0
    server.reset_counters()
    synced = run_cli(config, "sync")
    assert "unchanged 5" in synced.stdout
    noop = run_cli(config, "plan")
    assert noop.returncode == 0, noop.stderr
    assert "check" not in noop.stdout and "IMG_" not in noop.stdout  # nothing would change
    assert "unchanged 5" in noop.stdout and "would downloaded" not in noop.stdout
    server.rename_file(photos[0].files[0].uid, "2024/renamed.jpg")
    server.add_photo([("2025/new.jpg", b"new")])
    (target / "2024/IMG_3.jpg").unlink()  # a local copy gone: sync would fetch it again
    plan = run_cli(config, "plan", "--full")  # a missing local copy shows in a full walk
    lines = [line for line in plan.stdout.splitlines() if not line.startswith(("plan run", "  "))]
    assert sorted(" ".join(line.split()) for line in lines) == [
        "download 2024/IMG_3.jpg (local copy missing or changed)", "download 2025/new.jpg",
        "move 2024/IMG_0.jpg -> 2024/renamed.jpg"]
    assert "would download 2 (" in plan.stdout and "move 1, unchanged 3" in plan.stdout
    assert server.download_count == 0
