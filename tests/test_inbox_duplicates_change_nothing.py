"""The inbox touches nothing but what is new (issue 18 item 5), on both kinds of server.

A file whose content the server already holds (in its library, in its archive, or a copy of a
mirror folder) is not sent, is not added to the upload albums, and its photo's state on the
server does not change: adding an archived photo in review to an album makes PhotoPrism approve
it, and approving restores it from the archive (``api/album.go`` ``AddPhotosToAlbum``,
``Photo.Approve``). Only content this pass uploads goes into the configured albums."""

from __future__ import annotations

import hashlib
import io
import json
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from ppsync.config import load_config
from ppsync.inbox.report import UploadReport
from ppsync.inbox.uploader import run_upload
from ppsync.mirror.sync import run_sync
from ppsync.servers import open_server
from tests.conftest import ConfigFactory, toml_value
from tests.kinds import Library

ALBUM = "Phone"
# Requests that only look: logins and look-ups by SHA-1 (Immich asks with a POST).
LOOKS = ("/session", "/auth/login", "/oauth/token", "/bulk-upload-check")


def _upload(lib_config: ConfigFactory, inbox: Path, **values: Any) -> UploadReport:
    path = lib_config()
    values = {"enabled": True, "inbox": str(inbox), "settle_seconds": 0, "albums": [ALBUM],
              **values}
    lines = ["[upload]"] + [f"{k} = {json.dumps(v) if isinstance(v, list) else toml_value(v)}"
                            for k, v in values.items()]
    with path.open("a") as handle:
        handle.write("\n".join(lines) + "\n")
    return run_upload(load_config(path, {}))


def _put(inbox: Path, rel: str, content: bytes) -> None:
    (inbox / rel).parent.mkdir(parents=True, exist_ok=True)
    (inbox / rel).write_bytes(content)


def _writes(lib: Library) -> list[str]:
    """Requests since ``reset_counters`` that change something on the server (not uploads)."""
    fake: Any = cast(Any, lib).fake
    return [f"{r.method} {r.path}" for r in fake.requests_to("")
            if r.method != "GET" and not any(look in r.path for look in LOOKS)]


def _album_members(lib: Library) -> set[str]:
    """The photo keys in the upload album (empty when it does not exist)."""
    fake: Any = cast(Any, lib).fake
    if lib.kind == "immich":
        return {i for a in fake.lib.albums.values() if a.name == ALBUM for i in a.asset_ids}
    return {u for a in fake.albums() if a.title == ALBUM for u in a.photo_uids}


def _archived_photo(lib: Library, name: str, content: bytes) -> str:
    """An archived photo (on PhotoPrism one in review, quality 2: the kind an album adds
    approves, and so restores); returns its photo key."""
    fake: Any = cast(Any, lib).fake
    if lib.kind == "immich":
        key = lib.add(name, content)
        lib.archive(key)
        return key
    return str(fake.add_photo([(name, content)], archived=True, quality=2).uid)


def _is_archived(lib: Library, key: str) -> bool:
    fake: Any = cast(Any, lib).fake
    if lib.kind == "immich":
        return str(fake.lib.assets[key].visibility) == "archive"
    return bool(fake._photos[key].archived)


def _photo_of(lib: Library, content: bytes) -> str | None:
    """The photo key holding ``content`` on the server, or None."""
    fake: Any = cast(Any, lib).fake
    if lib.kind == "immich":
        return next((str(a.id) for a in fake.lib.assets.values() if a.content == content), None)
    found = fake.file_by_hash(hashlib.sha1(content).hexdigest())
    return str(found.photo_uid) if found is not None else None


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    path = tmp_path / "inbox"
    path.mkdir()
    return path


def test_a_copy_of_an_archived_photo_is_not_sent_not_in_the_album_and_stays_archived(
        lib: Library, lib_config: ConfigFactory, inbox: Path) -> None:
    archived = _archived_photo(lib, "2024/05/IMG_0001.jpg", b"archived photo")
    lib.album(ALBUM, [])  # the phone album exists already
    _put(inbox, "IMG_0001.jpg", b"archived photo")
    lib.reset_counters()
    report = _upload(lib_config, inbox)
    assert report.exit_code == 0 and report.sent == 0 and report.duplicates == 1, report
    assert _is_archived(lib, archived)
    assert archived not in _album_members(lib)
    assert _writes(lib) == []


def test_a_copy_of_a_library_photo_changes_nothing_on_the_server(
        lib: Library, lib_config: ConfigFactory, target: Path, inbox: Path) -> None:
    mirrored = lib.add("2024/05/IMG_0002.jpg", b"mirrored photo")
    assert run_sync(load_config(lib_config(), {})).exit_code == 0
    lib.add("2024/05/IMG_0003.jpg", b"only on the server")
    lib.album(ALBUM, [])
    # A copy of a mirror folder, and a file the mirror does not know but the server holds.
    _put(inbox, "copy/IMG_0002.jpg", (target / lib.path("2024/05/IMG_0002.jpg")).read_bytes())
    _put(inbox, "IMG_0003.jpg", b"only on the server")
    lib.reset_counters()
    report = _upload(lib_config, inbox)
    assert report.exit_code == 0 and report.sent == 0 and report.duplicates == 2, report
    assert _album_members(lib) == set()
    assert _writes(lib) == [], "a duplicate changed something on the server"
    assert mirrored  # still there, untouched


