"""The whole library, both ways: the photo (not the file) is the unit of restore and migration.

A library holding every kind of photo (RAW+JPEG pairs, live photos, a JPEG with its XMP, a
private, an archived and a captioned photo, albums; on Immich a stack, a live photo, tags, a
rating) is mirrored from a fake server of one kind and restored into an empty fake of each kind
(four directions). Each row of README's mapping table ("Restore and migration") has a test here
named after it, run for every direction; two round trips (PhotoPrism to Immich to PhotoPrism,
and the reverse) compare the libraries photo by photo, and what was lost on the way is exactly
what the table says. Every restore runs twice, a PhotoPrism target re-indexing its library in
between: the second sends nothing."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ppsync.config import load_config
from ppsync.mirror.sync import run_sync
from ppsync.restore.run import RestoreReport, run_restore
from tests.conftest import PASSWORD, admin_http, config_file, run_cli
from tests.fake_immich import FakeImmich
from tests.fake_immich.user import ImmichUser
from tests.fake_photoprism import FakePhotoPrism
from tests.photo_views import PhotoView, immich_album_files, immich_view, photoprism_view

TAKEN = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)
DIRECTIONS = ["photoprism-to-immich", "immich-to-photoprism", "photoprism-to-photoprism",
              "immich-to-immich"]


def blob(name: str, size: int = 300) -> bytes:
    return (hashlib.sha256(name.encode()).hexdigest().encode() * (size // 64 + 1))[:size]


XMP = (b'<?xpacket begin=""?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
       b'"http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>')


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


# --- the source libraries ---------------------------------------------------------------------


def seed_photoprism(fake: FakePhotoPrism) -> None:
    raw = fake.add_photo([("2024/05/IMG_0100.jpg", blob("0100.jpg")),
                          ("2024/05/IMG_0100.CR2", blob("0100.cr2"))], type="raw")
    live = fake.add_photo([("2024/06/IMG_0200.heic", blob("0200.heic")),
                           ("2024/06/IMG_0200.mov", blob("0200.mov"))], type="live",
                          with_preview=True)
    with_xmp = fake.add_photo([("2024/07/IMG_0300.jpg", blob("0300.jpg"))])
    fake.add_file(with_xmp.uid, "2024/07/IMG_0300.xmp", XMP, sidecar=True)
    private = fake.add_photo([("2024/08/IMG_0400.jpg", blob("0400.jpg"))], private=True)
    archived = fake.add_photo([("2024/09/IMG_0500.jpg", blob("0500.jpg"))])
    captioned = fake.add_photo([("2024/10/IMG_0600.jpg", blob("0600.jpg"))])
    with admin_http(fake) as http:  # what a person does in the web UI
        numeric = http.get(f"/api/v1/photos/{raw.uid}").json()["ID"]
        http.put(f"/api/v1/photos/{raw.uid}", json={
            "Title": "Harbour", "TitleSrc": "manual", "Favorite": True,
            "TakenAtLocal": "2019-03-02T18:30:00Z", "TimeZone": "Europe/Berlin",
            "TakenSrc": "manual", "Lat": 52.5, "Lng": 13.4, "PlaceSrc": "manual",
            "Details": {"PhotoID": numeric, "Keywords": "boat, sea",
                        "KeywordsSrc": "manual"}}).raise_for_status()
        http.put(f"/api/v1/photos/{captioned.uid}", json={
            "Caption": "Grandma's garden", "CaptionSrc": "manual"}).raise_for_status()
    fake.archive_photo(archived.uid)
    fake.add_album("Trips", photo_uids=[raw.uid, live.uid])
    fake.add_album("Family", photo_uids=[with_xmp.uid, private.uid])


def seed_immich(fake: FakeImmich) -> None:
    user = ImmichUser(fake)
    jpeg = user.upload("IMG_0700.jpg", blob("0700.jpg"), taken=TAKEN)
    raw = user.upload("IMG_0700.dng", blob("0700.dng"), taken=TAKEN)
    user._call("POST", "/stacks", json={"assetIds": [jpeg, raw]})
    still, _ = user.upload_live(("IMG_0800.heic", blob("0800.heic")),
                                ("IMG_0800.mov", blob("0800.mov")), taken=TAKEN)
    lake = user.upload("IMG_0900.jpg", blob("0900.jpg"), taken=TAKEN)
    user.favourite(lake)
    user.describe(lake, "The lake")
    user.rate(lake, 4)
    user.update(lake, latitude=45.43, longitude=12.33)
    tags = user._call("PUT", "/tags", json={"tags": ["Travel/Italy"]}).json()
    user._call("PUT", "/tags/assets", json={"tagIds": [t["id"] for t in tags],
                                            "assetIds": [lake]})
    old = user.upload("IMG_1000.jpg", blob("1000.jpg"), taken=TAKEN)
    user.archive(old)
    user.create_album("Trip", (jpeg, still))


# --- the servers and the runs -----------------------------------------------------------------


@dataclass
class Server:
    kind: str
    fake: FakePhotoPrism | FakeImmich
    section: dict[str, Any]

    def view(self) -> dict[frozenset[str], PhotoView]:
        if isinstance(self.fake, FakePhotoPrism):
            return photoprism_view(self.fake)
        return immich_view(self.fake)

    def write_requests(self) -> list[str]:
        """The changing requests the server received since ``reset``."""
        if isinstance(self.fake, FakePhotoPrism):
            return [f"{r.method} {r.path}" for r in self.fake.requests
                    if r.method in ("POST", "PUT", "DELETE") and "/session" not in r.path]
        return [f"{r.method} {r.path}" for r in self.fake.requests
                if r.method in ("POST", "PUT", "DELETE") and "/search/" not in r.path
                and "/bulk-upload-check" not in r.path and "/auth/" not in r.path]

    def reset(self) -> None:
        self.fake.requests.clear()


def server(kind: str, stack: Any) -> Server:
    if kind == "photoprism":
        fake: Any = stack.enter_context(FakePhotoPrism(password=PASSWORD, new_api=True))
        return Server(kind, fake, {"url": fake.url, "username": "admin", "password": PASSWORD})
    fake = stack.enter_context(FakeImmich(generation="v3"))
    key = fake.add_key(("all",))
    return Server(kind, fake, {"kind": "immich", "url": fake.url, "api_key": key})


@dataclass
class Migration:
    source: Server
    target: Server
    mirror: Path
    first: RestoreReport
    second: RestoreReport
    first_writes: list[str]
    second_writes: list[str]
    before: dict[frozenset[str], PhotoView]
    after: dict[frozenset[str], PhotoView]


def mirrored(source: Server, to: dict[str, Any], folder: Path) -> Path:
    """A mirror of ``source`` with sidecars and album manifests, synced once, and its config
    (``to``: the ``[servers.to]`` section a restore goes to). Returns the config's path."""
    mirror = folder / "mirror"
    mirror.mkdir(parents=True)
    path = config_file(folder / "ppsync.toml", source.section, mirror, {
        "metadata": {"sidecars": "json"}, "albums": {"mode": "symlink"},
        "mirror": {"include_archived": True}, "servers.to": to})
    assert run_sync(load_config(path, {})).exit_code == 0
    return path


