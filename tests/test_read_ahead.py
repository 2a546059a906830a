"""``read_ahead`` hands over each item as it comes and never holds its caller: a caller that
fails, or stops early, is not kept waiting for the item in the making (a search page on a hung
server can take timeout x retries); that item's thread ends on its own once its request does."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from ppsync.servers.read_ahead import read_ahead


def _pages(release: threading.Event, made: list[int]) -> Iterator[int]:
    made.append(1)
    yield 1
    release.wait(10)  # the next page hangs until released (a hung server)
    made.append(2)
    yield 2


def _ahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("test-ahead")]


@pytest.mark.parametrize("how", ["fails", "stops early"])
def test_a_caller_that_leaves_is_not_held_by_the_item_in_the_making(how: str) -> None:
    release, made = threading.Event(), []
    started = time.monotonic()

    def walk() -> None:
        for page in read_ahead(_pages(release, made), "test-ahead"):
            assert page == 1
            time.sleep(0.2)  # the next page is on its way (and hangs)
            if how == "fails":
                raise OSError("database or disk is full")
            break

    if how == "fails":
        with pytest.raises(OSError, match="disk is full"):
            walk()
    else:
        walk()
    assert time.monotonic() - started < 5  # not the 10 s the next page hangs
    assert _ahead_threads()  # the hung page's thread is still waiting for its answer
    release.set()
    deadline = time.monotonic() + 5
    while _ahead_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _ahead_threads()  # and ends once it has it
    assert made == [1, 2]


def test_every_item_comes_in_order_and_a_source_error_where_its_item_would() -> None:
    def source() -> Iterator[int]:
        yield from range(5)
        raise ValueError("page 6 is malformed")

    seen = []
    with pytest.raises(ValueError, match="malformed"):
        for item in read_ahead(source(), "test-ahead"):
            seen.append(item)
    assert seen == [0, 1, 2, 3, 4]
