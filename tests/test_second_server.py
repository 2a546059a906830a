"""The engine driven through the server interface by a second, in-memory kind of server
(``tests/memory_server.py``): mirror, verify by SHA-1 without sizes, moves, guarded removals,
change passes, album folders, sidecars and the upload inbox, with nothing PhotoPrism-specific."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ppsync.config import Settings, load_config
from ppsync.inbox.uploader import run_upload
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.models import RunReport
from tests.conftest import write_config
from tests.memory_server import MemoryServer


@pytest.fixture
def memory() -> MemoryServer:
    return MemoryServer()


def settings_for(tmp_path: Path, target: Path, **sections: dict[str, Any]) -> Settings:
    merged: dict[str, dict[str, Any]] = {
        "server": {"url": "http://127.0.0.1:9", "password": "unused"},  # never contacted
        "mirror": {"target": str(target), "workers": 2, "delete": "trash"},
        "log": {"level": "debug", "format": "json"},
    }
    for name, values in sections.items():
        merged.setdefault(name, {}).update(values)
    albums = merged.get("upload", {}).pop("albums", None)
    path = write_config(tmp_path / "ppsync.toml", merged)
    if albums is not None:  # a list: the shared writer knows only scalars
        path.write_text(path.read_text().replace(
            "[upload]\n", f"[upload]\nalbums = {json.dumps(albums)}\n"))
    return load_config(path, {})


def sync(memory: MemoryServer, settings: Settings, *, changes: bool = False) -> RunReport:
    report = run_sync(settings, PassOptions(server=memory, changes_only=changes))
    assert memory.is_open  # a server handed in is the caller's to close
    return report


def test_mirror_moves_and_removals_through_the_interface(
    memory: MemoryServer, tmp_path: Path, target: Path
) -> None:
    a = memory.add_photo(("2024/a.jpg", b"a" * 100), ("2024/a.xmp", b"<x/>"))
    b = memory.add_photo(("2024/b.jpg", b"b" * 50))
    memory.add_photo(("2025/c.jpg", b"c" * 10))
    settings = settings_for(tmp_path, target)

    first = sync(memory, settings)
    assert first.exit_code == 0 and first.downloaded == 4 and first.walk_complete
    assert (target / "2024/a.jpg").read_bytes() == b"a" * 100  # no size listed: SHA-1 decides

    again = sync(memory, settings)
    assert again.exit_code == 0 and again.downloaded == 0 and again.unchanged == 4

    b.files[0].name = "2024/renamed-b.jpg"
    memory.tick(b)
    del memory.photos[a.key]
    moved = sync(memory, settings)
    assert moved.exit_code == 0 and moved.moved == 1 and moved.trashed == 2
    assert (target / "2024/renamed-b.jpg").exists() and not (target / "2024/a.jpg").exists()


def test_change_pass_lists_only_what_changed(
    memory: MemoryServer, tmp_path: Path, target: Path
) -> None:
    memory.add_photo(("a.jpg", b"a1"))
    settings = settings_for(tmp_path, target)
    assert sync(memory, settings).exit_code == 0
    time.sleep(0.01)
    memory.add_photo(("new/b.jpg", b"b1"))
    change = sync(memory, settings, changes=True)
    assert change.command == "change" and change.exit_code == 0
    assert change.downloaded == 1 and (target / "new/b.jpg").read_bytes() == b"b1"
    assert change.trashed == change.deleted == 0  # a change pass never removes


def test_albums_and_sidecars_from_neutral_data(
    memory: MemoryServer, tmp_path: Path, target: Path
) -> None:
    a = memory.add_photo(("trip/a.jpg", b"a1"), title="Beach")
    b = memory.add_photo(("trip/b.jpg", b"b1"))
    memory.add_album("Trip", a, b)
    memory.add_album("Trip", b)  # a second album of the same title: its own folder
    settings = settings_for(tmp_path, target, albums={"mode": "copy"},
                            metadata={"sidecars": "json"})
    report = sync(memory, settings)
    assert report.exit_code == 0, report.failures
    folders = sorted(p.name for p in (target / "Albums").iterdir())
    assert len(folders) == 2 and all(f.startswith("Trip (album-") for f in folders)
    manifests = [json.loads((target / "Albums" / f / ".album.json").read_text())
                 for f in folders]
    assert sorted(len(m["members"]) for m in manifests) == [1, 2]
    document = json.loads((target / "trip/a.jpg.ppsync.json").read_text())
    assert document["photo_uid"] == a.key and document["title"] == "Beach"
    assert document["files"][0]["sha1"] == a.files[0].sha1


def test_upload_inbox_through_the_interface(
    memory: MemoryServer, tmp_path: Path, target: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "new.jpg").write_bytes(b"fresh bytes")
    (inbox / "dup.jpg").write_bytes(b"already there")
    memory.add_photo(("old/dup.jpg", b"already there"))
    settings = settings_for(tmp_path, target, upload={
        "enabled": True, "inbox": str(inbox), "settle_seconds": 0, "albums": ["Inbox"]})
    report = run_upload(settings, memory)
    assert report.exit_code == 0, report
    assert report.confirmed == 1 and report.duplicates == 1
    assert memory.find_photos([hashlib.sha1(b"fresh bytes").hexdigest()])
    albums = [a for a in memory.album_list.values() if a.title == "Inbox"]
    fresh = memory.find_photos([hashlib.sha1(b"fresh bytes").hexdigest()])
    # Only what the upload brought: the duplicate is left as it is (README "Uploading new
    # photos", step 3).
    assert len(albums) == 1 and albums[0].members == list(fresh.values())


def test_a_server_without_a_change_feed_gets_full_walks(
    memory: MemoryServer, tmp_path: Path, target: Path
) -> None:
    memory.capabilities = replace(memory.capabilities, change_feed=False)
    gone = memory.add_photo(("a.jpg", b"a1"))
    memory.add_photo(("b.jpg", b"b1"))
    memory.add_photo(("c.jpg", b"c1"))
    settings = settings_for(tmp_path, target)
    assert sync(memory, settings).exit_code == 0
    del memory.photos[gone.key]
    report = sync(memory, settings, changes=True)
    assert report.command == "sync" and report.walk_complete and report.trashed == 1
