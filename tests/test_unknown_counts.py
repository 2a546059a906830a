"""A full walk whose library totals cannot be read (review item 1).

A client whose scope lacks ``config`` gets the public config on a current server
(photoprism-api-changes.md §1): no totals before or after the walk, so they cannot show that the
library changed under it. Rows that shift while it pages must not turn into deletions: the files
missing from such a walk are looked up again by hash before anything is removed.

Immich's totals come from ``/assets/statistics``: a key without ``asset.statistics`` is told
by ``check`` what that costs, in Immich's terms, and statistics that fail after their retries cost
the count, not the pass (each removal is confirmed per asset)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ppsync.config import load_config
from ppsync.mirror.sync import run_sync
from ppsync.models import RunReport
from tests.conftest import PASSWORD, ConfigFactory, mirrored_files, run_cli, write_config
from tests.fake_immich import FakeImmich, ImmichUser
from tests.fake_photoprism import FakePhotoPrism
from tests.test_client_credentials import NARROW, client_config
from tests.test_immich_mirror_follows_library_changes import photos, settings_for, sync


@pytest.fixture(params=[False, True], ids=["old-api", "new-api"])
def server(request: pytest.FixtureRequest) -> Iterator[FakePhotoPrism]:
    with FakePhotoPrism(password=PASSWORD, new_api=request.param) as fake:
        yield fake


def six_photos(server: FakePhotoPrism) -> list[str]:
    return [server.add_photo([(f"p{n}.jpg", f"c{n}".encode())]).uid for n in range(6)]


def narrow_sync(server: FakePhotoPrism, make_config: ConfigFactory, config: Path | None,
                policy: str) -> tuple[Path, RunReport]:
    config = config or client_config(make_config, server.add_client(NARROW),
                                     mirror={"delete": policy, "page_size": 2})
    return config, run_sync(load_config(config, {}))


@pytest.fixture
def immich(v2: FakeImmich) -> FakeImmich:
    return v2


@pytest.mark.parametrize("policy", ["trash", "mirror"])
def test_rows_shifting_under_a_narrow_walk_remove_nothing_the_server_holds(
    server: FakePhotoPrism, target: Path, make_config: ConfigFactory, policy: str,
) -> None:
    uids = six_photos(server)  # listed newest first: p5 p4 | p3 p2 | p1 p0
    config, report = narrow_sync(server, make_config, None, policy)
    assert report.exit_code == 0 and len(mirrored_files(target)) == 6

    def delete_p5_after_the_first_page(query: dict[str, str]) -> None:
        if query.get("offset") == "0" and "hash" not in query and server.faults.after_search:
            server.faults.after_search = None
            server.delete_photo(uids[5])  # p3 moves up into the first page, already served

    server.faults.after_search = delete_p5_after_the_first_page
    _, report = narrow_sync(server, make_config, config, policy)
    assert report.exit_code == 4, report
    assert report.safety_stop
    assert report.trashed == report.deleted == 0
    assert (target / "p3.jpg").read_bytes() == b"c3"
    assert (target / "p5.jpg").exists()  # nothing at all is removed on such a walk

    _, report = narrow_sync(server, make_config, config, policy)  # a quiet walk: p5 goes
    assert report.exit_code == 0, report
    assert report.trashed + report.deleted == 1
    assert not (target / "p5.jpg").exists() and (target / "p3.jpg").exists()
    if policy == "trash":
        assert list(target.glob(".ppsync/trash/**/p5.jpg"))


def test_check_says_what_a_scope_without_totals_means(
    server: FakePhotoPrism, make_config: ConfigFactory,
) -> None:
    config = client_config(make_config, server.add_client(NARROW))
    result = run_cli(config, "check")
    assert result.returncode == 0, result.stderr
    if server.new_api:  # the public config: no totals
        assert "looked up again by hash" in result.stdout and "star" in result.stdout
    else:
        assert "counts: albums 0, all 0" in result.stdout


def test_check_explains_missing_counts_in_immich_terms(
        immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    photos(ImmichUser(immich), 1)
    key = immich.add_key(("asset.read", "asset.download", "user.read"))
    path = write_config(tmp_path / "c.toml", {
        "server": {"kind": "immich", "url": immich.url, "api_key": key, "retries": 0},
        "mirror": {"target": str(target)}})
    out = run_cli(path, "check").stdout
    assert "counts: unknown" in out
    assert "'config' or '*'" not in out and "a star waits" not in out, out
    assert "asset.statistics" in out and "GET /api/assets/{id}" in out, out


def test_statistics_failing_after_retries_costs_the_count_not_the_pass(
        immich: FakeImmich, tmp_path: Path, target: Path) -> None:
    user = ImmichUser(immich)
    ids = photos(user, 3)
    settings = settings_for(immich, tmp_path, target, mirror={"delete": "trash"})
    assert sync(settings).exit_code == 0
    user.trash(ids[0])
    immich.faults.fail_path_contains = "/assets/statistics"
    immich.faults.fail_next_requests = 100  # every attempt of this pass: 500
    report = sync(settings)
    assert immich.faults.fail_next_requests < 100  # the count was asked, and failed
    assert report.exit_code == 0 and report.walk_complete, report.error
    assert report.trashed == 1  # the removal was confirmed per asset, count or not
    assert set(mirrored_files(target)) == {"2024/05/IMG_1.jpg", "2024/05/IMG_2.jpg"}
