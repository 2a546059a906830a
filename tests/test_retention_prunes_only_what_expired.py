"""``[retention]``: months of passes in one process, on a clock the test turns (no sleeps), for
both kinds of server. Deletions (``delete = "trash"``) and edits (old versions in replaced/)
are set aside; retention prunes exactly what expired, or the oldest beyond ``max_size``, only
after a pass that succeeded, and nothing else: not the mirror, not a damaged copy, not an
item the state learns of late (counted from when it was first seen, never from its mtime).
``plan``, the run summary, ``status`` and the metrics say what is set aside and what went."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from prometheus_client import generate_latest

from ppsync.config import load_config
from ppsync.errors import ConfigError
from ppsync.mirror.retention import Limits, items_of, plan_pruning, plan_room
from ppsync.mirror.sync import PassOptions, run_sync
from ppsync.models import Action, ActionKind, RunReport
from ppsync.report import summary_lines
from ppsync.service.monitor import Metrics
from ppsync.state import MIGRATIONS, AsideRow
from tests.conftest import config_file, mirrored_files, run_cli
from tests.kinds import Library

DAY = 86400.0
T0 = 1_780_000_000.0  # 2026-05-28: the first pass of every sequence here


class Clock:
    """The time the passes see: turned by the test, never by waiting."""

    def __init__(self) -> None:
        self.now = T0

    def day(self, days: float) -> None:
        self.now = T0 + days * DAY

    def __call__(self) -> float:
        return self.now


def make_pass(lib: Library, tmp_path: Path, target: Path, clock: Clock,
              **sections: dict[str, Any]) -> Callable[..., RunReport]:
    """One full pass with ``sections`` (plus ``delete = "trash"``) on ``clock``."""
    merged = {**sections, "mirror": {"delete": "trash", **sections.get("mirror", {})}}
    config = config_file(tmp_path / "ppsync.toml", lib.server_section(), target, merged)

    def run(*, plan: bool = False, shown: list[Action] | None = None) -> RunReport:
        return run_sync(load_config(config, {}), PassOptions(
            command="plan" if plan else "sync", dry_run=plan, clock=clock,
            on_action=None if shown is None else shown.append))

    return run


def aside(target: Path) -> dict[str, bytes]:
    """Everything under .ppsync/trash and .ppsync/replaced, by path relative to .ppsync."""
    meta = target / ".ppsync"
    return {p.relative_to(meta).as_posix(): p.read_bytes()
            for area in ("trash", "replaced") for p in (meta / area).rglob("*") if p.is_file()}


def assert_mirror_is_the_server(lib: Library, target: Path) -> None:
    assert {path: hashlib.sha1(body).hexdigest()
            for path, body in mirrored_files(target).items()} == lib.hashes()


def test_deletions_and_edits_are_pruned_when_they_expire_and_not_before(
        lib: Library, tmp_path: Path, target: Path) -> None:
    clock = Clock()
    sync = make_pass(lib, tmp_path, target, clock, retention={"keep_days": 30})
    a = lib.add("2024/A.jpg", b"a" * 3000)
    b = lib.add("2024/B.jpg", b"b" * 5000)
    c = lib.add("2024/C.jpg", b"c" * 7000)
    lib.add("2024/D.jpg", b"d" * 900)
    assert sync().exit_code == 0

    clock.day(1)
    lib.remove(a)
    first = sync()
    assert first.exit_code == 0 and first.trashed == 1 and first.pruned == 0
    assert (first.aside_files, first.aside_bytes, first.aside_oldest) == (1, 3000, clock.now)

    clock.day(10)
    lib.replace(b, b"B" * 5000)  # an edit: the old version is set aside
    assert sync().kept_aside == 1
    clock.day(20)
    lib.remove(c)
    assert sync().trashed == 1
    assert sorted(aside(target).values()) == [b"a" * 3000, b"b" * 5000, b"c" * 7000]

    clock.day(31)  # A is 30 days old: kept for 30 days, not one second less
    assert sync().pruned == 0 and len(aside(target)) == 3
    clock.now += 1  # now it has been set aside longer than keep_days
    report = sync()
    assert report.exit_code == 0 and (report.pruned, report.pruned_bytes) == (1, 3000)
    assert sorted(aside(target).values()) == [b"b" * 5000, b"c" * 7000]
    assert (report.aside_files, report.aside_bytes) == (2, 12000)
    assert report.aside_oldest == T0 + 10 * DAY
    assert "  set aside: 2 files (11.7 KiB), oldest 2026-06-07; pruned 1 (2.9 KiB)" \
        in summary_lines(report)
    assert_mirror_is_the_server(lib, target)

    clock.day(45)  # B's old version expired, but a pass that fails prunes nothing
    lib.fail_listing(50)
    failed = sync()
    assert failed.exit_code != 0 and failed.pruned == 0 and len(aside(target)) == 2
    assert failed.aside_files == 2  # still counted, so status shows it grow
    lib.fail_listing(0)
    report = sync()
    assert report.exit_code == 0 and report.pruned == 1
    assert list(aside(target).values()) == [b"c" * 7000]  # C, 25 days old, stays
    assert_mirror_is_the_server(lib, target)

    clock.day(52)
    assert sync().pruned == 1 and aside(target) == {}
    assert_mirror_is_the_server(lib, target)


def test_max_size_prunes_the_oldest_first_and_a_percentage_is_of_the_mirror(
        lib: Library, tmp_path: Path, target: Path) -> None:
    clock = Clock()
    keys = [lib.add(f"2024/S{n}.jpg", bytes([65 + n]) * 4000) for n in range(4)]
    lib.add("2024/KEEP.jpg", b"k" * 20000)
    sync = make_pass(lib, tmp_path, target, clock, retention={"max_size": 9000})
    assert sync().exit_code == 0
    for day, key in ((1, keys[1]), (2, keys[2]), (3, keys[0])):  # not in name order
        clock.day(day)
        lib.remove(key)
        assert sync().exit_code == 0
    # 12,000 bytes set aside, 9,000 allowed: the one set aside first (S1, day 1) went when
    # the third arrived, and only it.
    assert sorted(aside(target).values()) == [b"A" * 4000, b"C" * 4000]

    # 10% of the mirror's 24,000 bytes of originals: 2,400, so the older of the two goes too
    # (the newer one alone is still over it: then it goes as well; the mirror never does).
    clock.day(4)
    sync = make_pass(lib, tmp_path, target, clock, retention={"max_size": "10%"})
    report = sync()
    assert report.exit_code == 0 and report.pruned == 2 and aside(target) == {}
    assert_mirror_is_the_server(lib, target)


def test_plan_shows_what_would_be_pruned_and_changes_nothing(
        lib: Library, tmp_path: Path, target: Path) -> None:
    clock = Clock()
    sync = make_pass(lib, tmp_path, target, clock, retention={"keep_days": 7})
    old, new = lib.add("2024/OLD.jpg", b"o" * 1000), lib.add("2024/NEW.jpg", b"n" * 2000)
    lib.add("2024/STAYS.jpg", b"s" * 10)  # a library that empties is a safety stop
    assert sync().exit_code == 0
    lib.remove(old)
    assert sync().trashed == 1
    clock.day(5)
    lib.remove(new)
    assert sync().trashed == 1

    clock.day(8)
    shown: list[Action] = []
    plan = sync(plan=True, shown=shown)
    prunes = [a for a in shown if a.kind is ActionKind.PRUNE]
    assert [a.path for a in prunes] == [f".ppsync/trash/{lib.path('2024/OLD.jpg')}"]
    assert prunes[0].describe().startswith(f"prune    .ppsync/trash/{lib.path('2024/OLD.jpg')}"
                                           " (expired; set aside 2026-05-28")
    assert (plan.pruned, plan.pruned_bytes) == (1, 1000)
    assert any("would prune 1" in line for line in summary_lines(plan))
    assert len(aside(target)) == 2  # a plan removes nothing

    report = sync()
    assert report.pruned == 1 and list(aside(target).values()) == [b"n" * 2000]


def test_items_the_state_learns_of_late_are_counted_from_then_and_damaged_copies_stay(
        lib: Library, tmp_path: Path, target: Path) -> None:
    """What a state of schema 5 (before retention) finds set aside is adopted as set aside at
    the first pass after the upgrade, whatever its mtime (the photo's): nothing is pruned at
    once. A damaged copy that ``verify --repair`` kept in replaced/ is never pruned."""
    lib.add("2024/X.jpg", b"x" * 500)
    meta = target / ".ppsync"
    meta.mkdir(mode=0o700)
    db = sqlite_utils.Database(meta / "state.db")  # a state as ppsync 5 left it
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    for migrate in MIGRATIONS[:5]:
        migrate(db)
    db.execute("INSERT INTO meta VALUES ('schema_version', '5')")
    db.conn.commit()
    db.close()
    old = meta / "trash" / "2015" / "IMG_OLD.jpg"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"old" * 100)
    os.utime(old, (1_420_000_000, 1_420_000_000))  # taken in 2015
    damaged = meta / "replaced" / "2024" / "Y.jpg~damaged-0123456789ab"
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(b"rot" * 10)

    clock = Clock()
    sync = make_pass(lib, tmp_path, target, clock, retention={"keep_days": 1})
    first = sync()
    assert first.exit_code == 0 and first.pruned == 0 and first.aside_files == 2
    clock.day(1)
    assert sync().pruned == 0
    clock.day(1.5)
    report = sync()
    assert report.exit_code == 0 and report.pruned == 1
    assert aside(target) == {"replaced/2024/Y.jpg~damaged-0123456789ab": b"rot" * 10}
    assert not (meta / "trash" / "2015").exists()  # the folder it left empty went too
    clock.day(400)
    assert sync().pruned == 0 and len(aside(target)) == 1


def test_status_and_metrics_show_what_is_set_aside(
        lib: Library, tmp_path: Path, target: Path) -> None:
    clock = Clock()
    sync = make_pass(lib, tmp_path, target, clock, retention={"keep_days": 10})
    keys = [lib.add(f"2024/M{n}.jpg", bytes([48 + n]) * 2048) for n in range(5)]
    assert sync().exit_code == 0
    lib.remove(keys[0])
    lib.remove(keys[1])
    assert sync().trashed == 2
    config = tmp_path / "ppsync.toml"
    status = run_cli(config, "status")
    assert status.returncode == 0
    assert "set aside (.ppsync/trash, .ppsync/replaced): 2 files, 4.0 KiB, oldest set aside " \
        "2026-05-28" in status.stdout

    clock.day(11)
    report = sync()
    assert report.pruned == 2
    status = run_cli(config, "status")
    assert "set aside (.ppsync/trash, .ppsync/replaced): 0 files, 0 B\n" in status.stdout
    assert "pruned 2 set aside (4.0 KiB)" in status.stdout
    as_json = json.loads(run_cli(config, "status", "--json").stdout)
    assert as_json["set_aside"] == {"files": 0, "bytes": 0, "oldest": None}
    assert as_json["runs"][0]["pruned"] == 2

    metrics = Metrics()
    metrics.record(report, 3, 3 * 2048)
    text = generate_latest(metrics.registry).decode()
    assert "ppsync_set_aside_pruned_files_total 2.0" in text
    assert "ppsync_set_aside_pruned_bytes_total 4096.0" in text
    assert "ppsync_set_aside_files 0.0" in text


@pytest.mark.parametrize(("section", "values", "message"), [
    ("retention", {"max_size": "lots"}, "retention.max_size: Value error, 'lots' is not a size"),
    ("retention", {"keep_days": 0}, "retention.keep_days: Input should be greater than or "
                                    "equal to 1"),
    ("mirror", {"min_free": "150%"}, "mirror.min_free: Value error, '150%': a percentage is "
                                     "at most 100%"),
    ("mirror", {"min_free": -5}, "mirror.min_free: Value error, a size cannot be negative"),
])
def test_bad_sizes_are_one_line_config_errors(tmp_path: Path, target: Path, section: str,
                                              values: dict[str, Any], message: str) -> None:
    config = config_file(tmp_path / "ppsync.toml", {"url": "http://127.0.0.1:9",
                                                     "password": "x"}, target,
                         {section: values})
    with pytest.raises(ConfigError) as caught:
        load_config(config, {})
    assert any(problem.startswith(message) for problem in caught.value.problems), \
        caught.value.problems


def test_sizes_take_units_percentages_and_the_environment(tmp_path: Path,
                                                          target: Path) -> None:
    config = config_file(tmp_path / "ppsync.toml", {"url": "http://127.0.0.1:9",
                                                    "password": "x"}, target,
                         {"retention": {"max_size": "50GiB"}})
    settings = load_config(config, {"PPSYNC_MIRROR__MIN_FREE": "2%"})
    assert settings.retention.max_size_limit is not None
    assert settings.retention.max_size_limit.of(0) == 50 * 2**30
    assert settings.mirror.min_free_limit.of(1000) == 20
    assert load_config(config, {}).mirror.min_free_limit.of(0) == 2**30  # the default
    assert load_config(config, {"PPSYNC_MIRROR__MIN_FREE": "0"}).mirror.min_free_limit.of(
        10**12) == 0


def test_the_plan_keeps_protected_items_and_prunes_a_photo_with_its_sidecars() -> None:
    """Pure (``mirror.retention``): an item and ppsync's sidecars beside it are one item, as
    old as its youngest part; a protected item (a file a record still points at) is never
    chosen, though its bytes count towards max_size."""
    rows = [AsideRow(".ppsync/trash/a.jpg", 100, T0),
            AsideRow(".ppsync/trash/a.jpg.ppsync.json", 10, T0 + 5 * DAY),
            AsideRow(".ppsync/replaced/b.jpg~ufile", 500, T0 - 50 * DAY),
            AsideRow(".ppsync/replaced/c.jpg~0123456789ab", 200, T0 + DAY)]
    items = items_of(rows, protected={".ppsync/replaced/b.jpg~ufile"})
    assert [i.key for i in items] == [".ppsync/replaced/b.jpg~ufile",
                                      ".ppsync/replaced/c.jpg~0123456789ab",
                                      ".ppsync/trash/a.jpg"]
    assert items[2].paths == (".ppsync/trash/a.jpg", ".ppsync/trash/a.jpg.ppsync.json")
    aged = plan_pruning(items, T0 + 20 * DAY, Limits(keep_seconds=16 * DAY))  # a: 15 days
    assert [(p.item.key, p.why) for p in aged] == [(".ppsync/replaced/c.jpg~0123456789ab",
                                                    "expired")]
    aged = plan_pruning(items, T0 + 20 * DAY, Limits(keep_seconds=14 * DAY))
    assert [p.item.key for p in aged] == [".ppsync/replaced/c.jpg~0123456789ab",
                                          ".ppsync/trash/a.jpg"]
    sized = plan_pruning(items, T0, Limits(max_bytes=650))  # 810 in all, 500 protected
    assert [(p.item.key, p.why) for p in sized] == [(".ppsync/replaced/c.jpg~0123456789ab",
                                                     "over max_size")]
    assert [p.item.key for p in plan_pruning(items, T0, Limits(max_bytes=0))] == [
        ".ppsync/replaced/c.jpg~0123456789ab", ".ppsync/trash/a.jpg"]
    assert [p.item.key for p in plan_room(items, 150)] == [
        ".ppsync/replaced/c.jpg~0123456789ab"]
    assert plan_pruning(items, T0 + 1000 * DAY, Limits()) == []  # the defaults keep all
