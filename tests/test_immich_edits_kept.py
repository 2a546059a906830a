"""Edits kept (issue 18, item 3): Immich (v2.5 and later) edits a photo beside its untouched
original; the mirror keeps the edited rendition next to the original, as ``<stem>.edited.jpg``.

Over passes of one process and across a restart, on one state, under ``delete = "trash"``:
an edit appears (the rendition lands beside the original, the sidecar says which file is the
edit), a favourite moves ``updatedAt`` but not the edit (fetched again, nothing piles up), the
edit changes (the old rendition is kept aside, never overwritten), the edit is reverted (the
next full walk moves the rendition to ``.ppsync/trash``). ``verify`` re-hashes the rendition
against the SHA-1 recorded when it was received. A rendition the server has not rendered yet
is a failure the next pass retries. v1.135 has no edits: nothing more is asked. A restore into
either kind sends the original only and reports the edited version as not carried."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from ppsync.config import Settings, load_config
from ppsync.mirror.executor import Layout
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.mirror.verify import verify_mirror
from ppsync.models import RunReport
from ppsync.restore.run import run_restore
from ppsync.servers import open_server
from ppsync.servers.base import PhotoServer
from ppsync.state import State
from tests.conftest import config_file, write_config
from tests.fake_immich import FakeImmich
from tests.fake_immich.user import ImmichUser
from tests.kinds import TAKEN, library
from tests.kinds_immich import ImmichLibrary
from tests.test_migration_mapping import server as fake_server

CROP = {"action": "crop", "parameters": {"x": 10, "y": 10, "width": 2000, "height": 1500}}
ROTATE = {"action": "rotate", "parameters": {"angle": 90}}


@pytest.fixture
def immich() -> Iterator[ImmichLibrary]:
    with library("immich") as lib:  # v2.5: isEdited, ?edited=true
        assert isinstance(lib, ImmichLibrary)
        yield lib


def settings(lib: ImmichLibrary, tmp_path: Path, target: Path) -> Settings:
    path = write_config(tmp_path / "ppsync.toml", {
        "server": {**lib.server_section(), "retry_backoff": 0.01},
        "mirror": {"target": str(target), "delete": "trash"},
        "metadata": {"sidecars": "json"},
        "log": {"level": "debug", "format": "json"}})
    return load_config(path, {})


class Passes:
    """Passes of one process: one opened server (one session), one state."""

    def __init__(self, config: Settings) -> None:
        self.config = config
        self.server: PhotoServer = open_server(config.server)
        self.server.open()

    def restart(self) -> None:
        """A new process: a new session, the same state and mirror."""
        self.server.close()
        self.server = open_server(self.config.server)
        self.server.open()

    def full(self) -> RunReport:
        report = run_sync(self.config, PassOptions(server=self.server))
        assert report.exit_code == 0 and report.walk_complete, report
        return report

    def change(self) -> RunReport:
        report = run_sync(self.config, PassOptions(changes_only=True, server=self.server))
        assert report.exit_code == 0 and report.command == "change", report
        return report


def edited_bytes(immich: ImmichLibrary, key: str) -> bytes:
    content = immich.fake.lib.assets[key].edited_content
    assert content is not None
    return content


def aside(target: Path, folder: str) -> dict[str, bytes]:
    base = target / ".ppsync" / folder
    return {p.relative_to(base).as_posix(): p.read_bytes()
            for p in base.rglob("*") if p.is_file()}


def tracked(target: Path) -> dict[str, str]:
    state = State.open(target / ".ppsync" / "state.db")
    try:
        return {r.path: r.sha1 for r in state.active_records()}
    finally:
        state.close()


def verify_ok(target: Path) -> None:
    state = State.open(target / ".ppsync" / "state.db")
    try:
        report = verify_mirror(state, Layout(target), repair=False)
    finally:
        state.close()
    assert report.problems == 0 and report.ok == report.checked, report


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def test_an_edit_is_kept_beside_its_original_over_passes(immich: ImmichLibrary, tmp_path: Path,
                                                         target: Path) -> None:
    original = b"A" * 5000
    a = immich.add("IMG_1.jpg", original)
    immich.add("IMG_2.jpg", b"B" * 5000)
    photo, edit = immich.path("IMG_1.jpg"), immich.path("IMG_1.edited.jpg")
    passes = Passes(settings(immich, tmp_path, target))
    try:
        assert passes.full().downloaded == 2
        assert not (target / edit).exists()

        # The user crops the photo in Immich: the original is untouched on the server.
        immich.user.edit(a, CROP)
        first_edit = edited_bytes(immich, a)
        report = passes.change()
        assert report.downloaded == 1, report  # the rendition, not the original again
        assert (target / photo).read_bytes() == original
        assert (target / edit).read_bytes() == first_edit
        assert tracked(target)[edit] == sha1(first_edit)  # what arrived, for verify
        sidecar = json.loads((target / f"{photo}.ppsync.json").read_bytes())
        files = {f["name"]: f for f in sidecar["files"]}
        assert files["IMG_1.jpg"]["primary"] is True and "edited" not in files["IMG_1.jpg"]
        assert files["IMG_1.edited.jpg"] == {
            "name": "IMG_1.edited.jpg", "sha1": sha1(first_edit), "size": len(first_edit),
            "root": "/", "type": "image", "mime": "image/jpeg", "primary": False,
            "sidecar": False, "edited": True, "original": False, "edit_of": "IMG_1.jpg"}
        verify_ok(target)

        # A restart, then a full walk: nothing is fetched again (the edit did not change).
        passes.restart()
        immich.reset_counters()
        report = passes.full()
        assert report.downloaded == 0 and immich.download_count() == 0, report
        assert report.trashed == 0 and aside(target, "trash") == {}

        # A favourite moves updatedAt, not the edit: fetched again, the same bytes; nothing
        # is kept aside twice.
        immich.favourite(a)
        passes.change()
        assert (target / edit).read_bytes() == first_edit
        assert aside(target, "replaced") == {}

        # The edit changes: the new rendition takes the place, the old one is kept aside.
        immich.user.edit(a, CROP, ROTATE)
        second_edit = edited_bytes(immich, a)
        assert second_edit != first_edit
        report = passes.change()
        assert report.downloaded == 1 and report.kept_aside == 1, report
        assert (target / edit).read_bytes() == second_edit
        assert list(aside(target, "replaced").values()) == [first_edit]
        assert (target / photo).read_bytes() == original
        verify_ok(target)

        # Reverted in Immich: a change pass removes nothing; the next full walk moves the
        # rendition to the trash ([mirror] delete = "trash"), never deletes it.
        immich.user.revert_edit(a)
        report = passes.change()
        assert (target / edit).read_bytes() == second_edit and report.trashed == 0
        passes.restart()
        report = passes.full()
        assert report.trashed == 1, report
        assert not (target / edit).exists()
        assert aside(target, "trash") == {edit: second_edit}
        assert (target / photo).read_bytes() == original
        assert edit not in tracked(target)
        sidecar = json.loads((target / f"{photo}.ppsync.json").read_bytes())
        assert [f["name"] for f in sidecar["files"]] == ["IMG_1.jpg"]
        verify_ok(target)
    finally:
        passes.server.close()


def test_a_plan_names_the_edit(immich: ImmichLibrary, tmp_path: Path, target: Path) -> None:
    a = immich.add("IMG_1.jpg", b"A" * 5000)
    immich.user.edit(a, CROP)
    lines: list[str] = []
    config = settings(immich, tmp_path, target)
    report = run_sync(config, PassOptions(command="plan", dry_run=True,
                                          on_action=lambda action: lines.append(
                                              action.describe())))
    assert report.exit_code == 0
    assert f"download {immich.path('IMG_1.edited.jpg')}" in lines, lines
    assert not (target / immich.path("IMG_1.edited.jpg")).exists()


def test_an_edit_not_rendered_yet_is_retried(immich: ImmichLibrary, tmp_path: Path,
                                             target: Path) -> None:
    a = immich.add("IMG_1.jpg", b"A" * 5000)
    passes = Passes(settings(immich, tmp_path, target))
    try:
        passes.full()
        immich.fake.faults.edits_unrendered = True  # the edit job has not run yet: 404
        immich.user.edit(a, CROP)
        report = run_sync(passes.config, PassOptions(changes_only=True, server=passes.server))
        assert report.exit_code == 1 and len(report.failures) == 1, report
        assert "not rendered" in report.failures[0].reason
        assert not (target / immich.path("IMG_1.edited.jpg")).exists()
        assert list((target / ".ppsync" / "partial").iterdir()) == []  # nothing half-written
        immich.fake.faults.edits_unrendered = False
        assert passes.change().downloaded == 1  # the failed pass kept its cursor
        assert (target / immich.path("IMG_1.edited.jpg")).read_bytes() == \
            edited_bytes(immich, a)
        sidecar = json.loads((target / f"{immich.path('IMG_1.jpg')}.ppsync.json").read_bytes())
        [edit] = [f for f in sidecar["files"] if f.get("edited")]
        assert edit["sha1"] == sha1(edited_bytes(immich, a))  # written again once it is held
    finally:
        passes.server.close()


def test_v1_135_has_no_edits_and_is_asked_for_none(tmp_path: Path, target: Path) -> None:
    with FakeImmich(generation="v1.135") as fake:
        key = fake.add_key(("all",))
        ImmichUser(fake).upload("IMG_1.jpg", b"A" * 5000, taken=TAKEN)
        edits = ImmichUser(fake)._client().put(
            f"/assets/{next(iter(fake.lib.assets))}/edits", json={"edits": [CROP]})
        assert edits.status_code == 404  # no editor before v2.5
        path = config_file(tmp_path / "ppsync.toml", {"kind": "immich", "url": fake.url,
                                                      "api_key": key}, target, {})
        assert run_sync(load_config(path, {})).downloaded == 1
        assert not [r for r in fake.requests if "edited" in r.path]


@pytest.mark.parametrize("to", ["immich", "photoprism"])
def test_a_restore_sends_the_original_and_reports_the_edit(to: str, tmp_path: Path) -> None:
    """Into Immich: an edit is steps Immich applies to the original, which the mirror does not
    hold; into PhotoPrism the edited JPEG would be a photo of its own (its base name is not the
    original's). Either way the original is restored, the edit stays in the mirror and the
    report says so; a second restore sends nothing."""
    with ExitStack() as stack:
        source = fake_server("immich", stack)
        target_server = fake_server(to, stack)
        assert isinstance(source.fake, FakeImmich)
        user = ImmichUser(source.fake)
        original = b"A" * 5000
        asset = user.upload("IMG_1.jpg", original, taken=TAKEN)
        user.edit(asset, CROP)
        mirror = tmp_path / "mirror"
        mirror.mkdir()
        path = config_file(tmp_path / "ppsync.toml", source.section, mirror, {
            "metadata": {"sidecars": "json"},
            "servers.to": {**target_server.section, "retries": 1, "retry_backoff": 0.01}})
        config = load_config(path, {})
        assert run_sync(config).downloaded == 2
        edit = f"{TAKEN:%Y/%m}/IMG_1.edited.jpg"
        assert (mirror / edit).is_file()

        report = run_restore(config, "to")
        assert report.exit_code == 0, report
        assert report.originals == 1 and report.uploaded == 1 and report.photos == 1
        [note] = [n for n in report.not_carried if n.what == "edited version"]
        assert note.path == edit and "original is restored unedited" in note.why
        assert ("a photo of its own" if to == "photoprism" else "the steps") in note.why
        assert list(target_server.view()) == [frozenset({sha1(original)})]
        again = run_restore(config, "to")
        assert again.uploaded == 0 and again.present == 1
        assert [n.path for n in again.not_carried if n.what == "edited version"] == [edit]


def test_the_fake_answers_edited_downloads_as_immich_does() -> None:
    """asset-media.service ``downloadOriginal``: ``?edited=true`` sends the edited file only
    when the asset has edits (named ``<stem>.<format>``), the original otherwise and without
    the parameter; 404 "Edited asset media not found" before the edit job rendered it. An edit
    and a revert flip ``isEdited`` and move ``updatedAt`` (the ``asset_edit`` triggers)."""
    with FakeImmich(generation="v2.5") as fake:
        user = ImmichUser(fake)
        asset = user.upload("IMG_1.jpg", b"A" * 100, taken=TAKEN)
        with user._client() as http:
            def get(edited: bool) -> tuple[int, bytes, str]:
                answer = http.get(f"/assets/{asset}/original",
                                  params={"edited": "true"} if edited else None)
                return answer.status_code, answer.content, \
                    answer.headers.get("content-disposition", "")

            assert get(True)[:2] == (200, b"A" * 100)  # not edited: the original
            before = http.get(f"/assets/{asset}").json()
            assert before["isEdited"] is False
            user.edit(asset, CROP)
            after = http.get(f"/assets/{asset}").json()
            assert after["isEdited"] is True and after["updatedAt"] > before["updatedAt"]
            assert after["checksum"] == before["checksum"]  # the original is untouched
            status, body, disposition = get(True)
            assert status == 200 and body == fake.lib.assets[asset].edited_content
            assert disposition.endswith("IMG_1.jpeg")
            assert get(False)[1] == b"A" * 100
            assert http.get(f"/assets/{asset}/edits").json() == {"assetId": asset,
                                                                 "edits": [CROP]}
            fake.faults.edits_unrendered = True
            assert get(True)[0] == 404
            fake.faults.edits_unrendered = False
            user.revert_edit(asset)
            reverted = http.get(f"/assets/{asset}").json()
            assert reverted["isEdited"] is False and reverted["updatedAt"] > after["updatedAt"]
            assert get(True)[1] == b"A" * 100