def mirror_and_restore(source: Server, target: Server, folder: Path) -> Migration:
    settings = load_config(mirrored(
        source, {**target.section, "retries": 1, "retry_backoff": 0.01}, folder), {})
    mirror = settings.mirror.target
    target.reset()
    first = run_restore(settings, "to")
    first_writes = target.write_requests()
    if isinstance(target.fake, FakePhotoPrism):  # the new server re-reads every file
        with admin_http(target.fake) as http:
            assert http.post("/api/v1/index", json={"path": "/", "rescan": True}).is_success
    target.reset()
    second = run_restore(settings, "to")
    return Migration(source, target, mirror, first, second, first_writes,
                     target.write_requests(), source.view(), target.view())


@pytest.fixture(scope="module")
def migrations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Migration]]:
    with ExitStack() as stack:
        done: dict[str, Migration] = {}
        for direction in DIRECTIONS:
            source_kind, target_kind = direction.split("-to-")
            source = server(source_kind, stack)
            seed_photoprism(source.fake) if source_kind == "photoprism" else \
                seed_immich(source.fake)  # type: ignore[arg-type]
            target = server(target_kind, stack)
            done[direction] = mirror_and_restore(
                source, target, tmp_path_factory.mktemp(direction))
        yield done


@pytest.fixture(params=DIRECTIONS)
def migration(request: pytest.FixtureRequest, migrations: dict[str, Migration]) -> Migration:
    return migrations[request.param]


