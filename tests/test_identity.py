"""A mirror belongs to one server (issue 9, migration): a pass aimed at another server (another
kind, address or account) is refused before it lists or touches a file; ``--rebind`` accepts the
new server, matching the files already mirrored by SHA-1 (moved at most, never downloaded again,
nothing removed on that pass); what the new server does not list is kept from then on, never
removed by its walks (issue 18). Both kinds, both directions, over the loopback fakes with a
real state and real files."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from ppsync.config import Settings, load_config
from ppsync.errors import SafetyStop
from ppsync.inbox.uploader import run_upload
from ppsync.mirror.identity import (
    IDENTITY_KEY,
    ServerIdentity,
    normalise_url,
    recorded_identity,
)
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.models import RunReport
from ppsync.state import State
from tests.conftest import mirrored_files, run_cli, write_config
from tests.kinds import Library, library
from tests.test_daemon import start_daemon, stop, wait_for

PHOTOS = {"2024/A.jpg": b"a" * 300, "2024/B.jpg": b"b" * 400, "2023/C.jpg": b"c" * 500}
DIRECTIONS = [("photoprism", "immich"), ("immich", "photoprism")]


def config(lib: Library, tmp_path: Path, target: Path, **sections: dict[str, Any]) -> Path:
    merged: dict[str, dict[str, Any]] = {
        "server": {**lib.server_section(), "timeout": 10, "retries": 2, "retry_backoff": 0.01,
                   "outage_wait": "1s"},
        "mirror": {"target": str(target), "workers": 4, "page_size": 50},
        "log": {"level": "debug", "format": "json"},
    }
    for name, values in sections.items():
        merged.setdefault(name, {}).update(values)
    return write_config(tmp_path / f"ppsync-{lib.kind}.toml", merged)


def settings(lib: Library, tmp_path: Path, target: Path, **sections: dict[str, Any]) -> Settings:
    return load_config(config(lib, tmp_path, target, **sections), {})


def sync(lib: Library, tmp_path: Path, target: Path, *, rebind: bool = False,
         dry_run: bool = False, **sections: dict[str, Any]) -> RunReport:
    return run_sync(settings(lib, tmp_path, target, **sections), PassOptions(
        command="plan" if dry_run else "sync", rebind=rebind, dry_run=dry_run))


def identity(target: Path) -> ServerIdentity | None:
    state = State.open(target / ".ppsync" / "state.db")
    try:
        return recorded_identity(state)
    finally:
        state.close()


def bound_to(target: Path) -> tuple[str, str] | None:
    """The recorded server's kind and normalised URL."""
    recorded = identity(target)
    return None if recorded is None else (recorded.kind, recorded.url)


def runs(target: Path) -> list[dict[str, Any]]:
    state = State.open(target / ".ppsync" / "state.db")
    try:
        return state.last_runs(5)
    finally:
        state.close()


def new_port(lib: Library) -> None:
    """The same server (same library, same sessions) moves to another port."""
    fake: Any = lib.fake  # type: ignore[attr-defined]
    fake.stop()
    fake._port = 0  # the next start binds a fresh ephemeral port
    lib.url = fake.start()


def fill(lib: Library, photos: dict[str, bytes]) -> dict[str, str]:
    return {name: lib.add(name, body) for name, body in photos.items()}


