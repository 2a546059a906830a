"""A photo in Immich's trash comes back rather than being lost or duplicated (issue 9, findings 4
and 5, and reviews 2 and 3): an inbox file whose twin (or whose mirrored copy) is in the trash
brings that asset back before the file is deleted, or stays, reported every pass, when the key
may not restore; a confirmed inbox file is kept once its photo is trashed; a photo purged for
good is uploaded again; a restore brings trashed photos back, counting assets, not originals.

Against the fake Immich of the v2.5.6 generation over real loopback HTTP, with the real command
line where a user would use it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.fake_immich import FakeImmich, ImmichUser
from tests.test_immich_upload_and_restore import (
    NO_DELETE,
    T0,
    _restore_config,
    _server,
    _upload_config,
    photos,
)


@pytest.fixture
def fake() -> Iterator[FakeImmich]:
    with FakeImmich(generation="v2.5") as f:
        yield f


def _trashed_twin(fake: FakeImmich, tmp_path: Path) -> tuple[str, Path]:
    user = ImmichUser(fake)
    content = b"precious-photo" * 40
    twin = user.upload("old.jpg", content, taken=T0)
    user.trash(twin)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "precious.jpg").write_bytes(content)
    return twin, inbox


def test_an_inbox_file_whose_twin_is_in_the_trash_is_brought_back_before_it_is_deleted(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    twin, inbox = _trashed_twin(fake, tmp_path)
    config = _upload_config(fake, tmp_path, target, inbox, after="delete")
    result = run_cli(config, "upload")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert not fake.lib.assets[twin].is_trashed, out  # back in the library: a real copy
    assert not (inbox / "precious.jpg").exists(), out
    assert len(fake.lib.assets) == 1
    assert "trash" in out, out


def test_an_inbox_file_whose_twin_is_in_the_trash_stays_when_the_key_may_not_restore(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    twin, inbox = _trashed_twin(fake, tmp_path)
    config = _upload_config(fake, tmp_path, target, inbox, after="delete",
                            permissions=NO_DELETE)
    for _ in range(2):  # every pass keeps it and says so, until someone acts
        result = run_cli(config, "upload")
        out = result.stdout + result.stderr
        assert result.returncode == 1, out
        assert (inbox / "precious.jpg").exists(), out
        assert "precious.jpg" in out and "trash" in out and "asset.delete" in out, out
    assert fake.lib.assets[twin].is_trashed and len(fake.lib.assets) == 1
    ImmichUser(fake).restore(twin)  # the user restores it in Immich: the next pass finishes
    result = run_cli(config, "upload")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (inbox / "precious.jpg").exists()


def test_a_confirmed_inbox_file_is_not_deleted_once_its_photo_is_trashed(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    """after = "delete" that could not finish (the file was busy) retries next pass; by then
    the user trashed the uploaded photo: the inbox file is the only lasting copy."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.jpg").write_bytes(b"a-photo" * 30)
    config = _upload_config(fake, tmp_path, target, inbox)
    assert run_cli(config, "upload").returncode == 0
    (asset,) = fake.lib.assets.values()
    ImmichUser(fake).trash(asset.id)
    config.write_text(config.read_text().replace('after = "keep"', 'after = "delete"'))
    result = run_cli(config, "upload")
    assert (inbox / "a.jpg").exists(), result.stdout + result.stderr