def counterpart(migration: Migration, photo: PhotoView) -> PhotoView:
    """The target's photo holding the source photo's files (all of them, as one photo)."""
    assert photo.files in migration.after, (
        f"the files of one photo did not arrive as one photo: {sorted(photo.files)}; "
        f"target photos: {[sorted(p) for p in migration.after]}")
    return migration.after[photo.files]


def _by(migration: Migration, **wanted: Any) -> list[PhotoView]:
    return [p for p in migration.before.values()
            if all(getattr(p, k) == v for k, v in wanted.items())]


# --- the runs ---------------------------------------------------------------------------------


def test_every_restore_exits_0_and_a_second_one_sends_nothing(migration: Migration) -> None:
    first, second = migration.first, migration.second
    assert first.exit_code == 0 and first.failures == [], first
    assert second.exit_code == 0 and second.failures == [], second
    assert (second.uploaded, second.metadata_applied, second.members_added, second.stacked,
            second.live_linked, second.archived) == (0, 0, 0, 0, 0, 0)
    assert migration.second_writes == []
    assert migration.first_writes and not [w for w in migration.first_writes
                                           if w.startswith("DELETE")]  # never deletes
    assert [(n.path, n.what) for n in second.not_carried] == [
        (n.path, n.what) for n in first.not_carried]  # the same losses, said again


# --- one test per row of the mapping table ----------------------------------------------------


def test_row_originals_every_file_arrives_once_in_its_photo(migration: Migration) -> None:
    assert set(migration.after) == set(migration.before)  # the same photos, file for file


def test_row_primary_the_file_on_top_stays_on_top(migration: Migration) -> None:
    for photo in migration.before.values():
        assert counterpart(migration, photo).primary == photo.primary


def test_row_live_photos_the_video_stays_with_its_still(migration: Migration) -> None:
    lives = [p for p in migration.before.values() if p.live_video]
    assert lives
    for photo in lives:
        assert counterpart(migration, photo).live_video == photo.live_video


def test_row_stacks_and_raw_pairs_are_one_photo(migration: Migration) -> None:
    pairs = [p for p in migration.before.values() if len(p.files) == 2 and not p.live_video]
    assert pairs
    for photo in pairs:
        counterpart(migration, photo)


def test_row_xmp_sidecar_travels_with_its_photo_never_as_a_photo(migration: Migration) -> None:
    with_xmp = [p for p in migration.before.values() if p.sidecars]
    if migration.source.kind == "immich":
        assert not with_xmp  # Immich's API serves no sidecar file: none in its mirror
        return
    assert with_xmp
    for photo in with_xmp:
        arrived = counterpart(migration, photo)
        if migration.target.kind == "photoprism":
            assert arrived.sidecars == photo.sidecars
        else:  # sent as the asset's sidecar, with its upload
            fake = migration.target.fake
            assert isinstance(fake, FakeImmich)
            asset = fake.lib.by_checksum(base64.b64encode(bytes.fromhex(photo.primary)).decode())
            assert asset is not None and fake.sidecar_of(asset.id) == XMP
    assert migration.first.sidecars_sent == (migration.target.kind == "immich")


def test_row_favourite_is_carried(migration: Migration) -> None:
    assert _by(migration, favorite=True)
    for photo in migration.before.values():
        assert counterpart(migration, photo).favorite == photo.favorite


def test_row_archived_is_carried(migration: Migration) -> None:
    assert _by(migration, archived=True)
    for photo in migration.before.values():
        assert counterpart(migration, photo).archived == photo.archived


def test_row_taken_time_is_carried(migration: Migration) -> None:
    for photo in migration.before.values():
        assert counterpart(migration, photo).taken == photo.taken, photo


def test_row_location_set_by_hand_is_carried(migration: Migration) -> None:
    placed = [p for p in migration.before.values() if p.location]
    assert placed
    for photo in placed:
        assert counterpart(migration, photo).location == photo.location