@pytest.mark.parametrize(("old_kind", "new_kind"), DIRECTIONS)
def test_a_migrated_library_is_refused_then_rebound_by_sha1_without_a_download(
        old_kind: str, new_kind: str, tmp_path: Path, target: Path) -> None:
    with library(old_kind) as old, library(new_kind) as new:
        fill(old, PHOTOS)
        old.add("2022/Gone.jpg", b"g" * 200)  # not migrated
        fill(new, PHOTOS)
        assert sync(old, tmp_path, target).exit_code == 0
        before = mirrored_files(target)
        new.reset_counters()

        with pytest.raises(SafetyStop) as refused:
            sync(new, tmp_path, target)
        message = str(refused.value)
        assert f"{old.kind} at {normalise_url(old.url)}" in message
        assert f"{new.kind} at {normalise_url(new.url)}" in message
        assert "ppsync sync --rebind" in message and "new [mirror] target" in message
        assert mirrored_files(target) == before
        assert new.fake.requests == []  # type: ignore[attr-defined]  # not even asked
        assert [r["exit_code"] for r in runs(target)][:1] == [4]  # recorded as refused
        assert runs(target)[0]["safety_stop"] == message
        assert bound_to(target) == (old.kind, normalise_url(old.url))

        report = sync(new, tmp_path, target, rebind=True)
        assert report.exit_code == 0, report
        assert report.downloaded == 0 and new.download_count() == 0
        assert report.trashed == report.deleted == report.forgotten == 0
        assert report.rekeyed == 3 and report.not_on_server == 1
        moved = sum(old.path(n) != new.path(n) for n in PHOTOS)
        assert report.moved == moved
        assert mirrored_files(target) == {**{new.path(n): b for n, b in PHOTOS.items()},
                                          old.path("2022/Gone.jpg"): b"g" * 200}
        assert bound_to(target) == (new.kind, normalise_url(new.url))

        # The next passes are full walks of the new server: the file it does not list is kept
        # (its listing proves no deletion: issue 18), under every policy, and said so.
        for delete in ("trash", "mirror"):
            walked = sync(new, tmp_path, target, mirror={"delete": delete, "max_delete": 0})
            assert walked.exit_code == 0 and not walked.safety_stop, walked
            assert walked.trashed == walked.deleted == walked.forgotten == 0
            assert walked.kept_from_before == 1 and walked.downloaded == 0
        assert new.download_count() == 0
        assert mirrored_files(target) == {**{new.path(n): b for n, b in PHOTOS.items()},
                                          old.path("2022/Gone.jpg"): b"g" * 200}


def test_plan_rebind_shows_the_matches_and_changes_nothing(tmp_path: Path,
                                                           target: Path) -> None:
    with library("photoprism") as old, library("immich") as new:
        fill(old, PHOTOS)
        fill(new, PHOTOS)
        new.add("2024/New.jpg", b"n" * 100)
        assert sync(old, tmp_path, target).exit_code == 0
        before = mirrored_files(target)
        new.reset_counters()
        plan = sync(new, tmp_path, target, rebind=True, dry_run=True)
        assert plan.exit_code == 0 and plan.dry_run
        assert (plan.rekeyed, plan.moved, plan.downloaded, plan.not_on_server) == (3, 3, 1, 0)
        assert mirrored_files(target) == before and new.download_count() == 0
        assert bound_to(target) == (old.kind, normalise_url(old.url))
        with pytest.raises(SafetyStop):  # still bound to the old server
            sync(new, tmp_path, target)
        done = sync(new, tmp_path, target, rebind=True)
        assert (done.rekeyed, done.moved, done.downloaded) == (3, 3, 1)
        assert new.download_count() == 1


def test_the_same_server_at_a_new_port_is_refused_then_rebound_with_nothing_fetched(
        lib: Library, tmp_path: Path, target: Path) -> None:
    fill(lib, PHOTOS)
    assert sync(lib, tmp_path, target).exit_code == 0
    before = mirrored_files(target)
    old_url = lib.url
    new_port(lib)
    assert lib.url != old_url
    with pytest.raises(SafetyStop) as refused:
        sync(lib, tmp_path, target)
    assert normalise_url(old_url) in str(refused.value)
    lib.add("2024/D.jpg", b"d" * 50)  # new since: the re-bind downloads it, and only it
    lib.reset_counters()
    report = sync(lib, tmp_path, target, rebind=True)
    assert report.exit_code == 0
    assert (report.downloaded, report.moved, report.rekeyed, report.not_on_server) == (1, 0, 0, 0)
    assert lib.download_count() == 1
    assert mirrored_files(target) == {**before, lib.path("2024/D.jpg"): b"d" * 50}
    again = sync(lib, tmp_path, target)
    assert again.exit_code == 0 and again.downloaded == again.moved == 0


