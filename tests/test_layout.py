"""The ``[mirror] layout`` template and the collision rule (``ppsync.mirror.layout``)."""

from __future__ import annotations

import random
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ppsync.errors import ConfigError, UnsafePathError
from ppsync.mirror.layout import (
    Claim,
    PathFields,
    companion_path,
    default_layout,
    parse_layout,
    render,
    resolve,
    suffixed,
)
from ppsync.mirror.paths import safe_relative_path

IMMICH = parse_layout(default_layout("immich"), server_kind="immich")
TAKEN = datetime(2024, 1, 31, 23, 30)  # local wall clock: still January


def fields(name: str = "IMG_1.jpg", key: str = "a1", taken: datetime | None = TAKEN,
           server_path: str | None = None) -> PathFields:
    return PathFields(key, name, taken, server_path)


# -- templates ---------------------------------------------------------------------------------


def test_defaults_per_server_kind() -> None:
    assert render(IMMICH, fields()) == "2024/01/IMG_1.jpg"
    photoprism = parse_layout(default_layout("photoprism"), server_kind="photoprism")
    assert render(photoprism, fields(server_path="2024/Trip/IMG_1.jpg")) == "2024/Trip/IMG_1.jpg"


def test_every_placeholder() -> None:
    layout = parse_layout("{server_dir}/{year}-{month}-{day}/{stem}_{id}.{ext}",
                          server_kind="photoprism")
    assert render(layout, fields("IMG_1.HEIC", key="f9", server_path="Trip/x.HEIC")) == \
        "Trip/2024-01-31/IMG_1_f9.HEIC"
    # an empty server folder leaves no empty component behind
    assert render(layout, fields("IMG_1.HEIC", key="f9", server_path="x.HEIC")) == \
        "2024-01-31/IMG_1_f9.HEIC"