def as_labels(tags: frozenset[str]) -> frozenset[str]:
    """Tags as PhotoPrism names the labels it makes of them: each word capitalised, " / "
    between the parts ("boat" → "Boat", "Travel/Italy" → "Travel / Italy")."""
    return frozenset(" / ".join(" ".join(w[:1].upper() + w[1:] for w in part.split())
                                for part in tag.split("/")) for tag in tags)


def as_tags(tags: frozenset[str]) -> frozenset[str]:
    """PhotoPrism label names as the tags they go out as: "/" between the parts."""
    return frozenset(tag.replace(" / ", "/") for tag in tags)


def test_row_tags_and_keywords_are_carried(migration: Migration) -> None:
    tagged = [p for p in migration.before.values() if p.tags]
    assert tagged
    for photo in tagged:
        arrived = counterpart(migration, photo).tags
        if migration.target.kind == "photoprism":  # as manual labels, capitalised
            assert arrived == as_labels(photo.tags)
        else:
            assert arrived == as_tags(photo.tags)


def test_row_albums_hold_every_visible_file_of_their_photos(migration: Migration) -> None:
    for photo in migration.before.values():
        assert counterpart(migration, photo).albums == photo.albums


def test_row_albums_an_immich_album_keeps_exactly_its_assets(
        migrations: dict[str, Migration]) -> None:
    """Into itself, an Immich album holds the same assets: a stack's primary alone stays
    alone (from PhotoPrism, whose album holds a photo, every asset of the stack goes in)."""
    migration = migrations["immich-to-immich"]
    assert isinstance(migration.source.fake, FakeImmich)
    assert isinstance(migration.target.fake, FakeImmich)
    before = immich_album_files(migration.source.fake)
    assert len(before) == 2  # the stack's JPEG and the live photo's still
    assert immich_album_files(migration.target.fake) == before
    into = migrations["photoprism-to-immich"]
    assert isinstance(into.target.fake, FakeImmich)
    assert ("Trips", sha1(blob("0100.cr2"))) in immich_album_files(into.target.fake)


def test_row_title_and_caption_with_their_source(migration: Migration) -> None:
    source, target = migration.source.kind, migration.target.kind
    for photo in migration.before.values():
        arrived = counterpart(migration, photo)
        if source == target == "photoprism":
            assert (arrived.title, arrived.text) == (photo.title, photo.text)
        elif target == "immich" and source == "photoprism":
            # One description: the caption, else a title a person gave (README's table).
            given = photo.text or (photo.title if photo.title == "Harbour" else "")
            assert arrived.text == given
        else:
            assert arrived.text == photo.text


def test_row_private_is_carried_or_reported(migration: Migration) -> None:
    private = _by(migration, private=True)
    lost = [n for n in migration.first.not_carried if n.what == "private"]
    if migration.target.kind == "photoprism":
        assert all(counterpart(migration, p).private for p in private) and not lost
    else:
        assert len(lost) == len(private)
        assert all("no private mark" in n.why for n in lost)


def test_row_rating_is_carried_or_reported(migration: Migration) -> None:
    rated = [p for p in migration.before.values() if p.rating]
    lost = [n for n in migration.first.not_carried if n.what == "rating"]
    if migration.target.kind == "immich":
        assert all(counterpart(migration, p).rating == p.rating for p in rated) and not lost
    else:
        assert len(lost) == len(rated)


# --- the round trips --------------------------------------------------------------------------


def round_trip(first: str, second: str, tmp: Path) -> tuple[
        dict[frozenset[str], PhotoView], dict[frozenset[str], PhotoView], list[Migration]]:
    with ExitStack() as stack:
        start = server(first, stack)
        seed_photoprism(start.fake) if first == "photoprism" else \
            seed_immich(start.fake)  # type: ignore[arg-type]
        middle, end = server(second, stack), server(first, stack)
        there = mirror_and_restore(start, middle, tmp / "there")
        back = mirror_and_restore(middle, end, tmp / "back")
        return there.before, back.after, [there, back]