def test_a_new_photo_is_uploaded_into_the_album_and_a_second_pass_does_nothing(
        lib: Library, lib_config: ConfigFactory, inbox: Path) -> None:
    archived = _archived_photo(lib, "2024/05/IMG_0004.jpg", b"old, archived")
    lib.add("2024/05/IMG_0005.jpg", b"old, in the library")
    _put(inbox, "IMG_0004.jpg", b"old, archived")
    _put(inbox, "IMG_0005.jpg", b"old, in the library")
    _put(inbox, "IMG_0006.jpg", b"\xff\xd8\xff new from the phone")
    first = _upload(lib_config, inbox)
    assert first.exit_code == 0 and first.sent == 1 and first.confirmed == 1, first
    assert first.duplicates == 2
    new = _photo_of(lib, b"\xff\xd8\xff new from the phone")
    assert new is not None and _album_members(lib) == {new}
    assert _is_archived(lib, archived)

    lib.reset_counters()
    second = _upload(lib_config, inbox)
    assert second.exit_code == 0 and second.sent == 0 and second.known == 3, second
    assert _writes(lib) == []
    assert _album_members(lib) == {new} and _is_archived(lib, archived)


def test_import_folder_mode_brings_only_the_new_photo_into_the_album(
        lib: Library, lib_config: ConfigFactory, inbox: Path, tmp_path: Path) -> None:
    if lib.kind != "photoprism":
        pytest.skip("only PhotoPrism has an import folder")
    fake: Any = cast(Any, lib).fake
    import_dir = tmp_path / "import"
    import_dir.mkdir()
    fake.import_dir = str(import_dir)
    archived = _archived_photo(lib, "2024/05/IMG_0007.jpg", b"archived, again")
    lib.add("2024/05/IMG_0008.jpg", b"in the library, again")
    _put(inbox, "IMG_0007.jpg", b"archived, again")
    _put(inbox, "IMG_0008.jpg", b"in the library, again")
    _put(inbox, "IMG_0009.jpg", b"\xff\xd8\xff new, through the import folder")
    report = _upload(lib_config, inbox, mode="import-folder", import_path=str(import_dir))
    assert report.exit_code == 0 and report.sent == 1 and report.confirmed == 1, report
    new = _photo_of(lib, b"\xff\xd8\xff new, through the import folder")
    assert new is not None and _album_members(lib) == {new}
    assert _is_archived(lib, archived)


def test_content_that_arrives_between_the_look_up_and_the_send_joins_no_album(
        lib: Library, lib_config: ConfigFactory) -> None:
    """The server answers an upload with "I have it" (Immich ``200 duplicate``; PhotoPrism's
    import finds the file): the batch's albums get only what it created."""
    if lib.kind != "immich":
        pytest.skip("PhotoPrism's import adds such a file to the albums itself (#991)")
    old = lib.add("IMG_0010.jpg", b"arrived meanwhile")
    lib.archive(old)
    server = open_server(load_config(lib_config(), {}).server)
    server.open()
    try:
        batch = server.upload()
        new = io.BytesIO(b"\xff\xd8\xff brand new")
        assert batch.send("IMG_0010.jpg", lambda: nullcontext(io.BytesIO(b"arrived meanwhile")),
                          datetime.now(UTC)) == 1
        assert batch.send("IMG_0011.jpg", lambda: nullcontext(new), datetime.now(UTC)) == 1
        batch.commit([ALBUM])
    finally:
        server.close()
    created = _photo_of(lib, b"\xff\xd8\xff brand new")
    assert created is not None and _album_members(lib) == {created}
    assert _is_archived(lib, old)


def test_a_copy_of_a_photo_only_in_the_trash_comes_back_but_joins_no_album(
        lib: Library, lib_config: ConfigFactory, inbox: Path) -> None:
    """Documented (README "Uploading into Immich"): the trash purges, so the photo is brought
    back; it is still not a photo this upload brought, so the album does not get it."""
    if lib.kind != "immich":
        pytest.skip("PhotoPrism has no trash that purges")
    trashed = lib.add("IMG_0012.jpg", b"in the trash")
    lib.remove(trashed)
    _put(inbox, "IMG_0012.jpg", b"in the trash")
    report = _upload(lib_config, inbox)
    assert report.exit_code == 0 and report.sent == 0 and report.from_trash == 1, report
    fake: Any = cast(Any, lib).fake
    assert not fake.lib.assets[trashed].is_trashed
    assert _album_members(lib) == set()
