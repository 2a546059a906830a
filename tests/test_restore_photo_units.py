"""Pure: a mirror's originals grouped into photos (the unit of restore), and the names a server
that groups related files by base name (PhotoPrism) gets for them. No server needed: these are
the rules the round-trip tests then check end to end."""

from __future__ import annotations

import hashlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ppsync.restore.mirror import Original, Sidecar
from ppsync.restore.naming import plan_names
from ppsync.restore.units import Role, base_stem, build_units


def original(rel: str) -> Original:
    return Original(rel, hashlib.sha1(rel.encode()).hexdigest(), 10)


def sidecar(uid: str, files: list[tuple[str, bool]], **extra: Any) -> Sidecar:
    entries = [{"name": rel, "sha1": original(rel).sha1, "size": 10, "root": "/",
                "primary": primary, "sidecar": rel.lower().endswith((".xmp", ".aae")),
                "type": rel.rsplit(".", 1)[-1].lower()} for rel, primary in files]
    return Sidecar(f"{files[0][0]}.ppsync.json",
                   {"format": "ppsync-photo/1", "photo_uid": uid, "files": entries, **extra})


def roles(unit: Any) -> list[tuple[str, Role]]:
    return [(m.original.rel, m.role) for m in unit.members]


def test_a_photoprism_photo_is_one_unit_with_its_primary_raw_video_and_xmp() -> None:
    files = ["2024/IMG_1.CR2", "2024/IMG_1.jpg", "2024/IMG_1.MOV", "2024/IMG_1.xmp"]
    units = build_units([original(f) for f in files],
                        [sidecar("p1", [(f, f.endswith(".jpg")) for f in files])])
    assert len(units) == 1
    assert roles(units[0]) == [("2024/IMG_1.jpg", Role.PRIMARY),
                               ("2024/IMG_1.CR2", Role.ALTERNATE),
                               ("2024/IMG_1.MOV", Role.LIVE_VIDEO),
                               ("2024/IMG_1.xmp", Role.SIDECAR)]
    assert units[0].members[2].still == original("2024/IMG_1.jpg").sha1


def test_a_heic_live_photo_without_a_primary_original_takes_the_still_on_top() -> None:
    files = ["IMG_3.mov", "IMG_3.heic"]  # PhotoPrism's primary is a JPEG in the sidecar root
    units = build_units([original(f) for f in files], [sidecar("p3", [(f, False) for f in files])])
    assert roles(units[0]) == [("IMG_3.heic", Role.PRIMARY), ("IMG_3.mov", Role.LIVE_VIDEO)]


def test_an_immich_stack_is_one_unit_with_the_stack_primary_on_top() -> None:
    stack = {"id": "s1", "primary_uid": "a2"}
    units = build_units(
        [original(f) for f in ["d/A.jpg", "d/B.jpg", "d/B.mov", "d/C.jpg"]],
        [sidecar("a1", [("d/A.jpg", True)], stack=stack),
         sidecar("a2", [("d/B.jpg", True), ("d/B.mov", False)], stack=stack),
         sidecar("c", [("d/C.jpg", True)])])
    assert len(units) == 2
    stacked = next(u for u in units if u.key == "s1")
    assert roles(stacked) == [("d/B.jpg", Role.PRIMARY), ("d/B.mov", Role.LIVE_VIDEO),
                              ("d/A.jpg", Role.ALTERNATE)]
    assert [s.data["photo_uid"] for s in stacked.sidecars] == ["a2", "a1"]
    assert [m.source for m in stacked.members] == [0, 0, 1]


def test_an_original_no_sidecar_lists_is_a_photo_of_its_own_and_none_is_counted_twice() -> None:
    files = ["x/IMG_5.jpg", "x/IMG_5.dng", "y/lonely.png"]
    # Two sidecars list the same content (a duplicate on the server): restored once.
    units = build_units([original(f) for f in files],
                        [sidecar("p5", [("x/IMG_5.jpg", True), ("x/IMG_5.dng", False)]),
                         sidecar("dup", [("x/IMG_5.jpg", True)])])
    assert sorted(m.original.rel for u in units for m in u.members) == sorted(files)
    assert [len(u.members) for u in units] == [2, 1]


