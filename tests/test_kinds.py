"""The engine's invariants, for every kind of server (``server_kind`` and ``lib`` from
conftest: PhotoPrism and Immich through their loopback fakes, ``tests/kinds.py``): a byte-exact
mirror with the server's mtimes and a no-op second run; the removal guard; SIGKILL mid-download
and a Range resume; collisions; replaced originals kept aside; archived photos; change passes;
sidecars and album folders; refused credentials; and a new layout template that moves files
without downloading them again. The older suites (test_safety, test_sync_core, test_faults,
test_daemon, test_outage, ...) run against both kinds through the same fixtures."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from ppsync.config import Settings, load_config
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.models import RunReport
from ppsync.state import State
from tests.conftest import config_file, mirrored_files, run_cli, write_config
from tests.kinds import Library
from tests.test_faults import wait_for_partial


def settings(lib: Library, tmp_path: Path, target: Path, **sections: dict[str, Any]) -> Settings:
    return load_config(config_file(tmp_path / "ppsync.toml", lib.server_section(), target,
                                   sections), {})


def sync(lib: Library, tmp_path: Path, target: Path, *, changes: bool = False,
         **sections: dict[str, Any]) -> RunReport:
    return run_sync(settings(lib, tmp_path, target, **sections),
                    PassOptions(changes_only=changes))


def test_full_mirror_is_byte_exact_and_a_second_run_is_a_no_op(
        lib: Library, tmp_path: Path, target: Path) -> None:
    contents = {f"2024/IMG_{n}.jpg": f"photo {n} ".encode() * (n + 50) for n in range(5)}
    keys = {name: lib.add(name, body) for name, body in contents.items()}
    first = sync(lib, tmp_path, target)
    assert first.exit_code == 0 and first.walk_complete and first.downloaded == 5
    assert mirrored_files(target) == {lib.path(n): b for n, b in contents.items()}
    for name, key in keys.items():  # mtimes follow Last-Modified (whole seconds in HTTP dates)
        assert int((target / lib.path(name)).stat().st_mtime) == int(lib.modified(key))
    state = State.open(target / ".ppsync" / "state.db")
    try:
        assert {r.sha1 for r in state.active_records()} == {
            hashlib.sha1(b).hexdigest() for b in contents.values()}
    finally:
        state.close()
    before = lib.download_count()
    second = sync(lib, tmp_path, target)
    assert second.exit_code == 0 and second.downloaded == 0
    assert lib.download_count() == before


def test_the_guard_stops_mass_removals(lib: Library, tmp_path: Path, target: Path) -> None:
    keys = [lib.add(f"2024/G_{n}.jpg", f"g{n}".encode() * 40) for n in range(4)]
    assert sync(lib, tmp_path, target, mirror={"delete": "mirror"}).exit_code == 0
    for key in keys[:3]:
        lib.remove(key)
    report = sync(lib, tmp_path, target, mirror={"delete": "mirror", "max_delete": 2})
    assert report.exit_code == 4
    assert all((target / lib.path(f"2024/G_{n}.jpg")).exists() for n in range(4))


def test_a_change_pass_picks_up_a_new_upload(lib: Library, tmp_path: Path,
                                              target: Path) -> None:
    lib.add("2024/A.jpg", b"a" * 300)
    assert sync(lib, tmp_path, target).exit_code == 0
    lib.add("2024/B.jpg", b"b" * 300)
    report = sync(lib, tmp_path, target, changes=True)
    assert report.exit_code == 0 and report.command == "change" and report.downloaded == 1
    assert (target / lib.path("2024/B.jpg")).read_bytes() == b"b" * 300


def test_a_new_layout_moves_files_and_downloads_nothing(
        lib: Library, tmp_path: Path, target: Path) -> None:
    lib.add("2024/L.jpg", b"l" * 300)
    assert sync(lib, tmp_path, target).exit_code == 0
    before = lib.download_count()
    report = sync(lib, tmp_path, target,
                  mirror={"layout": "by-day/{year}-{month}-{day}/{id}.{ext}"})
    assert report.exit_code == 0 and report.downloaded == 0
    assert lib.download_count() == before
    files = mirrored_files(target)
    assert list(files.values()) == [b"l" * 300]
    assert next(iter(files)).startswith("by-day/2024-05-17/")


SAME_FOLDER = "{year}/{month}/{original_name}"  # PhotoPrism's own paths never collide


def test_colliding_names_get_a_suffix_from_the_key(lib: Library, tmp_path: Path,
                                                    target: Path) -> None:
    keys = [lib.add(f"{folder}/IMG_0001.JPG", folder.encode() * 50) for folder in ("a", "b")]
    layout = {"layout": SAME_FOLDER}
    assert sync(lib, tmp_path, target, mirror=layout).exit_code == 0
    low, high = sorted(lib.photo_key(k) for k in keys)  # the plain name: the lowest key
    tag = hashlib.sha1(high.encode()).hexdigest()[:8]
    files = mirrored_files(target)
    assert set(files) == {"2024/05/IMG_0001.JPG", f"2024/05/IMG_0001~{tag}.JPG"}
    assert files["2024/05/IMG_0001.JPG"] == (
        b"a" if lib.photo_key(keys[0]) == low else b"b") * 50
    later = lib.add("c/IMG_0001.JPG", b"c" * 50)  # a third one later: the first two stay
    report = sync(lib, tmp_path, target, mirror=layout)
    assert report.exit_code == 0 and report.downloaded == 1 and report.moved == 0
    later_tag = hashlib.sha1(lib.photo_key(later).encode()).hexdigest()[:8]
    assert mirrored_files(target)[f"2024/05/IMG_0001~{later_tag}.JPG"] == b"c" * 50


def test_a_replaced_original_is_downloaded_and_the_old_copy_kept_aside(
        lib: Library, tmp_path: Path, target: Path) -> None:
    key = lib.add("2024/E.jpg", b"old" * 100)
    assert sync(lib, tmp_path, target).exit_code == 0
    lib.replace(key, b"new" * 100)
    report = sync(lib, tmp_path, target)
    assert report.exit_code == 0 and report.downloaded == 1
    assert report.kept_aside == 1
    assert (target / lib.path("2024/E.jpg")).read_bytes() == b"new" * 100
    kept = list((target / ".ppsync" / "replaced").rglob("E.jpg~*"))
    assert [k.read_bytes() for k in kept] == [b"old" * 100]


def test_sigkill_mid_download_resumes_with_range(lib: Library, tmp_path: Path,
                                                 target: Path) -> None:
    content = os.urandom(3 * 1024 * 1024)
    lib.add("big/video.mp4", content)
    lib.set_download_rate(1024 * 1024)  # ~3 s for the file
    settings(lib, tmp_path, target)  # writes the config file
    config = tmp_path / "ppsync.toml"
    env = {"PATH": os.environ.get("PATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "ppsync", "--config", str(config), "sync"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial_dir = target / ".ppsync" / "partial"
    wait_for_partial(partial_dir, 512 * 1024)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    parts = list(partial_dir.glob("*.part"))
    assert parts, "the killed run left no partial file"
    held = parts[0].stat().st_size
    assert 0 < held < len(content)
    final = target / lib.path("big/video.mp4")
    assert not final.exists()  # nothing half-written at a final path

    lib.set_download_rate(0)
    lib.reset_counters()
    result = subprocess.run([sys.executable, "-m", "ppsync", "--config", str(config), "sync"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert final.read_bytes() == content
    ranges = lib.download_ranges()
    assert ranges and ranges[0].startswith(f"bytes={held}-")
    assert lib.bytes_served() <= len(content) - held + 1024
    assert not list(partial_dir.glob("*.part"))


def test_archived_photos_only_with_include_archived(lib: Library, tmp_path: Path,
                                                    target: Path) -> None:
    lib.add("2024/keep.jpg", b"k" * 100)
    old = lib.add("2024/old.jpg", b"o" * 100)
    lib.archive(old)
    assert sync(lib, tmp_path, target, mirror={"include_archived": False}).exit_code == 0
    assert set(mirrored_files(target)) == {lib.path("2024/keep.jpg")}
    report = sync(lib, tmp_path, target, mirror={"include_archived": True})
    assert report.exit_code == 0 and report.walk_complete
    assert (target / lib.path("2024/old.jpg")).read_bytes() == b"o" * 100


def test_sidecars_and_album_folders_follow_favourites_and_captions(
        lib: Library, tmp_path: Path, target: Path) -> None:
    key = lib.add("2024/S.jpg", b"s" * 100)
    lib.album("Trip", [key])
    sections: dict[str, Any] = {"metadata": {"sidecars": "json"}, "albums": {"mode": "symlink"}}
    assert sync(lib, tmp_path, target, **sections).exit_code == 0
    sidecar = target / (lib.path("2024/S.jpg") + ".ppsync.json")
    assert json.loads(sidecar.read_text())["favorite"] is False
    assert [e.name for e in (target / "Albums" / "Trip").iterdir()
            if not e.name.startswith(".")] == ["S.jpg"]
    lib.favourite(key)
    lib.describe(key, "the lake")
    report = sync(lib, tmp_path, target, changes=True, **sections)
    assert report.exit_code == 0
    doc = json.loads(sidecar.read_text())
    assert doc["favorite"] is True and doc["caption"] == "the lake"


def test_refused_credentials_are_exit_3_and_never_printed(
        lib: Library, tmp_path: Path, target: Path) -> None:
    lib.add("2024/A.jpg", b"a" * 100)
    secret = next(v for k, v in lib.refused_section().items() if k in ("password", "api_key"))
    path = write_config(tmp_path / "ppsync.toml", {
        "server": {**lib.refused_section(), "retries": 0},
        "mirror": {"target": str(target)}, "log": {"format": "json"}})
    result = run_cli(path, "sync")
    assert result.returncode == 3, result.stdout + result.stderr
    assert secret not in result.stdout + result.stderr
    assert secret.encode() not in (target / ".ppsync" / "state.db").read_bytes()
    assert mirrored_files(target) == {}
