"""The fake PhotoPrism groups related files as import and index do (photoprism-api.md §i;
``internal/photoprism/mediafile_related.go`` RelatedFiles and RelatedSidecarFiles,
``pkg/fs/filepath.go`` BasePrefix, ``MediaFile.CheckType``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD, admin_http
from tests.fake_photoprism import FakePhoto, FakePhotoPrism

JPEG = b"\xff\xd8\xff\xe0 a jpeg"
HEIC = b"\x00\x00\x00\x18ftypheic a heic"
XMP = (b'<x:xmpmeta><rdf:RDF><rdf:Description>'
       b'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Gull &amp; sea</rdf:li></rdf:Alt>'
       b'</dc:title><dc:description><rdf:Alt><rdf:li xml:lang="x-default">On the beach'
       b'</rdf:li></rdf:Alt></dc:description><dc:subject><rdf:Bag><rdf:li>Beach</rdf:li>'
       b'<rdf:li>New York</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF>'
       b'</x:xmpmeta>')


@pytest.fixture(params=[False, True], ids=["dec2024", "2026"])
def pp(request: pytest.FixtureRequest) -> Iterator[FakePhotoPrism]:
    with FakePhotoPrism(password=PASSWORD, new_api=request.param) as fake:
        yield fake


def upload(fake: FakePhotoPrism, files: list[tuple[str, bytes]]) -> list[int]:
    """POST each file into one upload folder, then PUT it; the counts the POSTs answered."""
    counts = []
    with admin_http(fake) as http:
        for name, data in files:
            answer = http.post(f"/api/v1/users/{fake.user_uid}/upload/tok1",
                               files={"files": (name, data)})
            answer.raise_for_status()
            counts.append(int(re.match(r"(\d+)", answer.json()["message"]).group(1)))  # type: ignore[union-attr]
        http.put(f"/api/v1/users/{fake.user_uid}/upload/tok1", json={"albums": []}
                 ).raise_for_status()
    return counts


def details(fake: FakePhotoPrism, photo: FakePhoto) -> dict[str, Any]:
    with admin_http(fake) as http:
        body: dict[str, Any] = http.get(f"/api/v1/photos/{photo.uid}").json()
        return body


def test_one_photo_from_jpeg_raw_xmp_and_video_of_one_base_name(pp: FakePhotoPrism) -> None:
    upload(pp, [("IMG_1.jpg", JPEG), ("IMG_1.CR2", b"raw"), ("IMG_1.jpg.xmp", XMP),
                ("IMG_1.xmp", XMP + b" "), ("IMG_1.MOV", b"video")])
    (photo,) = pp.photos()
    body = details(pp, photo)
    files = {f["Name"].rsplit(".", 1)[-1]: f for f in body["Files"]}
    assert body["Type"] == "raw"
    assert files["jpg"]["Primary"] is True and files["jpg"]["Root"] == "/"
    # One canonical base; each file keeps its (lower-cased) extension; the second XMP is
    # numbered (DestinationFilename); the preview-less JPEG needs no sidecar-root file.
    names = sorted(f["Name"] for f in body["Files"])
    base = files["jpg"]["Name"].rsplit(".", 1)[0]
    assert re.fullmatch(r"\d{4}/\d\d/\d{8}_\d{6}_[0-9A-F]{8}", base)
    assert names == sorted([f"{base}.cr2", f"{base}.jpg", f"{base}.mov", f"{base}.xmp",
                            f"{base}.00001.xmp"])
    sidecars = [f for f in body["Files"] if f.get("Sidecar")]
    assert len(sidecars) == 2 and all(f["Root"] == "/" for f in sidecars)
    with admin_http(pp) as http:
        rows = http.get("/api/v1/photos", params={"count": 100}).json()
    assert {r["FileName"].rsplit(".", 1)[-1] for r in rows} == {"jpg", "cr2", "mov"}  # no XMP


def test_heic_and_mov_make_a_live_photo_with_a_jpeg_preview_as_primary(
    pp: FakePhotoPrism,
) -> None:
    upload(pp, [("IMG_2.HEIC", HEIC), ("IMG_2.MOV", b"video")])
    (photo,) = pp.photos()
    body = details(pp, photo)
    assert body["Type"] == "live"
    (primary,) = [f for f in body["Files"] if f["Primary"]]
    assert primary["Root"] == "sidecar" and primary["FileType"] == "jpg"


def test_jpeg_and_mov_make_a_live_photo(pp: FakePhotoPrism) -> None:
    upload(pp, [("IMG_3.jpg", JPEG), ("IMG_3.MOV", b"video")])
    (photo,) = pp.photos()
    assert photo.type == "live"


def test_unrelated_pictures_with_one_base_name_are_merged(pp: FakePhotoPrism) -> None:
    # Two assets of another library that happen to share a name: the import takes them for one.
    upload(pp, [("IMG_0020.JPG", JPEG + b" one picture"), ("IMG_0020.HEIC", HEIC),
                ("IMG_0020.MOV", b"the other's video")])
    (photo,) = pp.photos()
    assert len([f for f in photo.files if f.root == "/"]) == 3


def test_the_stem_is_compared_with_case(pp: FakePhotoPrism) -> None:
    upload(pp, [("IMG_4.jpg", JPEG), ("img_4.CR2", b"raw")])
    assert sorted(p.type for p in pp.photos()) == ["image", "raw"]


def test_apple_edited_copies_and_four_letter_suffixes_are_related(pp: FakePhotoPrism) -> None:
    upload(pp, [("IMG_1234.HEIC", HEIC), ("IMG_E1234.JPG", JPEG), ("DSC_9.jpg", JPEG + b"9"),
                ("DSC_9_edit.jpg", JPEG + b"e"), ("DSC_9_x.jpg", JPEG + b"x")])
    sizes = sorted(len([f for f in p.files if f.root == "/"]) for p in pp.photos())
    assert sizes == [1, 2, 2]  # IMG_1234+IMG_E1234, DSC_9+DSC_9_edit; DSC_9_x alone


def test_an_xmp_sidecars_text_is_read_at_import(pp: FakePhotoPrism) -> None:
    upload(pp, [("IMG_5.jpg", JPEG), ("IMG_5.xmp", XMP)])
    (photo,) = pp.photos()
    body = details(pp, photo)
    caption = "Caption" if pp.new_api else "Description"
    assert (body["Title"], body["TitleSrc"]) == ("Gull & sea", "xmp")
    assert (body[caption], body[caption + "Src"]) == ("On the beach", "xmp")
    if pp.new_api:  # dc:subject is the Subject; the keywords are the index's (a colour)
        assert (body["Details"]["Subject"], body["Details"]["SubjectSrc"]) == (
            "Beach, New York", "xmp")
        assert body["Details"]["KeywordsSrc"] == "" and "beach" not in body["Details"]["Keywords"]
    else:
        assert (body["Details"]["Keywords"], body["Details"]["KeywordsSrc"]) == (
            "Beach, New York", "xmp")


def test_index_groups_files_in_place_and_reads_the_xmp(pp: FakePhotoPrism,
                                                       tmp_path: Path) -> None:
    folder = tmp_path / "2024"
    folder.mkdir()
    for name, data in (("IMG_6.jpg", JPEG), ("IMG_6.CR2", b"raw"), ("IMG_6.xmp", XMP),
                       ("img_6.jpg", JPEG + b" other")):
        (folder / name).write_bytes(data)
    pp.originals_dir = str(tmp_path)
    with admin_http(pp) as http:
        assert http.post("/api/v1/index", json={"path": "/"}).is_success
    by_type = {p.type: p for p in pp.photos()}
    assert set(by_type) == {"raw", "image"}
    raw = by_type["raw"]
    assert sorted(f.name for f in raw.files) == ["2024/IMG_6.CR2", "2024/IMG_6.jpg",
                                                "2024/IMG_6.xmp"]
    assert (raw.title, raw.title_src) == ("Gull & sea", "xmp")


def test_bytes_not_of_the_extensions_type_are_refused(pp: FakePhotoPrism) -> None:
    pp.check_file_types = True
    counts = upload(pp, [("IMG_7.jpg", b"not a jpeg"), ("IMG_8.jpg", JPEG),
                         ("IMG_9.heic", JPEG), ("IMG_8.xmp", XMP), ("IMG_8.aae", b"<plist/>")])
    # 2026 uploads drop the file (not counted); both generations never import it.
    assert counts == ([0, 1, 0, 1, 1] if pp.new_api else [1, 1, 1, 1, 1])
    (photo,) = pp.photos()
    assert sorted(f.name.rsplit(".", 1)[-1] for f in photo.files) == ["aae", "jpg", "xmp"]


def test_unknown_types_are_dropped_by_2026_uploads() -> None:
    with FakePhotoPrism(password=PASSWORD, new_api=True) as pp:
        assert upload(pp, [("notes.txt", b"hello"), ("IMG_1.jpg", JPEG)]) == [0, 1]


def test_photo_details_need_a_session(pp: FakePhotoPrism) -> None:
    photo = pp.add_photo()
    assert httpx.get(f"{pp.url}/api/v1/photos/{photo.uid}").status_code == 401
