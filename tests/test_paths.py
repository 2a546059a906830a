"""Server file names are data: hostile ones are refused, ordinary ones kept exactly."""

from __future__ import annotations

import pytest

from ppsync.errors import UnsafePathError
from ppsync.mirror.paths import safe_relative_path


@pytest.mark.parametrize("name", [
    "2024/05/IMG_4711.jpg", "Urlaub 2023/Strand am Meer.JPG", "写真/東京.heic",
    "a\\b.jpg", "C:foo.jpg", "x/.hidden.jpg", "é/é.jpg",
])
def test_ordinary_names_are_kept_exactly(name: str) -> None:
    assert safe_relative_path(name) == name


@pytest.mark.parametrize("name", [
    "", "/etc/passwd", "../outside.jpg", "a/../../b.jpg", "a/./b.jpg", "a//b.jpg", "a/",
    "nul\x00.jpg", "x" * 256, "a/" * 2100 + "b", ".ppsync/state.db", "\udc80.jpg", "..",
])
def test_hostile_names_are_refused(name: str) -> None:
    with pytest.raises(UnsafePathError):
        safe_relative_path(name)