def test_an_incomplete_rebind_listing_keeps_the_old_identity(
        lib: Library, tmp_path: Path, target: Path) -> None:
    fill(lib, PHOTOS)
    assert sync(lib, tmp_path, target).exit_code == 0
    old_url = lib.url
    new_port(lib)
    lib.fail_next(100, 500)  # every retry spent: the walk cannot finish
    report = sync(lib, tmp_path, target, rebind=True)
    assert report.exit_code != 0 and not report.walk_complete
    assert bound_to(target) == (lib.kind, normalise_url(old_url))
    assert mirrored_files(target) == {lib.path(n): b for n, b in PHOTOS.items()}
    lib.fail_next(0, 500)
    with pytest.raises(SafetyStop):
        sync(lib, tmp_path, target)


def test_duplicates_on_either_side_never_lose_a_copy(tmp_path: Path, target: Path) -> None:
    with library("photoprism") as old, library("immich") as new:
        old.add("2024/One.jpg", b"same" * 100)
        old.add("2021/Copy.jpg", b"same" * 100)  # a duplicate in the old library
        old.add("2024/Two.jpg", b"two" * 100)
        new.add("2024/One.jpg", b"same" * 100)
        new_im: Any = new
        first = new_im.add_named("Two.jpg", b"two" * 100)  # the same bytes twice on Immich
        second = new_im.add_named("Two-again.jpg", b"two" * 100)
        assert sync(old, tmp_path, target).exit_code == 0
        new.reset_counters()
        report = sync(new, tmp_path, target, rebind=True)
        assert report.exit_code == 0, report
        # No record is at the path the layout wants, so the lowest path (2021/Copy.jpg) goes
        # to One.jpg; the other copy stays where it was, until the next full walk.
        assert report.rekeyed == 2 and report.not_on_server == 1
        files = mirrored_files(target)
        assert "2021/Copy.jpg" not in files and files["2024/One.jpg"] == b"same" * 100
        assert files[new.path("2024/One.jpg")] == b"same" * 100
        # Two Immich assets with one SHA-1: the lowest key takes the record, the other is
        # downloaded (it is a file of its own on the new server).
        assert report.downloaded == 1 and new.download_count() == 1
        assert sorted(n for n, b in files.items() if b == b"two" * 100) == sorted(
            [new.path("Two.jpg"), new.path("Two-again.jpg")])
        assert first != second


def test_an_old_state_without_identity_takes_the_configured_server(
        lib: Library, tmp_path: Path, target: Path) -> None:
    fill(lib, PHOTOS)
    assert sync(lib, tmp_path, target).exit_code == 0
    state = State.open(target / ".ppsync" / "state.db")
    try:
        state.delete_meta(IDENTITY_KEY)  # as written by a ppsync before this change
    finally:
        state.close()
    report = sync(lib, tmp_path, target)
    assert report.exit_code == 0 and report.downloaded == 0
    recorded = identity(target)
    assert recorded is not None and recorded.url == normalise_url(lib.url)


def test_an_empty_state_binds_to_whatever_it_first_reaches(tmp_path: Path,
                                                           target: Path) -> None:
    with library("photoprism") as empty, library("immich") as other:
        assert sync(empty, tmp_path, target).exit_code == 0  # nothing to mirror
        assert bound_to(target) == ("photoprism", normalise_url(empty.url))
        fill(other, {"2024/A.jpg": b"a"})
        report = sync(other, tmp_path, target)  # nothing known yet: nothing to refuse
        assert report.exit_code == 0 and report.downloaded == 1
        recorded = identity(target)
        assert recorded is not None and recorded.kind == "immich"


