"""Nothing silently left behind (issue 18, item 2): an archived photo is still the user's photo.

* Both kinds keep archived photos by default, through archiving and restoring, under every
  deletion policy.
* A migration (a library with archived photos restored into a server of the other kind, the
  mirror pointed at it with ``--rebind``) loses nothing, and later full walks remove nothing,
  even when the new server's listing leaves out what the old one listed: the re-bind keeps
  those files (said by ``plan --rebind``, the summary and ``status``), and a file of the same
  content the server lists later takes its kept copy back.
* The archived state is kept too: PhotoPrism archives and restores without moving a photo's
  ``UpdatedAt`` (photoprism-api.md §f, ``Photo.Archive``), yet the next full walk (and a change
  pass, which then walks everything) brings the sidecar's and the album manifest's ``archived``
  up to date, and a restore from the mirror then archives exactly what the user archived.

Sequences of passes in one process against the loopback fakes, with a real state and real files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ppsync.config import load_config
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.models import RunReport
from ppsync.restore.run import run_restore
from tests.conftest import mirrored_files, run_cli
from tests.fake_immich import FakeImmich
from tests.kinds import KINDS, Library, library
from tests.photo_views import PhotoView, immich_view, photoprism_view
from tests.test_identity import config, fill, new_port, sync

A, B, C = "2024/A.jpg", "2024/B.jpg", "2023/C.jpg"
PHOTOS = {A: b"a" * 300, B: b"b" * 400, C: b"c" * 500}
DIRECTIONS = [("immich", "photoprism"), ("photoprism", "immich")]
EXPORT: dict[str, dict[str, Any]] = {"metadata": {"sidecars": "json"},
                                     "albums": {"mode": "symlink"}}


def originals(target: Path) -> set[bytes]:
    """The contents of the mirrored originals (no sidecar, album entry or manifest)."""
    return {body for rel, body in mirrored_files(target).items()
            if not rel.endswith((".ppsync.json", ".album.json")) and not rel.startswith("Albums/")}


def sidecar_of(target: Path, body: bytes) -> dict[str, Any]:
    """The sidecar of the mirrored original holding ``body``, wherever the layout put it."""
    rel = next(r for r, b in mirrored_files(target).items()
               if b == body and not r.startswith("Albums/"))
    data: dict[str, Any] = json.loads((target / (rel + ".ppsync.json")).read_text())
    return data


def members(target: Path, album: str) -> dict[str, dict[str, Any]]:
    """The album manifest's members, by the SHA-1 of their mirrored file."""
    data = json.loads((target / "Albums" / album / ".album.json").read_text())
    return {m["sha1"]: m for m in data["members"]}


def sha1(body: bytes) -> str:
    return hashlib.sha1(body).hexdigest()


def view(lib: Library) -> dict[frozenset[str], PhotoView]:
    fake: Any = lib.fake  # type: ignore[attr-defined]
    return immich_view(fake) if isinstance(fake, FakeImmich) else photoprism_view(fake)


def archived_on(lib: Library) -> set[bytes]:
    """The contents of the photos ``lib`` holds archived."""
    by_sha1 = {sha1(b): b for b in PHOTOS.values()}
    return {by_sha1[next(iter(files))] for files, photo in view(lib).items() if photo.archived}


def clean(report: RunReport) -> None:
    assert report.exit_code == 0 and not report.safety_stop, report
    assert report.trashed == report.deleted == report.forgotten == 0, report


# --- both kinds keep the archive by default -----------------------------------------------------


@pytest.mark.parametrize("delete", ["trash", "mirror"])
def test_both_kinds_keep_archived_photos_by_default(
        lib: Library, tmp_path: Path, target: Path, delete: str) -> None:
    keys = fill(lib, PHOTOS)
    lib.archive(keys[A])  # archived before the first pass
    policy = {"delete": delete, "max_delete": 0}  # a removal would be a safety stop too
    first = sync(lib, tmp_path, target, mirror=policy)
    clean(first)
    assert first.listed == 3 and originals(target) == set(PHOTOS.values())
    lib.archive(keys[B])  # archived after it
    clean(sync(lib, tmp_path, target, mirror=policy))
    lib.unarchive(keys[A])
    again = sync(lib, tmp_path, target, mirror=policy)
    clean(again)
    assert again.downloaded == 0 and originals(target) == set(PHOTOS.values())


# --- a migration, then a re-bind and full walks -------------------------------------------------