def test_photoprism_names_keep_a_photo_together_and_unrelated_photos_apart() -> None:
    # An Immich mirror: a lone IMG_0020.JPG and an unrelated live photo IMG_0020.HEIC + .MOV in
    # one folder, and a stack whose members have other base names.
    stack = {"id": "s", "primary_uid": "b"}
    units = build_units(
        [original(f) for f in ["2024/05/IMG_0020.JPG", "2024/05/IMG_0020.HEIC",
                               "2024/05/IMG_0020.MOV", "2024/05/B.jpg", "2024/05/B2.dng"]],
        [sidecar("lone", [("2024/05/IMG_0020.JPG", True)]),
         sidecar("live", [("2024/05/IMG_0020.HEIC", True), ("2024/05/IMG_0020.MOV", False)]),
         sidecar("b", [("2024/05/B.jpg", True)], stack=stack),
         sidecar("b2", [("2024/05/B2.dng", True)], stack=stack)])
    copy = plan_names(units, groups_by_name=True, copy=True)
    names = {p.unit.key: [n for _, n in p.names] for p in copy.placements}
    assert names["s"] == ["B.jpg", "B.dng"]  # the stack: one base name
    # The first in the mirror's order keeps the base name; the other gets one of its own.
    assert names["live"] == ["IMG_0020.HEIC", "IMG_0020.MOV"]
    assert names["lone"] == [f"IMG_0020-ppsync-{original('2024/05/IMG_0020.JPG').sha1[:8]}.JPG"]
    upload = plan_names(units, groups_by_name=True, copy=False)
    # Uploads keep the names; the upload step puts the two IMG_0020 photos in two folders.
    assert {p.unit.key: p.stem for p in upload.placements}["live"] == "IMG_0020"
    assert copy.split == [] and upload.split == []


def test_two_files_of_one_name_in_a_photo_split_and_the_split_is_reported() -> None:
    stack = {"id": "s", "primary_uid": "a"}
    units = build_units([original("d/A.jpg"), original("d/A-edit.jpg")],
                        [sidecar("a", [("d/A.jpg", True)], stack=stack),
                         sidecar("e", [("d/A-edit.jpg", True)], stack=stack)])
    plan = plan_names(units, groups_by_name=True, copy=True)
    assert [[n for _, n in p.names] for p in plan.placements] == [["A.jpg"], ["A-edit.jpg"]]
    assert [(rel, what) for rel, what, _ in plan.split] == [("d/A-edit.jpg", "grouping")]
    assert "d/A.jpg.ppsync.json" in plan.split[0][2]
    # The split file keeps its own sidecar (an Immich stack member's attributes).
    assert [s.data["photo_uid"] for s in plan.placements[1].unit.sidecars] == ["e"]
    assert [len(p.unit.members) for p in plan.placements] == [1, 1]


def test_a_server_that_does_not_group_by_name_keeps_every_name() -> None:
    units = build_units([original("a/IMG_1.jpg"), original("a/IMG_1.CR2")],
                        [sidecar("p", [("a/IMG_1.jpg", True), ("a/IMG_1.CR2", False)])])
    plan = plan_names(units, groups_by_name=False, copy=False)
    assert [n for _, n in plan.placements[0].names] == ["IMG_1.jpg", "IMG_1.CR2"]


def test_base_names_strip_every_known_extension() -> None:
    assert base_stem("a/IMG_1.jpg.xmp") == "IMG_1"
    assert base_stem("IMG_1.HEIC") == "IMG_1"
    assert base_stem("v1.2.final.jpg") == "v1.2.final"


NAMES = st.sampled_from(["IMG_1", "img_1", "IMG_2", "DSC", "a.b"])
EXTS = st.sampled_from(["jpg", "JPG", "heic", "mov", "cr2", "xmp"])
FOLDERS = st.sampled_from(["", "2024/05", "x"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.tuples(FOLDERS, NAMES, EXTS), min_size=1, max_size=4),
                min_size=1, max_size=6))
def test_every_original_is_placed_once_and_no_two_photos_share_a_base_name_in_a_folder(
        photos: list[list[tuple[str, str, str]]]) -> None:
    sidecars, originals, seen = [], [], set()
    for n, files in enumerate(photos):
        rels = []
        for folder, name, ext in files:
            rel = f"{folder}/{name}.{ext}".lstrip("/")
            if rel not in seen:
                seen.add(rel)
                rels.append(rel)
                originals.append(original(rel))
        if rels:
            sidecars.append(sidecar(f"p{n}", [(r, i == 0) for i, r in enumerate(rels)]))
    units = build_units(originals, sidecars)
    plan = plan_names(units, groups_by_name=True, copy=True)
    placed = [m.original.rel for p in plan.placements for m, _ in p.names]
    assert sorted(placed) == sorted(o.rel for o in originals)
    stems: set[tuple[str, str]] = set()
    for placement in plan.placements:
        names = [n.casefold() for _, n in placement.names]
        assert len(names) == len(set(names))
        assert {base_stem(n).casefold() for n in names} == {placement.stem.casefold()}
        key = (placement.folder, placement.stem.casefold())
        assert key not in stems
        stems.add(key)
