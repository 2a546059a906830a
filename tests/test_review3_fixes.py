"""Fixes for review 3 (tests/test_review3.py on the review3 branch), findings 1-4 of the fix
brief: each test failed before its fix. Against the fakes over loopback, with a real state and
real files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli, write_config
from tests.fake_immich import FakeImmich, ImmichUser

T0 = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)


def _forget_identity(target: Path) -> None:
    from ppsync.mirror.identity import IDENTITY_KEY
    from ppsync.state import State

    state = State.open(target / ".ppsync" / "state.db")
    try:
        state.delete_meta(IDENTITY_KEY)  # as written by a ppsync before identities
    finally:
        state.close()


@pytest.fixture
def fake() -> Iterator[FakeImmich]:
    with FakeImmich(generation="v2.5") as f:
        yield f


# --- sidecars without album.read: written, without album names, and `check` says so ----------


def _sidecar_config(fake: FakeImmich, tmp_path: Path, target: Path, key: str) -> Path:
    return write_config(tmp_path / "c.toml", {
        "server": {"kind": "immich", "url": fake.url, "api_key": key, "timeout": 10,
                   "retries": 1, "retry_backoff": 0.01},
        "mirror": {"target": str(target)},
        "metadata": {"sidecars": "json"}})


def test_sidecars_without_album_read_are_written_without_album_names(
        fake: FakeImmich, tmp_path: Path, target: Path) -> None:
    """The README asks album.read only for album folders: a key without it still gets its
    sidecars, pass after pass, with one warning a pass; `check` names what it costs."""
    import json

    user = ImmichUser(fake)
    asset = user.upload("a.jpg", b"a" * 300, taken=T0)
    user.add_to_album(user.create_album("Holidays"), asset)
    key = fake.add_key(("asset.read", "asset.view", "asset.download", "user.read",
                        "asset.statistics"))
    config = _sidecar_config(fake, tmp_path, target, key)
    check = run_cli(config, "check")
    out = check.stdout + check.stderr
    assert "cannot serve sidecars (album names): the API key lacks album.read" in out, out
    assert "lacking album.read" in out, out
    for n in range(2):  # the second pass reads the albums again (a new pass), and warns again
        user.describe(asset, f"pass {n}")  # its sidecar is written again
        result = run_cli(config, "sync")
        out = result.stdout + result.stderr
        assert result.returncode == 0, out
        sidecars = [p for p in target.rglob("*.json") if ".ppsync" not in p.parts]
        assert len(sidecars) == 1, f"pass {n}: {out}"
        assert json.loads(sidecars[0].read_text())["albums"] == [], sidecars[0].read_text()
        assert f"pass {n}" in sidecars[0].read_text()
        assert out.count("the sidecars of this pass name no album") == 1, out


def test_the_album_map_asks_for_member_ids_only(fake: FakeImmich, tmp_path: Path,
                                                target: Path) -> None:
    """The map behind the sidecars' albums holds ids: its member searches ask no EXIF."""
    import json

    user = ImmichUser(fake)
    asset = user.upload("a.jpg", b"a" * 300, taken=T0)
    album = user.create_album("Holidays")
    user.add_to_album(album, asset)
    config = _sidecar_config(fake, tmp_path, target, fake.add_key(("all",)))
    seen: list[dict[str, Any]] = []
    fake.faults.after_search = seen.append
    assert run_cli(config, "sync").returncode == 0
    sidecars = [p for p in target.rglob("*.json") if ".ppsync" not in p.parts]
    assert [json.loads(p.read_text())["albums"] for p in sidecars] == [[album]]
    members = [body for body in seen if body.get("albumIds")]
    assert members and not any(body.get("withExif") for body in members), members