def test_local_taken_time_not_utc_and_unknown_dates() -> None:
    from datetime import timedelta, timezone
    late = datetime(2024, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert render(IMMICH, fields(taken=late)) == "2024/12/IMG_1.jpg"  # not 2025/01 in UTC
    assert render(IMMICH, fields(taken=None)) == "0000/00/IMG_1.jpg"


def test_literal_braces() -> None:
    layout = parse_layout("{{x}}/{original_name}", server_kind="immich")
    assert render(layout, fields()) == "{x}/IMG_1.jpg"


@pytest.mark.parametrize(("template", "says"), [
    ("{year}/{album}/{original_name}", "unknown placeholder {album}"),
    ("{year:04d}/{original_name}", "takes no format spec"),
    ("{server_path}", "not available for a immich server"),
    ("/{year}/{original_name}", "not a relative path"),
    ("{year}/../{original_name}", "not a relative path"),
    ("{year}//{original_name}", "not a relative path"),
    (".ppsync/{original_name}", "not a relative path"),
    ("{year}/{month}", "must contain {original_name}"),
    ("{original_name}/{year}", "must contain {original_name}"),
    ("{year}/{stem}.jpg", "must contain {original_name}"),
    ("{year}/{id}", "must contain {original_name}"),
    ("{year}/{original_name", "write {{ or }}"),
])
def test_bad_templates_are_config_errors_naming_the_key(template: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_layout(template, server_kind="immich")
    assert "mirror.layout" in str(caught.value) and says in str(caught.value)


def test_all_problems_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_layout("{a}/{b}/{original_name}", server_kind="immich")
    assert len(caught.value.problems) == 2


@pytest.mark.parametrize(("name", "reason"), [
    ("", "empty"), ("a/b.jpg", "slash"), ("../x.jpg", "slash"), ("..", "'..'"), (".", "'.'"),
    ("/etc/passwd", "absolute"), ("a\x00.jpg", "NUL"), ("x" * 252 + ".jpg", "255 bytes"),
    ("\udcff.jpg", "unicode"),
])
def test_hostile_original_names_are_refused_with_the_reason(name: str, reason: str) -> None:
    with pytest.raises(UnsafePathError, match=reason):
        render(IMMICH, fields(name))


def test_a_hostile_server_path_is_refused() -> None:
    photoprism = parse_layout("{server_path}", server_kind="photoprism")
    for bad in ("../x.jpg", "/abs.jpg", "a//b.jpg", ".ppsync/state.db"):
        with pytest.raises(UnsafePathError):
            render(photoprism, fields(server_path=bad))
    with pytest.raises(UnsafePathError, match="no path"):
        render(photoprism, fields(server_path=None))


def test_a_live_photo_video_sits_next_to_its_still() -> None:
    assert companion_path("2024/01/IMG_1.HEIC", "IMG_1.MOV") == "2024/01/IMG_1.MOV"
    assert companion_path("2024/01/IMG_1~ab12cd34.HEIC", "whatever.mov") == \
        "2024/01/IMG_1~ab12cd34.mov"
    with pytest.raises(UnsafePathError):
        companion_path("2024/01/IMG_1.HEIC", "../x.mov")


# -- collisions --------------------------------------------------------------------------------


def test_two_files_one_name_the_lowest_key_keeps_it() -> None:
    got = resolve([Claim("b", "2024/01/IMG_1.jpg"), Claim("a", "2024/01/IMG_1.jpg")])
    assert got["a"] == "2024/01/IMG_1.jpg"
    assert got["b"] == suffixed("2024/01/IMG_1.jpg", __import__("hashlib").sha1(
        b"b").hexdigest()[:8])
    assert got["b"].startswith("2024/01/IMG_1~") and got["b"].endswith(".jpg")


def test_the_plain_name_stays_with_the_file_that_has_it() -> None:
    first = resolve([Claim("z", "IMG_1.jpg")])
    later = resolve([Claim("z", "IMG_1.jpg"), Claim("a", "IMG_1.jpg")], first)
    assert later["z"] == "IMG_1.jpg" and later["a"] != "IMG_1.jpg"


def test_a_suffixed_file_does_not_move_when_the_plain_one_leaves() -> None:
    both = resolve([Claim("a", "IMG_1.jpg"), Claim("b", "IMG_1.jpg")])
    alone = resolve([Claim("b", "IMG_1.jpg")], both)
    assert alone["b"] == both["b"] != "IMG_1.jpg"


def test_a_changed_rendered_path_moves_the_file() -> None:
    before = resolve([Claim("a", "2024/01/IMG_1.jpg")])
    assert resolve([Claim("a", "2024/02/IMG_1.jpg")], before) == {"a": "2024/02/IMG_1.jpg"}


def test_live_photo_pairs_keep_one_suffix() -> None:
    claims = [Claim("s1", "IMG_1.HEIC"), Claim("v1", "IMG_1.MOV", companion_of="s1"),
              Claim("s0", "IMG_1.HEIC"), Claim("v0", "IMG_1.MOV", companion_of="s0")]
    got = resolve(claims)
    assert (got["s0"], got["v0"]) == ("IMG_1.HEIC", "IMG_1.MOV")
    assert got["s1"].rsplit(".", 1)[0] == got["v1"].rsplit(".", 1)[0] != "IMG_1"


def test_case_folding_targets() -> None:
    got = resolve([Claim("a", "IMG.jpg"), Claim("b", "img.JPG")], fold_case=True)
    assert got["a"] == "IMG.jpg" and got["b"].startswith("img~")
    assert resolve([Claim("a", "IMG.jpg"), Claim("b", "img.JPG")]) == {
        "a": "IMG.jpg", "b": "img.JPG"}


def test_a_name_that_looks_like_a_suffix_is_not_overwritten() -> None:
    import hashlib
    fake = suffixed("IMG.jpg", hashlib.sha1(b"b").hexdigest()[:8])
    got = resolve([Claim("a", "IMG.jpg"), Claim("b", "IMG.jpg"), Claim("c", fake)])
    assert len(set(got.values())) == 3 and got["c"] == fake


def test_when_every_suffix_is_taken_a_counter_decides_and_stays() -> None:
    import hashlib
    forms = [suffixed("IMG.jpg", t) for t in (hashlib.sha1(b"b").hexdigest()[:8],
                                               hashlib.sha1(b"b").hexdigest()[:16],
                                               hashlib.sha1(b"b").hexdigest())]
    squatters = [Claim(f"s{n}", form) for n, form in enumerate(forms)]
    got = resolve([Claim("a", "IMG.jpg"), Claim("b", "IMG.jpg"), *squatters])
    assert got["b"] == suffixed("IMG.jpg", hashlib.sha1(b"b").hexdigest() + "-2")
    again = resolve([Claim("b", "IMG.jpg"), *squatters[1:]], got)
    assert again["b"] == got["b"]


def test_a_long_stem_is_shortened_to_fit() -> None:
    name = "é" * 125 + ".jpeg"  # 255 bytes
    got = resolve([Claim("a", name), Claim("b", name)])
    assert len(got["b"].encode()) <= 255 and got["b"].endswith(".jpeg")
    safe_relative_path(got["b"])


# -- properties --------------------------------------------------------------------------------

names = st.text(alphabet=st.sampled_from("aAbB._~é/\x00 -"), min_size=0, max_size=12)
keys = st.text(alphabet="0123456789abcdef", min_size=1, max_size=6)
claim_lists = st.lists(
    st.tuples(keys, st.sampled_from(["IMG.jpg", "img.JPG", "a/IMG.jpg", "x", ".h", "IMG.mov"])),
    max_size=12, unique_by=lambda t: t[0])


def to_claims(pairs: list[tuple[str, str]]) -> list[Claim]:
    """Every third claim is a live photo's video, the companion of the claim before it."""
    return [Claim(k, p, pairs[i - 1][0] if i % 3 == 2 else None)
            for i, (k, p) in enumerate(pairs)]


@given(names, keys, st.datetimes())
def test_render_never_leaves_the_target(name: str, key: str, taken: datetime) -> None:
    for layout in (IMMICH, parse_layout("{stem}/{id}.{ext}", server_kind="immich"),
                   parse_layout("{year}/{stem}~{day}.{ext}", server_kind="immich")):
        try:
            path = render(layout, fields(name, key, taken))
        except UnsafePathError:
            continue
        assert safe_relative_path(path) == path
        assert not path.startswith("/") and ".." not in path.split("/")


@settings(max_examples=200)
@given(claim_lists, st.booleans(), st.randoms())
def test_resolve_is_deterministic_and_gives_each_key_its_own_path(
        pairs: list[tuple[str, str]], fold: bool, rnd: random.Random) -> None:
    claims = to_claims(pairs)
    got = resolve(claims, fold_case=fold)
    shuffled = list(claims)
    rnd.shuffle(shuffled)
    assert resolve(shuffled, fold_case=fold) == got
    assert set(got) == {c.key for c in claims}
    folded = [p.casefold() if fold else p for p in got.values()]
    assert len(set(folded)) == len(folded)
    for path in got.values():
        safe_relative_path(path)


@settings(max_examples=200)
@given(claim_lists, claim_lists, st.booleans())
def test_new_files_never_move_existing_ones(old: list[tuple[str, str]],
                                           new: list[tuple[str, str]], fold: bool) -> None:
    before = resolve(to_claims(old), fold_case=fold)
    added = [c for c in to_claims(new) if c.key not in before]
    after = resolve(to_claims(old) + added, before, fold_case=fold)
    assert all(after[k] == path for k, path in before.items())