def test_photoprism_to_immich_and_back_loses_only_what_the_table_says(tmp_path: Path) -> None:
    before, after, runs = round_trip("photoprism", "immich", tmp_path)
    assert all(r.first.exit_code == 0 and r.second.exit_code == 0 for r in runs)
    expected = {}
    for files, photo in before.items():
        # Lost on the way (README's table): the private mark (Immich has none), the XMP file
        # (Immich keeps it but its API serves no sidecar), a title beside a caption; a title
        # a person gave comes back as the caption, and PhotoPrism makes up a new title; tags
        # (keywords a person set) come back as manual labels, capitalised.
        back = replace(photo, private=False, sidecars=frozenset(), tags=as_labels(photo.tags),
                       text=photo.text or ("Harbour" if photo.title == "Harbour" else ""),
                       title=after[files].title if files in after else "")
        expected[files] = back
    assert after == expected


def test_immich_to_photoprism_and_back_loses_only_what_the_table_says(tmp_path: Path) -> None:
    before, after, runs = round_trip("immich", "photoprism", tmp_path)
    assert all(r.first.exit_code == 0 and r.second.exit_code == 0 for r in runs)
    # Lost on the way: the rating (PhotoPrism has none); tags come back as PhotoPrism
    # capitalised them as labels ("Travel/Italy" as it was).
    expected = {files: replace(photo, rating=0, tags=as_tags(as_labels(photo.tags)))
                for files, photo in before.items()}
    assert after == expected
    lost = [n.what for n in runs[0].first.not_carried]
    assert lost == ["rating"]


def test_a_restore_never_changes_the_mirror_nor_logs_a_secret(
        migrations: dict[str, Migration], capfd: pytest.CaptureFixture[str]) -> None:
    for migration in migrations.values():
        snapshot = {p: p.read_bytes() for p in migration.mirror.rglob("*")
                    if p.is_file() and ".ppsync" not in p.parts}
        key = str(migration.target.section.get("api_key") or PASSWORD)
        report = run_restore(load_config(migration.mirror.parent / "ppsync.toml", {}), "to")
        assert report.exit_code == 0
        assert {p: p.read_bytes() for p in migration.mirror.rglob("*")
                if p.is_file() and ".ppsync" not in p.parts} == snapshot
        out = capfd.readouterr()
        assert key not in out.out + out.err
        assert key not in json.dumps([str(n) for n in report.not_carried])


@pytest.mark.parametrize("step", ["/stacks", "/assets/"])
def test_a_migration_interrupted_mid_photo_is_finished_by_the_next_run(
        migrations: dict[str, Migration], tmp_path: Path, step: str) -> None:
    """The server fails while a photo is being made whole (its stack, or its live link and
    attributes): the next run finishes every photo, and the library ends as an uninterrupted
    migration leaves it."""
    with ExitStack() as stack:
        source, target = server("photoprism", stack), server("immich", stack)
        seed_photoprism(source.fake)  # type: ignore[arg-type]
        settings = load_config(mirrored(
            source, {**target.section, "retries": 0, "retry_backoff": 0.01}, tmp_path), {})
        faults = target.fake.faults
        faults.fail_path_contains, faults.fail_next_requests, faults.fail_status = step, 1, 500
        if step == "/assets/":  # a PUT on an asset: a live link or an attribute
            faults.fail_path_contains = "/api/assets/"
        broken = run_restore(settings, "to")
        assert broken.exit_code != 0 and broken.error
        finished = run_restore(settings, "to")
        assert finished.exit_code == 0 and finished.failures == [], finished
        after, before = target.view(), source.view()
        # As an uninterrupted migration leaves it (photos seeded now are dated now) ...
        assert {k: replace(v, taken="") for k, v in after.items()} == {
            k: replace(v, taken="") for k, v in migrations["photoprism-to-immich"].after.items()}
        # ... and every photo dated as in its source.
        assert {k: v.taken for k, v in after.items()} == {k: v.taken for k, v in before.items()}


def test_what_was_not_carried_shows_in_status(migrations: dict[str, Migration]) -> None:
    migration = migrations["photoprism-to-immich"]
    config = migration.mirror.parent / "ppsync.toml"
    text = run_cli(config, "status")
    assert text.returncode == 0
    assert "not carried 1 (no place on the target" in text.stdout
    runs = json.loads(run_cli(config, "status", "--json").stdout)["runs"]
    restores = [r for r in runs if r["command"] == "restore"]
    assert restores and restores[0]["not_carried"][0]["what"] == "private"