def test_no_secret_reaches_the_state(lib: Library, tmp_path: Path, target: Path) -> None:
    fill(lib, PHOTOS)
    assert sync(lib, tmp_path, target).exit_code == 0
    secrets = [str(v) for k, v in lib.server_section().items()
               if k in ("password", "api_key") and v]
    assert secrets
    recorded = identity(target)
    assert recorded is not None
    assert bool(recorded.account) == (lib.kind == "immich")  # a library per account there
    for db in (target / ".ppsync").glob("state.db*"):
        data = db.read_bytes()
        assert not any(secret.encode() in data for secret in secrets), db.name
    state = State.open(target / ".ppsync" / "state.db")
    try:
        raw = state.get_meta(IDENTITY_KEY)
    finally:
        state.close()
    assert raw is not None and set(json.loads(raw)) == {"kind", "url", "account"}


def test_upload_verify_repair_and_check_refuse_or_say_it(tmp_path: Path, target: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with library("photoprism") as old, library("immich") as new:
        fill(old, PHOTOS)
        assert sync(old, tmp_path, target).exit_code == 0
        before = mirrored_files(target)
        (inbox / "new.jpg").write_bytes(b"inbox photo")
        upload = {"enabled": True, "inbox": str(inbox), "settle_seconds": 0}
        with pytest.raises(SafetyStop, match="--rebind"):
            run_upload(settings(new, tmp_path, target, upload=upload))
        assert runs(target)[0]["command"] == "upload" and runs(target)[0]["exit_code"] == 4
        path = config(new, tmp_path, target)
        (target / old.path("2024/A.jpg")).write_bytes(b"damaged!")
        repair = run_cli(path, "verify", "--repair")
        assert repair.returncode == 4 and "--rebind" in repair.stderr
        assert (target / old.path("2024/A.jpg")).read_bytes() == b"damaged!"  # not set aside
        assert run_cli(path, "verify").returncode == 1  # reading the mirror alone still works
        check = run_cli(path, "check")
        assert check.returncode == 4 and "PROBLEM: this mirror follows photoprism" in check.stdout
        status = run_cli(path, "status")
        assert status.returncode == 0 and "this mirror follows photoprism" in status.stdout
        assert new.download_count() == 0
        assert {k: v for k, v in mirrored_files(target).items()
                if k != old.path("2024/A.jpg")} == {
            k: v for k, v in before.items() if k != old.path("2024/A.jpg")}


def test_a_daemon_pass_is_refused_and_status_and_health_say_why(
        lib: Library, tmp_path: Path, target: Path) -> None:
    fill(lib, PHOTOS)
    assert sync(lib, tmp_path, target).exit_code == 0
    old_url = lib.url
    new_port(lib)
    path = config(lib, tmp_path, target, schedule={"interval": "1s", "full_every": "1s"})
    proc = start_daemon(path)
    try:
        wait_for(lambda: len([r for r in runs(target) if r.get("exit_code") == 4]) >= 2)
    finally:
        code, err = stop(proc)
    assert code == 0, err
    refused = [r for r in runs(target) if r.get("exit_code") == 4]
    assert all(normalise_url(old_url) in r["safety_stop"] for r in refused)
    status = run_cli(path, "status")
    assert status.returncode == 0 and "--rebind" in status.stdout
    health = run_cli(path, "health")
    assert health.returncode == 1 and "this mirror follows" in health.stdout
    assert mirrored_files(target) == {lib.path(n): b for n, b in PHOTOS.items()}


@pytest.mark.parametrize(("url", "normal"), [
    ("HTTP://Photos.Example.COM:80/", "http://photos.example.com"),
    ("https://photos.example.com:443/immich/", "https://photos.example.com/immich"),
    ("http://user:secret@10.0.0.2:2283", "http://10.0.0.2:2283"),
    ("http://[::1]:2342/", "http://[::1]:2342"),
])
def test_urls_are_compared_normalised_and_without_user_info(url: str, normal: str) -> None:
    assert normalise_url(url) == normal


def test_the_account_counts_only_when_both_sides_know_it() -> None:
    base = ServerIdentity("immich", "http://h:2283", "user-1")
    assert base.same_server(ServerIdentity("immich", "http://h:2283", ""))
    assert not base.same_server(ServerIdentity("immich", "http://h:2283", "user-2"))
    assert not base.same_server(ServerIdentity("photoprism", "http://h:2283", "user-1"))


@pytest.mark.parametrize(("old_kind", "new_kind"), DIRECTIONS)
def test_sidecars_follow_their_originals_to_the_new_paths(
        old_kind: str, new_kind: str, tmp_path: Path, target: Path) -> None:
    metadata = {"sidecars": "json"}
    with library(old_kind) as old, library(new_kind) as new:
        fill(old, PHOTOS)
        keys = fill(new, PHOTOS)
        new.describe(keys["2024/A.jpg"], "on the new server")
        assert sync(old, tmp_path, target, metadata=metadata).exit_code == 0
        report = sync(new, tmp_path, target, rebind=True, metadata=metadata)
        assert report.exit_code == 0 and report.downloaded == 0
        sidecars = {p for p in mirrored_files(target) if p.endswith(".ppsync.json")}
        assert sidecars == {new.path(n) + ".ppsync.json" for n in PHOTOS}
        document = (target / (new.path("2024/A.jpg") + ".ppsync.json")).read_text()
        assert "on the new server" in document


def test_the_command_line_refuses_then_rebinds_and_says_what_it_kept(
        tmp_path: Path, target: Path) -> None:
    with library("immich") as old, library("photoprism") as new:
        fill(old, PHOTOS)
        old.add("2022/Gone.jpg", b"g" * 200)
        fill(new, PHOTOS)
        assert run_cli(config(old, tmp_path, target), "sync").returncode == 0
        path = config(new, tmp_path, target)
        refused = run_cli(path, "sync")
        assert refused.returncode == 4
        assert "this mirror follows immich at" in refused.stderr
        assert "but [server] points at photoprism at" in refused.stderr
        plan = run_cli(path, "plan", "--rebind")
        assert plan.returncode == 0 and "3 files would be matched by SHA-1" in plan.stdout
        assert "WARNING: 1 files the mirror holds are not listed by the new server" in plan.stdout
        assert "include_archived" in plan.stdout  # what to check
        done = run_cli(path, "sync", "--rebind")
        assert done.returncode == 0, done.stderr
        assert "not on the new server: 1, kept in the mirror: no later walk removes them" \
            in done.stdout
        assert "is now this mirror's server" in done.stdout
        status = run_cli(path, "status")
        assert "rebind: 3 matched by SHA-1, 1 not on the new server (kept)" in status.stdout
        assert "1 kept from an earlier server" in status.stdout
        # The next one-shot sync is a full walk (the re-bind removed nothing and walked a new
        # server): the file the new server lacks stays tracked, kept, and is said so.
        again = run_cli(path, "sync")
        assert again.returncode == 0 and "kept from an earlier server: 1 files" in again.stdout
        last = json.loads(run_cli(path, "status", "--json").stdout)
        assert last["runs"][0]["command"] == "sync" and last["runs"][0]["forgotten"] == 0
        assert last["runs"][0]["kept_from_before"] == 1 and last["mirror"]["kept"] == 1
        assert (target / old.path("2022/Gone.jpg")).read_bytes() == b"g" * 200
        assert new.download_count() == 0
    assert "--rebind" in run_cli(path, "sync", "--help").stdout


def test_another_immich_account_at_the_same_address_is_refused_once_logged_in(
        tmp_path: Path, target: Path) -> None:
    with library("immich") as lib:
        fill(lib, PHOTOS)
        assert sync(lib, tmp_path, target).exit_code == 0
        fake: Any = lib.fake  # type: ignore[attr-defined]
        first = fake.auth.user_id
        fake.auth.user_id = str(uuid.uuid4())  # the key now opens another user's library
        fake.reset_counters()
        report = sync(lib, tmp_path, target)
        assert report.exit_code == 4 and f"(account {first})" in report.safety_stop
        assert f"(account {fake.auth.user_id})" in report.safety_stop
        assert fake.requests_to("/search") == [] and lib.download_count() == 0
        assert runs(target)[0]["safety_stop"] == report.safety_stop
        assert mirrored_files(target) == {lib.path(n): b for n, b in PHOTOS.items()}


def test_another_photoprism_account_sees_the_same_library_and_is_not_refused(
        tmp_path: Path, target: Path) -> None:
    with library("photoprism") as lib:
        fill(lib, PHOTOS)
        assert sync(lib, tmp_path, target).exit_code == 0
        fake: Any = lib.fake  # type: ignore[attr-defined]
        fake.user_uid = "u" + "9" * 15  # e.g. a dedicated ppsync user instead of admin
        report = sync(lib, tmp_path, target)
        assert report.exit_code == 0 and report.downloaded == 0


def test_verify_repair_refuses_another_immich_account(tmp_path: Path, target: Path) -> None:
    with library("immich") as lib:
        fill(lib, PHOTOS)
        assert sync(lib, tmp_path, target).exit_code == 0
        fake: Any = lib.fake  # type: ignore[attr-defined]
        fake.auth.user_id = str(uuid.uuid4())  # the key now opens another user's library
        assert sync(lib, tmp_path, target).exit_code == 4  # sync refuses (right)
        damaged = target / lib.path("2024/A.jpg")
        damaged.write_bytes(b"damaged!")
        downloads = lib.download_count()
        repair = run_cli(config(lib, tmp_path, target), "verify", "--repair")
        out = repair.stdout + repair.stderr
        assert repair.returncode == 4 and "--rebind" in repair.stderr, out
        assert damaged.read_bytes() == b"damaged!", out  # not set aside: nothing to repair from
        assert runs(target)[0]["command"] == "repair" and runs(target)[0]["exit_code"] == 4
        assert lib.download_count() == downloads


@pytest.mark.parametrize(("old_kind", "new_kind"),
                         [("photoprism", "immich"), ("immich", "photoprism")])
def test_a_rebind_keeps_the_old_servers_album_manifests_aside(
        old_kind: str, new_kind: str, tmp_path: Path, target: Path) -> None:
    """Migrated without its albums (restore not run for them first): the manifests may be the
    only record of which photo was in which album. The re-bind removes the old album folders
    but keeps every manifest under .ppsync/trash/, and a later pass does not touch them."""
    albums = {"mode": "symlink"}
    with library(old_kind) as old, library(new_kind) as new:
        keys = fill(old, PHOTOS)
        old.album("Trips", [keys["2024/A.jpg"], keys["2023/C.jpg"]])
        old.album("Family", [keys["2024/A.jpg"]])
        new_keys = fill(new, PHOTOS)
        new.album("Family", [new_keys["2024/B.jpg"]])  # one album restored, another not
        assert sync(old, tmp_path, target, albums=albums).exit_code == 0
        manifests = {name: (target / "Albums" / name / ".album.json").read_bytes()
                     for name in ("Trips", "Family")}
        report = sync(new, tmp_path, target, rebind=True, albums=albums)
        assert report.exit_code == 0, report
        assert not (target / "Albums" / "Trips").exists()  # not an album of the new server
        family = json.loads((target / "Albums" / "Family" / ".album.json").read_text())
        assert [m["entry"] for m in family["members"]] == ["B.jpg"]  # the new server's album
        aside = target / ".ppsync" / "trash" / "Albums"
        kept = {p.parent.name: p.read_bytes() for p in aside.rglob(".album.json*")}
        assert kept == manifests
        assert sync(new, tmp_path, target, albums=albums).exit_code == 0
        assert {p.parent.name: p.read_bytes() for p in aside.rglob(".album.json*")} == manifests