@pytest.mark.parametrize(("old_kind", "new_kind"), DIRECTIONS)
@pytest.mark.parametrize("delete", ["trash", "mirror"])
def test_a_migrated_library_keeps_its_archived_photos_through_rebind_and_full_walks(
        old_kind: str, new_kind: str, delete: str, tmp_path: Path, target: Path) -> None:
    with library(old_kind) as old, library(new_kind) as new:
        keys = fill(old, PHOTOS)
        old.archive(keys[A])
        old.album("Trips", [keys[A], keys[B]])
        mirror = {"delete": delete}
        clean(sync(old, tmp_path, target, mirror=mirror, **EXPORT))
        assert originals(target) == set(PHOTOS.values())
        assert sidecar_of(target, PHOTOS[A])["archived"] is True

        # The README's migration steps: restore into the new server, then --rebind to it.
        path = config(old, tmp_path, target, mirror=mirror, **EXPORT,
                      **{"servers.to": new.server_section()})
        restored = run_restore(load_config(path, {}), "to")
        assert restored.exit_code == 0, restored
        assert archived_on(new) == {PHOTOS[A]}  # archived there too
        rebound = sync(new, tmp_path, target, rebind=True, mirror=mirror, **EXPORT)
        clean(rebound)
        assert rebound.downloaded == 0 and rebound.rekeyed == 3 and rebound.not_on_server == 0

        for _ in range(2):  # the next full walks remove nothing
            walked = sync(new, tmp_path, target, mirror=mirror, **EXPORT)
            clean(walked)
            assert walked.downloaded == 0 and walked.listed == 3
        assert originals(target) == set(PHOTOS.values())
        assert sidecar_of(target, PHOTOS[A])["archived"] is True


@pytest.mark.parametrize(("old_kind", "new_kind"), DIRECTIONS)
def test_a_rebind_keeps_what_the_new_servers_listing_leaves_out_and_takes_it_back_later(
        old_kind: str, new_kind: str, tmp_path: Path, target: Path) -> None:
    """The new server lists less than the old one did (here its archive is left out): what it
    does not list is kept, never removed, said by ``plan --rebind``, the summary and ``status``,
    and taken back (re-keyed, not downloaded) once the server lists it."""
    with library(old_kind) as old, library(new_kind) as new:
        keys = fill(old, PHOTOS)
        old.archive(keys[A])
        clean(sync(old, tmp_path, target, **EXPORT))
        path = config(old, tmp_path, target, **EXPORT, **{"servers.to": new.server_section()})
        assert run_restore(load_config(path, {}), "to").exit_code == 0
        assert archived_on(new) == {PHOTOS[A]}

        narrow = {"delete": "mirror", "include_archived": False, "max_delete": 0}
        new_config = config(new, tmp_path, target, mirror=narrow, **EXPORT)
        plan = run_cli(new_config, "plan", "--rebind")
        assert plan.returncode == 0, plan.stderr
        assert "not on the new server: 1, would be kept in the mirror" in plan.stdout
        assert "WARNING: 1 files the mirror holds are not listed by the new server" \
            in plan.stdout and "include_archived" in plan.stdout
        done = run_cli(new_config, "sync", "--rebind")
        assert done.returncode == 0 and "not on the new server: 1, kept in the mirror" \
            in done.stdout, done.stdout + done.stderr
        for _ in range(2):  # full walks under delete = "mirror": nothing removed
            walked = sync(new, tmp_path, target, mirror=narrow, **EXPORT)
            clean(walked)
            assert walked.kept_from_before == 1 and walked.downloaded == 0
        assert originals(target) == set(PHOTOS.values())
        assert sidecar_of(target, PHOTOS[A])["archived"] is True  # its sidecar stays with it
        status = run_cli(new_config, "status")
        assert "1 kept from an earlier server" in status.stdout
        verify = run_cli(new_config, "verify")  # the kept file is hashed like any other
        assert verify.returncode == 0 and "3 ok" in verify.stdout.replace(",", ""), verify.stdout

        # The archive walked again: the kept copy is the server's again, nothing downloaded,
        # and from then on it follows the deletion policy like any mirrored file.
        wide = {"delete": "mirror", "include_archived": True}
        back = sync(new, tmp_path, target, mirror=wide, **EXPORT)
        clean(back)
        assert back.rekeyed == 1 and back.downloaded == 0 and back.kept_from_before == 0
        assert originals(target) == set(PHOTOS.values())
        remove(new, fill_keys(new)[A])
        gone = sync(new, tmp_path, target, mirror=wide, **EXPORT)
        assert gone.exit_code == 0 and gone.deleted == 1
        assert originals(target) == {PHOTOS[B], PHOTOS[C]}


def remove(lib: Library, key: str) -> None:
    """The photo of file ``key`` leaves the library (a restored one: not added through ``lib``)."""
    fake: Any = lib.fake  # type: ignore[attr-defined]
    if isinstance(fake, FakeImmich):
        lib.remove(key)
    else:
        fake.delete_photo(photo_of(lib, key))


def photo_of(lib: Library, key: str) -> str:
    fake: Any = lib.fake  # type: ignore[attr-defined]
    return next(f.photo_uid for f in fake.files("/", include_archived=True) if f.uid == key)


def fill_keys(lib: Library) -> dict[str, str]:
    """The file keys of the photos ``lib`` holds, by their name in PHOTOS (by content)."""
    by_sha1 = {sha1(b): n for n, b in PHOTOS.items()}
    fake: Any = lib.fake  # type: ignore[attr-defined]
    if isinstance(fake, FakeImmich):
        with fake.lib.lock:
            return {by_sha1[sha1(a.content)]: a.id for a in fake.lib.assets.values()
                    if sha1(a.content) in by_sha1}
    return {by_sha1[f.sha1]: f.uid for f in fake.files("/", include_archived=True)
            if f.sha1 in by_sha1}