@pytest.mark.parametrize("how", ["upload", "copy"])
def test_row_originals_unrelated_photos_with_one_base_name_stay_apart(
        tmp_path: Path, how: str) -> None:
    """An Immich library: a lone IMG_0020.JPG, an unrelated live photo IMG_0020.HEIC + .MOV and
    a stack, all in one month. Into PhotoPrism (which takes the files of a folder sharing a
    base name for one photo), by upload and by copy into its originals folder + index."""
    with ExitStack() as stack:
        source, target = server("immich", stack), server("photoprism", stack)
        user = ImmichUser(source.fake)  # type: ignore[arg-type]
        user.upload("IMG_0020.JPG", blob("lone"), taken=TAKEN)
        user.upload_live(("IMG_0020.HEIC", blob("live")), ("IMG_0020.MOV", blob("video")),
                         taken=TAKEN)
        top = user.upload("IMG_0030.jpg", blob("top"), taken=TAKEN)
        under = user.upload("IMG_0030-edit.jpg", blob("edited"), taken=TAKEN)
        raw = user.upload("IMG_0030.dng", blob("raw"), taken=TAKEN)
        user._call("POST", "/stacks", json={"assetIds": [top, under, raw]})
        if how == "copy":
            originals = tmp_path / "originals"
            originals.mkdir()
            assert isinstance(target.fake, FakePhotoPrism)
            target.fake.originals_dir = str(originals)
            target.section["originals_path"] = str(originals)
        migration = mirror_and_restore(source, target, tmp_path / "run")
        assert migration.first.exit_code == 0 and migration.first.failures == []
        # Every photo arrived as one photo; the stack's second JPEG cannot share its photo's
        # name in PhotoPrism and arrives as a photo of its own, reported.
        stacked = next(p for p in migration.before.values() if len(p.files) == 3)
        split = frozenset({sha1(blob("edited"))})
        assert set(migration.after) == (set(migration.before) - {stacked.files}) | {
            stacked.files - split, split}
        assert [(n.path, n.what) for n in migration.first.not_carried] == [
            ("2024/05/IMG_0030-edit.jpg", "grouping")]
        assert migration.second_writes == []


def test_a_dry_run_migration_says_what_it_would_do_and_changes_nothing(
        tmp_path: Path) -> None:
    with ExitStack() as stack:
        source, target = server("photoprism", stack), server("immich", stack)
        seed_photoprism(source.fake)  # type: ignore[arg-type]
        settings = load_config(mirrored(source, target.section, tmp_path), {})
        target.reset()
        dry = run_restore(settings, "to", dry_run=True)
        assert dry.exit_code == 0 and dry.failures == [], dry
        assert target.write_requests() == [] and target.view() == {}
        # Every file, the RAW+JPEG stack, the live link, the XMP riding on its JPEG.
        assert (dry.uploaded, dry.stacked, dry.live_linked, dry.sidecars_sent) == (8, 1, 1, 1)
        assert [n.what for n in dry.not_carried] == ["private"]


def test_a_key_that_may_not_stack_stops_with_exit_3_before_any_upload_and_a_full_key_finishes(
        tmp_path: Path) -> None:
    with ExitStack() as stack:
        source, target = server("photoprism", stack), server("immich", stack)
        seed_photoprism(source.fake)  # type: ignore[arg-type]
        assert isinstance(target.fake, FakeImmich)
        narrow = target.fake.add_key(("asset.upload", "asset.read", "asset.update",
                                      "asset.download", "user.read", "album.read",
                                      "album.create", "albumAsset.create", "tag.create",
                                      "tag.asset", "tag.read"))
        path = mirrored(source, {**target.section, "api_key": narrow, "retries": 0}, tmp_path)
        result = run_cli(path, "restore", "--to", "to")
        assert result.returncode == 3, result.stdout + result.stderr
        assert "stack.create" in result.stdout and narrow not in result.stdout + result.stderr
        assert target.fake.lib.assets == {}  # named before any upload (permissions first)
        path.write_text(path.read_text().replace(narrow, target.section["api_key"]))
        finished = run_cli(path, "restore", "--to", "to")
        assert finished.returncode == 0, finished.stdout + finished.stderr
        assert "uploaded 8 " in finished.stdout and "stacked 1" in finished.stdout
