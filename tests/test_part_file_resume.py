"""A complete ``.part`` found after a kill (the last byte written, the rename never done) is
verified and kept, not downloaded again: no request for its bytes, no "range not satisfiable"
answer. A ``.part`` of the right length but wrong bytes, or longer than the original, starts
over and the mirror still ends byte for byte right. Either kind of server, passes in sequence."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ConfigFactory, run_cli
from tests.kinds import Library

CONTENT = bytes(range(256)) * 400  # 100 KiB


def _leave_a_partial(lib: Library, target: Path, config: Path) -> Path:
    """A first pass whose download breaks off (the server closes early) leaves the .part."""
    lib.truncate_next_downloads(50)  # every retry of the pass breaks off too
    first = run_cli(config, "sync")
    assert first.returncode in (1, 3), first.stderr  # a failed file, or "cannot reach"
    parts = list((target / ".ppsync" / "partial").glob("*.part"))
    assert len(parts) == 1 and 0 < parts[0].stat().st_size < len(CONTENT)
    lib.truncate_next_downloads(0)
    return parts[0]


def test_a_complete_part_is_verified_and_kept(lib: Library, target: Path,
                                              lib_config: ConfigFactory) -> None:
    lib.add("keep/a.jpg", CONTENT)
    config = lib_config(log={"level": "debug", "format": "json"})
    part = _leave_a_partial(lib, target, config)
    part.write_bytes(CONTENT)  # killed after the last byte, before the rename
    before = lib.download_count()
    second = run_cli(config, "sync")
    assert second.returncode == 0, second.stderr
    assert lib.download_count() == before  # not one byte asked for again
    assert "range not satisfiable" not in second.stderr
    assert (target / lib.path("keep/a.jpg")).read_bytes() == CONTENT
    assert not part.exists()
    # And the next pass finds nothing to do.
    third = run_cli(config, "sync", "--full")
    assert third.returncode == 0 and lib.download_count() == before


def test_a_complete_part_with_wrong_bytes_or_too_many_starts_over(
    lib: Library, target: Path, lib_config: ConfigFactory
) -> None:
    lib.add("keep/a.jpg", CONTENT)
    config = lib_config(log={"level": "debug", "format": "json"})
    part = _leave_a_partial(lib, target, config)
    part.write_bytes(b"\0" * len(CONTENT))  # the right length, not the right bytes
    second = run_cli(config, "sync")
    assert second.returncode == 0, second.stderr
    assert "range not satisfiable" not in second.stderr
    assert (target / lib.path("keep/a.jpg")).read_bytes() == CONTENT

    lib.add("keep/b.jpg", CONTENT[::-1])
    part = _leave_a_partial(lib, target, config)
    part.write_bytes(CONTENT[::-1] + b"extra")  # more than the original
    third = run_cli(config, "sync")
    assert third.returncode == 0, third.stderr
    assert (target / lib.path("keep/b.jpg")).read_bytes() == CONTENT[::-1]
    assert (target / lib.path("keep/a.jpg")).read_bytes() == CONTENT
