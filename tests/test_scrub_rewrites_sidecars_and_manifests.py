"""The scrub also mends what ppsync writes beside the originals, for both kinds of server: a
metadata sidecar edited, truncated or deleted by hand is written again when its original's
turn comes; an album manifest (``.album.json``) that no longer matches is written again when
its album's turn comes. Passes run with the test's clock, between full walks."""

from __future__ import annotations

from pathlib import Path

from tests.kinds import Library
from tests.test_scrub_finds_and_repairs_damage import DAY, Clock, a_pass, age_library, settings


def test_edited_sidecars_and_manifests_are_written_again_within_a_cycle(
        lib: Library, tmp_path: Path, target: Path) -> None:
    keys = [lib.add(f"2024/M_{n}.jpg", f"meta {n} ".encode() * 90) for n in range(6)]
    lib.album("Holiday", keys[:3])
    config = settings(lib, tmp_path, target, metadata={"sidecars": "json"},
                      albums={"mode": "symlink"}, scrub={"every": "6d", "max_rate": 0})
    clock = Clock()
    assert a_pass(config, clock).exit_code == 0
    age_library(lib)
    sidecars = {n: target / (lib.path(f"2024/M_{n}.jpg") + ".ppsync.json") for n in range(6)}
    manifest = target / "Albums" / "Holiday" / ".album.json"
    written = {n: p.read_bytes() for n, p in sidecars.items()}
    album = manifest.read_bytes()
    sidecars[1].write_bytes(written[1].replace(b'"favorite": false', b'"favorite": true'))
    sidecars[2].write_bytes(written[2][:20])
    sidecars[4].unlink()
    manifest.write_bytes(album.replace(b"Holiday", b"Holidya"))
    assert sidecars[1].read_bytes() != written[1]

    rewritten = 0
    for _ in range(6):  # one cycle of `every`, a pass a day
        clock.now += DAY
        report = a_pass(config, clock)
        assert report.exit_code == 0, report.failures
        rewritten += report.sidecars_rewritten
    assert {n: p.read_bytes() for n, p in sidecars.items()} == written
    assert rewritten == 3
    assert manifest.read_bytes() == album