# --- the archived state, kept up to date --------------------------------------------------------


def test_archiving_and_restoring_reach_the_sidecar_and_the_album_manifest(
        lib: Library, tmp_path: Path, target: Path) -> None:
    keys = fill(lib, PHOTOS)
    lib.album("Trips", [keys[A], keys[B]])
    fake: Any = lib.fake  # type: ignore[attr-defined]
    photoprism = not isinstance(fake, FakeImmich)
    if photoprism:  # last changed an hour ago: a change pass would list none of it
        fake.age_library(3600)
        stamp = fake.photo(photo_of(lib, keys[A])).updated_at
    settings = load_config(config(lib, tmp_path, target, **EXPORT), {})
    clean(run_sync(settings))
    assert sidecar_of(target, PHOTOS[A])["archived"] is False
    assert "archived" not in members(target, "Trips")[sha1(PHOTOS[A])]

    lib.archive(keys[A])
    if photoprism:  # the server's quirk: archiving leaves UpdatedAt alone
        assert fake.photo(photo_of(lib, keys[A])).updated_at == stamp
    # A change pass sees it: PhotoPrism's archived count moved, so it walks everything;
    # Immich bumps the asset's updatedAt.
    noticed = run_sync(settings, PassOptions(changes_only=True))
    clean(noticed)
    assert noticed.command == ("sync" if photoprism else "change")
    assert sidecar_of(target, PHOTOS[A])["archived"] is True
    assert originals(target) == set(PHOTOS.values())
    member = members(target, "Trips")[sha1(PHOTOS[A])]
    # PhotoPrism hides an archived photo's album entries: the manifest keeps it, marked; an
    # Immich album still lists its archived assets.
    assert member.get("archived") is (True if photoprism else None)

    lib.unarchive(keys[A])
    clean(run_sync(settings))  # the next full walk
    assert sidecar_of(target, PHOTOS[A])["archived"] is False
    trips = members(target, "Trips")
    if photoprism:  # restoring does not bring the album entry back: no longer a member
        assert set(trips) == {sha1(PHOTOS[B])}
    else:
        assert "archived" not in trips[sha1(PHOTOS[A])]
    quiet = run_sync(settings)  # and nothing more to do
    clean(quiet)
    assert quiet.downloaded == 0


def restore_into(lib: Library, tmp_path: Path, target: Path, into: Library) -> set[bytes]:
    """Restore the mirror of ``lib`` into ``into``; the contents it then holds archived."""
    path = config(lib, tmp_path, target, **EXPORT, **{"servers.to": into.server_section()})
    report = run_restore(load_config(path, {}), "to")
    assert report.exit_code == 0, report
    return archived_on(into)


@pytest.mark.parametrize("into", KINDS)
def test_a_restore_after_archive_and_restore_carries_the_users_choice(
        lib: Library, tmp_path: Path, target: Path, into: str) -> None:
    keys = fill(lib, PHOTOS)
    lib.archive(keys[B])
    settings = load_config(config(lib, tmp_path, target, **EXPORT), {})
    clean(run_sync(settings))
    lib.archive(keys[A])  # the user archives one ...
    lib.unarchive(keys[B])  # ... and brings the other back
    clean(run_sync(settings))
    with library(into) as first:
        assert restore_into(lib, tmp_path, target, first) == {PHOTOS[A]}
    lib.unarchive(keys[A])
    clean(run_sync(settings))
    with library(into) as second:
        assert restore_into(lib, tmp_path, target, second) == set()


def test_the_same_server_rebound_with_a_narrower_listing_keeps_and_takes_back_under_its_key(
        lib: Library, tmp_path: Path, target: Path) -> None:
    """The same library at a new address, re-bound with its archive left out: the archived
    file is kept under its own key, and listed again it is simply the server's again."""
    keys = fill(lib, PHOTOS)
    lib.archive(keys[A])
    clean(sync(lib, tmp_path, target))
    new_port(lib)
    narrow = {"delete": "mirror", "include_archived": False}
    rebound = sync(lib, tmp_path, target, rebind=True, mirror=narrow)
    clean(rebound)
    assert rebound.rekeyed == 0 and rebound.not_on_server == 1
    walked = sync(lib, tmp_path, target, mirror=narrow)
    clean(walked)
    assert walked.kept_from_before == 1 and originals(target) == set(PHOTOS.values())
    back = sync(lib, tmp_path, target, mirror={"delete": "mirror"})
    clean(back)
    assert back.rekeyed == 1 and back.downloaded == 0 and back.kept_from_before == 0
    lib.remove(keys[A])  # the server's again: it follows the policy from now on
    gone = sync(lib, tmp_path, target, mirror={"delete": "mirror"})
    assert gone.exit_code == 0 and gone.deleted == 1
    assert originals(target) == {PHOTOS[B], PHOTOS[C]}