def test_restore_brings_back_a_photo_that_is_in_the_trash(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(fake)
    _keep, oops = photos(user, 2)
    user.favourite(oops)
    config = _restore_config(fake, tmp_path, target, metadata={"sidecars": "json"})
    assert run_cli(config, "sync").returncode == 0
    user.trash(oops)  # deleted by mistake: restore it from the mirror
    dry = run_cli(config, "restore", "--to", "back", "--dry-run")
    assert dry.returncode == 0 and fake.lib.assets[oops].is_trashed, dry.stdout + dry.stderr
    assert "IMG_1.jpg" in dry.stdout and "trash" in dry.stdout, dry.stdout
    result = run_cli(config, "restore", "--to", "back")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert not fake.lib.assets[oops].is_trashed, out
    assert "from the trash 1" in out, out
    assert len(fake.lib.assets) == 2 and fake.lib.assets[oops].is_favorite


def test_restore_reports_a_trashed_photo_it_may_not_bring_back(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(fake)
    _keep, oops = photos(user, 2)
    config = _restore_config(fake, tmp_path, target, permissions=NO_DELETE)
    assert run_cli(config, "sync").returncode == 0
    user.trash(oops)
    result = run_cli(config, "restore", "--to", "back")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "IMG_1.jpg" in out and "trash" in out and "asset.delete" in out, out
    assert fake.lib.assets[oops].is_trashed and len(fake.lib.assets) == 2


def test_inbox_file_known_to_the_mirror_but_trashed_on_immich_is_brought_back(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:

    user = ImmichUser(fake)
    content = b"precious-photo" * 40
    asset = user.upload("old.jpg", content, taken=T0)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = _upload_config(fake, tmp_path, target, inbox, after="delete")
    assert run_cli(config, "sync").returncode == 0
    user.trash(asset)  # deleted on the server by mistake; the user drops the file again
    (inbox / "precious.jpg").write_bytes(content)
    result = run_cli(config, "upload")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert not fake.lib.assets[asset].is_trashed, out  # back in the library
    assert not (inbox / "precious.jpg").exists(), out  # only now: the library has it again
    assert "brought back from the trash 1" in result.stdout, out
    assert len(fake.lib.assets) == 1


def test_inbox_file_uploaded_before_then_trashed_is_brought_back(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    content = b"a-photo" * 30
    (inbox / "a.jpg").write_bytes(content)
    config = _upload_config(fake, tmp_path, target, inbox, after="delete")
    assert run_cli(config, "upload").returncode == 0
    assert not (inbox / "a.jpg").exists()
    (asset,) = fake.lib.assets.values()
    ImmichUser(fake).trash(asset.id)
    (inbox / "copy-of-a.jpg").write_bytes(content)  # dropped again under another name
    result = run_cli(config, "upload")
    out = result.stdout + result.stderr
    assert result.returncode == 0 and "brought back from the trash 1" in result.stdout, out
    assert not fake.lib.assets[asset.id].is_trashed, out
    assert not (inbox / "copy-of-a.jpg").exists(), out  # only now: the library has it again
    assert len(fake.lib.assets) == 1


def test_an_inbox_file_the_mirror_knows_stays_a_failure_while_its_photo_cannot_come_back(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    """A key that may not restore from the trash: reported every pass (exit 1), the file kept,
    never a final duplicate; once the user restores the photo, the next pass finishes."""

    user = ImmichUser(fake)
    content = b"precious-photo" * 40
    asset = user.upload("old.jpg", content, taken=T0)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = _upload_config(fake, tmp_path, target, inbox, after="delete",
                            permissions=NO_DELETE)
    assert run_cli(config, "sync").returncode == 0
    user.trash(asset)
    (inbox / "precious.jpg").write_bytes(content)
    for _ in range(2):
        result = run_cli(config, "upload")
        out = result.stdout + result.stderr
        assert result.returncode == 1, out
        assert "precious.jpg" in out and "trash" in out and "asset.delete" in out, out
        assert (inbox / "precious.jpg").exists(), out
    assert fake.lib.assets[asset].is_trashed
    user.restore(asset)
    result = run_cli(config, "upload")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (inbox / "precious.jpg").exists()


def test_an_inbox_file_the_mirror_knows_and_the_library_has_asks_nothing_of_the_trash(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:

    user = ImmichUser(fake)
    content = b"precious-photo" * 40
    user.upload("old.jpg", content, taken=T0)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = _upload_config(fake, tmp_path, target, inbox, after="delete")
    assert run_cli(config, "sync").returncode == 0
    (inbox / "precious.jpg").write_bytes(content)
    fake.reset_counters()
    result = run_cli(config, "upload")
    assert result.returncode == 0 and "duplicates skipped 1" in result.stdout, result.stdout
    assert "brought back from the trash 0" in result.stdout
    assert not (inbox / "precious.jpg").exists()
    assert fake.requests_to("/trash/restore/assets", "POST") == []


def test_restore_counts_the_assets_it_brings_back_from_the_trash_not_the_originals(
        server: Any, make_config: Any, fake: FakeImmich, target: Path) -> None:
    """Two mirrored files of one content (a PhotoPrism library keeps both) are one Immich
    asset: brought back from the trash once, counted once."""
    from tests.conftest import mirrored_files

    content = b"the-same-photo" * 40
    server.add_photo([("2024/05/A.jpg", content)])
    server.add_photo([("2024/05/copy/A.jpg", content)])
    config = make_config(**{"servers.back": _server(fake)})
    assert run_cli(config, "sync").returncode == 0
    assert sorted(mirrored_files(target)) == ["2024/05/A.jpg", "2024/05/copy/A.jpg"]
    assert run_cli(config, "restore", "--to", "back").returncode == 0
    (asset,) = fake.lib.assets.values()
    ImmichUser(fake).trash(asset.id)
    dry = run_cli(config, "restore", "--to", "back", "--dry-run")
    assert "would be brought back from the trash 1" in dry.stdout, dry.stdout
    result = run_cli(config, "restore", "--to", "back")
    out = result.stdout + result.stderr
    assert result.returncode == 0 and "brought back from the trash 1" in result.stdout, out
    assert not fake.lib.assets[asset.id].is_trashed and len(fake.lib.assets) == 1


def test_inbox_file_whose_photo_was_purged_from_immich_is_uploaded_again(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:

    user = ImmichUser(fake)
    content = b"precious-photo" * 40
    asset = user.upload("old.jpg", content, taken=T0)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = _upload_config(fake, tmp_path, target, inbox, after="delete")
    assert run_cli(config, "sync").returncode == 0  # mirrored (delete = "keep" by default)
    user.trash(asset)
    user.purge(asset)  # deleted for good: emptied from the trash
    (inbox / "precious.jpg").write_bytes(content)  # "I want this back in my library"
    result = run_cli(config, "upload")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    on_server = [a for a in fake.lib.assets.values() if not a.is_trashed]
    assert len(on_server) == 1 and on_server[0].id != asset, out
    assert not (inbox / "precious.jpg").exists(), out  # sent, confirmed, then deleted
    again = run_cli(config, "upload")  # nothing left to do
    assert again.returncode == 0 and len(fake.lib.assets) == 1, again.stdout + again.stderr
