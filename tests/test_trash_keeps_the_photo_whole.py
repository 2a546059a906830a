"""The trash keeps the photo whole (issue 18, item 4). A photo that leaves the server (Immich:
into its trash; PhotoPrism: into its archive, which is its trash) leaves the mirror with every
file it has: its original, its live video, its XMP sidecar original (PhotoPrism) and the
``.ppsync.json`` ppsync wrote beside it, all set aside together under ``.ppsync/trash/`` with
``delete = "trash"``. Restored on the server, it comes back whole in ONE pass, every file
verified against the server's SHA-1.

The servers differ in what a restore changes, and the fakes follow them:
- Immich restores exactly the ids it is given and bumps their ``updatedAt``; the hidden video
  of a restored still is untouched, so a change search does not list it
  (``trash.repository.ts`` ``restoreAll``). The change pass itself must fetch it.
- PhotoPrism clears ``deleted_at`` with ``UpdateColumn`` (``BatchPhotosRestore``), so its
  change feed does not list a restored photo at all: the next full walk brings it back, whole.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest

from ppsync.config import Settings, load_config
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.models import RunReport
from tests.conftest import ConfigFactory, mirrored_files, run_cli
from tests.kinds import Library
from tests.kinds_immich import ImmichLibrary
from tests.kinds_photoprism import PhotoPrismLibrary

DARKTABLE = b"<x:xmpmeta>darktable edits</x:xmpmeta>"
STILL, VIDEO, XMP = "2024/05/IMG_7.jpg", "2024/05/IMG_7.mov", "2024/05/IMG_7.xmp"


def live_photo(lib: Library) -> tuple[str, dict[str, bytes]]:
    """A live photo (still + video), on PhotoPrism with a darktable XMP as a sidecar original,
    and another photo that stays; (the still's key, every file of the live photo by path)."""
    still_key, _ = lib.add_live((STILL, b"still" * 300), (VIDEO, b"motion" * 400))
    files = {lib.path(STILL): b"still" * 300, lib.path(VIDEO): b"motion" * 400}
    if isinstance(lib, PhotoPrismLibrary):
        lib.fake.add_file(lib.photo_key(still_key), XMP, DARKTABLE, sidecar=True)
        files[XMP] = DARKTABLE
    lib.add("2024/05/other.jpg", b"other" * 200)
    return still_key, files


def age(lib: Library) -> None:
    """An hour passes on the server: what changed so far lies before the next change pass's
    cursor (and its 5-minute margin), so only what changes from now on is listed."""
    if isinstance(lib, ImmichLibrary):
        lib.fake.clock_offset += timedelta(hours=1)
    else:
        assert isinstance(lib, PhotoPrismLibrary)
        lib.fake.age_library(3600)


def trash_on_server(lib: Library, key: str) -> None:
    if isinstance(lib, ImmichLibrary):
        lib.user.trash(key)  # the still only, as the apps do; its video stays hidden
    else:
        lib.archive(key)  # PhotoPrism's archive is its trash (photoprism-api.md §f)


def restore_on_server(lib: Library, key: str) -> None:
    if isinstance(lib, ImmichLibrary):
        lib.user.restore(key)
    else:
        lib.unarchive(key)


def settings_for(lib_config: ConfigFactory, delete: str) -> tuple[Path, Settings]:
    # PhotoPrism's trash is its archive: these tests follow a photo that leaves the mirror
    # with it, so the archive is left out (kept in by default, where nothing leaves at all).
    config = lib_config(mirror={"delete": delete, "max_delete_percent": 100,
                                "include_archived": False},
                        metadata={"sidecars": "json"})
    return config, load_config(config, {})


def restore_pass(lib: Library, target: Path, settings: Settings,
                 files: dict[str, bytes]) -> RunReport:
    """The pass that brings the restored photo back: the next change pass, on both kinds.
    PhotoPrism's change feed does not see a restore from the archive (``UpdatedAt`` stays), but
    with sidecars on a change pass compares the archive's count with the last full walk's and
    becomes a full walk when it moved."""
    report = run_sync(settings, PassOptions(changes_only=True))
    assert report.exit_code == 0, report.failures
    return report


def assert_whole(lib: Library, target: Path, files: dict[str, bytes], sidecar: bytes, *,
                 listed: bool = True) -> None:
    """Every file of the photo at its path, with the server's SHA-1 (when the server lists the
    photo), and its sidecar beside."""
    hashes = lib.hashes()
    if isinstance(lib, PhotoPrismLibrary):  # sidecar originals too, which search never lists
        hashes.update({f.name: f.sha1 for f in lib.fake.files(include_sidecars=True)
                       if f.sidecar})
    mirrored = mirrored_files(target)
    for rel, content in files.items():
        assert mirrored[rel] == content
        if listed:
            assert hashlib.sha1(mirrored[rel]).hexdigest() == hashes[rel]
    assert mirrored[lib.path(STILL) + ".ppsync.json"] == sidecar


def test_a_trashed_photo_goes_aside_whole_and_comes_back_whole_in_one_pass(
        lib: Library, target: Path, lib_config: ConfigFactory) -> None:
    still_key, files = live_photo(lib)
    config, settings = settings_for(lib_config, "trash")
    assert run_sync(settings).exit_code == 0
    json_rel = lib.path(STILL) + ".ppsync.json"
    sidecar = (target / json_rel).read_bytes()
    assert b"IMG_7.mov" in sidecar
    trash_on_server(lib, still_key)
    age(lib)
    # The pass that sets the photo aside runs as a process of its own: a restart between
    # passes, with only the state and the disk carried over.
    done = run_cli(config, "sync", "--full")
    assert done.returncode == 0, done.stderr
    trash = target / ".ppsync" / "trash"
    for rel, content in files.items():
        assert not (target / rel).exists()
        assert (trash / rel).read_bytes() == content
    assert not (target / json_rel).exists()
    assert (trash / json_rel).read_bytes() == sidecar  # beside its original, not deleted
    other = lib.path("2024/05/other.jpg")
    assert set(mirrored_files(target)) == {other, other + ".ppsync.json"}

    restore_on_server(lib, still_key)
    lib.reset_counters()
    back = restore_pass(lib, target, settings, files)
    assert back.adopted == len(files) and back.downloaded == 0  # all from the trash
    assert lib.download_count() == 0
    assert_whole(lib, target, files, sidecar)
    leftovers = [p for p in trash.rglob("*") if p.is_file()]
    assert leftovers == []  # nothing of the photo stays behind in the trash
    again = run_sync(settings)
    assert again.exit_code == 0 and again.adopted == again.downloaded == again.trashed == 0


def test_with_delete_mirror_the_photo_goes_whole_and_is_fetched_whole_in_one_pass(
        lib: Library, target: Path, lib_config: ConfigFactory) -> None:
    still_key, files = live_photo(lib)
    _, settings = settings_for(lib_config, "mirror")
    assert run_sync(settings).exit_code == 0
    json_rel = lib.path(STILL) + ".ppsync.json"
    sidecar = (target / json_rel).read_bytes()
    trash_on_server(lib, still_key)
    age(lib)
    gone = run_sync(settings)
    assert gone.exit_code == 0 and gone.deleted == len(files)
    assert not any((target / rel).exists() for rel in [*files, json_rel])
    trash = target / ".ppsync" / "trash"
    assert not trash.exists() or not [p for p in trash.rglob("*") if p.is_file()]

    restore_on_server(lib, still_key)
    back = restore_pass(lib, target, settings, files)
    assert back.downloaded == len(files)
    assert_whole(lib, target, files, sidecar)
    again = run_sync(settings)
    assert again.exit_code == 0 and again.adopted == again.downloaded == 0


def test_with_delete_keep_the_photo_stays_and_is_followed_again_whole_in_one_pass(
        lib: Library, target: Path, lib_config: ConfigFactory) -> None:
    still_key, files = live_photo(lib)
    _, settings = settings_for(lib_config, "keep")
    assert run_sync(settings).exit_code == 0
    json_rel = lib.path(STILL) + ".ppsync.json"
    sidecar = (target / json_rel).read_bytes()
    trash_on_server(lib, still_key)
    age(lib)
    kept = run_sync(settings)
    assert kept.exit_code == 0 and kept.forgotten == len(files)
    assert_whole(lib, target, files, sidecar, listed=False)  # nothing of it moved

    restore_on_server(lib, still_key)
    lib.reset_counters()
    back = restore_pass(lib, target, settings, files)
    # Every file of the photo is tracked again by this one pass (adopted in place, its SHA-1
    # checked): none is left for a later walk to find.
    assert back.adopted == len(files) and back.downloaded == 0
    assert lib.download_count() == 0
    assert_whole(lib, target, files, sidecar)
    again = run_sync(settings)
    assert again.exit_code == 0 and again.adopted == again.downloaded == 0


def test_a_photo_back_with_other_content_leaves_its_old_original_and_sidecar_together(
        lib: Library, target: Path, lib_config: ConfigFactory) -> None:
    # While the photo was in the server's trash its original was replaced: what comes back is
    # other content, downloaded anew. The old original stays in ppsync's trash, and the
    # sidecar that describes it stays beside it; the photo gets a fresh sidecar.
    still_key, files = live_photo(lib)
    _, settings = settings_for(lib_config, "trash")
    assert run_sync(settings).exit_code == 0
    json_rel = lib.path(STILL) + ".ppsync.json"
    old_sidecar = (target / json_rel).read_bytes()
    trash_on_server(lib, still_key)
    assert run_sync(settings).trashed == len(files)
    lib.replace(still_key, b"edited" * 300)
    restore_on_server(lib, still_key)
    back = run_sync(settings)
    assert back.exit_code == 0, back.failures
    assert back.downloaded == 1 and back.adopted == len(files) - 1
    trash = target / ".ppsync" / "trash"
    assert (trash / lib.path(STILL)).read_bytes() == b"still" * 300
    assert (trash / json_rel).read_bytes() == old_sidecar
    assert (target / lib.path(STILL)).read_bytes() == b"edited" * 300
    new_sidecar = (target / json_rel).read_bytes()
    assert hashlib.sha1(b"edited" * 300).hexdigest().encode() in new_sidecar
    assert sorted(p.name for p in trash.rglob("*") if p.is_file()) == sorted(
        [Path(STILL).name, Path(json_rel).name])


def video_requests(lib: ImmichLibrary, video_key: str) -> int:
    """``GET /assets/{id}`` of the video (not its downloads)."""
    return len([r for r in lib.fake.requests_to(f"/assets/{video_key}", "GET")
                if r.path.endswith(f"/assets/{video_key}")])


@pytest.mark.parametrize("server_kind", ["immich"])  # PhotoPrism lists a photo's files together
def test_a_change_pass_asks_for_a_live_video_only_when_its_still_came_without_it(
        lib: Library, lib_config: ConfigFactory) -> None:
    assert isinstance(lib, ImmichLibrary)
    still_key, video_key = lib.add_live((STILL, b"still" * 300), (VIDEO, b"motion" * 400))
    # No sidecars: writing one reads the photo's details, which ask for its video by id too.
    settings = load_config(lib_config(mirror={"delete": "trash"}), {})
    assert run_sync(settings).exit_code == 0
    lib.fake.reset_counters()
    # Uploaded moments ago, still and video both lie inside the change cursor's margin: the
    # hidden walk lists the video, and no asset is asked for by id.
    assert run_sync(settings, PassOptions(changes_only=True)).exit_code == 0
    assert video_requests(lib, video_key) == 0
    age(lib)
    assert run_sync(settings, PassOptions(changes_only=True)).exit_code == 0  # cursor: now
    lib.favourite(still_key)  # the still changes, the video does not
    lib.fake.reset_counters()
    report = run_sync(settings, PassOptions(changes_only=True))
    assert report.exit_code == 0 and report.listed == 2 and report.unchanged == 2
    assert video_requests(lib, video_key) == 1
