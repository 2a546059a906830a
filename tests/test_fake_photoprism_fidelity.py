"""The fake PhotoPrism's 2026 generation (``new_api=True``) answers as a real 260630-4b33d3bd1
did when probed (``real/probe/findings.md``, PhotoPrism probes a to e and "Differs from the facts
file"): each test replays one probe against the fake and checks what the real server said."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from tests.conftest import PASSWORD, admin_http
from tests.fake_photoprism import FakePhoto, FakePhotoPrism

JPEG = b"\xff\xd8\xff\xe0 IMG_0100 jpeg"
DNG = b"II*\x00 IMG_0100 dng"
HEIC = b"\x00\x00\x00\x18ftypheic IMG_0200 heic"
MOV = b"\x00\x00\x00\x14ftypqt   IMG_0200 2 s H.264"
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description>'
       b'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">From XMP</rdf:li></rdf:Alt></dc:title>'
       b'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">Caption from XMP</rdf:li>'
       b'</rdf:Alt></dc:description><dc:subject><rdf:Bag><rdf:li>harbour</rdf:li>'
       b'<rdf:li>boat</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF>'
       b'</x:xmpmeta>')
COLOURS = {"black", "grey", "brown", "gold", "white", "purple", "blue", "cyan", "teal", "green",
           "lime", "yellow", "magenta", "orange", "red", "pink"}
# Top-level keys of GET /photos/<uid> on 260630 (probe e), EditedAt and DeletedAt only when set.
PHOTO_KEYS = {
    "Albums", "Altitude", "Camera", "CameraID", "CameraSerial", "CameraSrc", "Caption",
    "CaptionSrc", "Cell", "CellAccuracy", "CellID", "Color", "Country", "CreatedAt", "CreatedBy",
    "Day", "Details", "Exposure", "FNumber", "Favorite", "Files", "FocalLength", "ID", "Iso",
    "Labels", "Lat", "Lens", "LensID", "Lng", "Month", "Name", "OriginalName", "Panorama", "Path",
    "Place", "PlaceID", "PlaceSrc", "Private", "Quality", "Resolution", "Scan", "Stack",
    "TakenAt", "TakenAtLocal", "TakenSrc", "TimeZone", "Title", "TitleSrc", "Type", "TypeSrc",
    "UID", "UpdatedAt", "Year"}


@pytest.fixture
def pp() -> Iterator[FakePhotoPrism]:
    with FakePhotoPrism(password=PASSWORD, new_api=True) as fake:
        yield fake


def upload(fake: FakePhotoPrism, token: str, files: list[tuple[str, bytes]]) -> None:
    """POST each file into the upload folder ``token``, then PUT it (both answer 200)."""
    with admin_http(fake) as http:
        for name, data in files:
            answer = http.post(f"/api/v1/users/{fake.user_uid}/upload/{token}",
                               files={"files": (name, data)})
            assert answer.json() == {"code": 200, "message": "1 files uploaded in 0 s"}
        done = http.put(f"/api/v1/users/{fake.user_uid}/upload/{token}", json={"albums": []})
        assert done.json() == {"code": 200, "message": "Upload has been processed"}


def get(fake: FakePhotoPrism, photo: FakePhoto | str) -> dict[str, Any]:
    uid = photo if isinstance(photo, str) else photo.uid
    with admin_http(fake) as http:
        answer = http.get(f"/api/v1/photos/{uid}")
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        return body


def put(fake: FakePhotoPrism, uid: str, body: dict[str, Any]) -> dict[str, Any]:
    """PUT the form; the answer is the whole photo, the same as a GET right after."""
    with admin_http(fake) as http:
        answer = http.put(f"/api/v1/photos/{uid}", json=body)
        assert answer.status_code == 200
        result: dict[str, Any] = answer.json()
    assert result == get(fake, uid)
    return result


def rescan(fake: FakePhotoPrism) -> None:
    with admin_http(fake) as http:
        assert http.post("/api/v1/index", json={"path": "/", "rescan": True}).is_success


def raw_photo(fake: FakePhotoPrism) -> dict[str, Any]:
    """Probe a: IMG_0100.jpg + .dng + .xmp in one token, imported."""
    upload(fake, "tok-a", [("IMG_0100.jpg", JPEG), ("IMG_0100.dng", DNG),
                           ("IMG_0100.xmp", XMP)])
    (photo,) = fake.photos()
    return get(fake, photo)


# --- a. JPEG + DNG + XMP in one token ---------------------------------------------------------


def test_jpeg_raw_and_xmp_of_one_token_make_one_raw_photo_with_the_xmp_as_sidecar(
    pp: FakePhotoPrism,
) -> None:
    body = raw_photo(pp)
    assert (body["Type"], body["TypeSrc"]) == ("raw", "")
    files = {f["OriginalName"]: f for f in body["Files"]}
    assert set(files) == {"IMG_0100.jpg", "IMG_0100.dng", "IMG_0100.xmp"}
    xmp, jpg, dng = files["IMG_0100.xmp"], files["IMG_0100.jpg"], files["IMG_0100.dng"]
    assert (jpg["Primary"], jpg["FileType"], jpg["MediaType"]) == (True, "jpg", "image")
    assert (dng["Primary"], dng["FileType"], dng["MediaType"]) == (False, "dng", "raw")
    assert (xmp["Primary"], xmp["Sidecar"], xmp["FileType"], xmp["MediaType"], xmp["Root"]) == (
        False, True, "xmp", "sidecar", "/")
    assert xmp["Mime"] == "text/plain; charset=utf-8" and "MediaID" not in xmp
    # One canonical base name for the three, each with its own extension.
    bases = {f["Name"].rsplit(".", 1)[0] for f in body["Files"]}
    assert len(bases) == 1 and re.fullmatch(r"\d{4}/\d\d/\d{8}_\d{6}_[0-9A-F]{8}", bases.pop())
    # Sidecar and Missing are omitted when false (omitempty).
    for f in (jpg, dng):
        assert "Sidecar" not in f and "Missing" not in f
    assert "Missing" not in xmp
    with admin_http(pp) as http:  # the XMP is a file of the photo: found by its SHA-1
        found = http.get(f"/api/v1/files/{xmp['Hash']}")
    assert found.status_code == 200 and found.json()["PhotoUID"] == body["UID"]


def test_the_xmp_gives_title_caption_and_subject_and_the_keywords_are_the_indexers(
    pp: FakePhotoPrism,
) -> None:
    body = raw_photo(pp)
    assert (body["Title"], body["TitleSrc"]) == ("From XMP", "xmp")
    assert (body["Caption"], body["CaptionSrc"]) == ("Caption from XMP", "xmp")
    assert "Description" not in body and "DescriptionSrc" not in body
    details = body["Details"]
    assert (details["Subject"], details["SubjectSrc"]) == ("harbour, boat", "xmp")
    # dc:subject never reaches the keywords: only the word the index adds (the main colour).
    assert details["Keywords"] in COLOURS and details["KeywordsSrc"] == ""
    assert details["PhotoID"] == body["ID"]


def test_the_photo_has_the_keys_of_a_real_answer(pp: FakePhotoPrism) -> None:
    body = raw_photo(pp)
    assert set(body) == PHOTO_KEYS
    edited = put(pp, body["UID"], {"Favorite": True})
    assert set(edited) == PHOTO_KEYS | {"EditedAt"}


# --- d. PUT /photos/<uid>: Details, sources, rescan -------------------------------------------


def test_details_sent_replace_every_details_field_and_a_wrong_id_is_ignored(
    pp: FakePhotoPrism,
) -> None:
    body = raw_photo(pp)
    uid, photo_id = body["UID"], body["ID"]
    saved = put(pp, uid, {"Details": {"PhotoID": photo_id, "Keywords": "boat, sea",
                                      "KeywordsSrc": "manual"}})
    details = saved["Details"]
    assert (details["Keywords"], details["KeywordsSrc"]) == ("boat, sea", "manual")
    assert (details["Subject"], details["SubjectSrc"]) == ("", "")  # not sent: wiped
    ignored = put(pp, uid, {"Details": {"PhotoID": 1000, "Keywords": "wrong, id",
                                        "KeywordsSrc": "manual"}})
    assert ignored["Details"]["Keywords"] == "boat, sea"  # 200, silently ignored
    # Top-level fields left out keep their values and sources.
    assert (ignored["Title"], ignored["TitleSrc"]) == ("From XMP", "xmp")
    assert (ignored["Caption"], ignored["CaptionSrc"]) == ("Caption from XMP", "xmp")


def test_every_put_bumps_updated_and_edited_and_a_meta_title_is_kept(pp: FakePhotoPrism) -> None:
    body = raw_photo(pp)
    uid = body["UID"]
    meta = put(pp, uid, {"Title": "Meta title", "TitleSrc": "meta"})
    assert meta["UpdatedAt"] == meta["EditedAt"]
    starred = put(pp, uid, {"Favorite": True})
    assert starred["Favorite"] is True
    assert (starred["Title"], starred["TitleSrc"]) == ("Meta title", "meta")
    assert starred["EditedAt"] >= meta["EditedAt"] and starred["UpdatedAt"] >= meta["UpdatedAt"]
    assert pp.photo(uid).edited_at is not None


def test_a_rescan_merges_the_indexers_keywords_into_manual_ones_and_reads_the_subject_again(
    pp: FakePhotoPrism,
) -> None:
    body = raw_photo(pp)
    uid, colour = body["UID"], body["Details"]["Keywords"]
    put(pp, uid, {"Title": "Harbour", "TitleSrc": "manual",
                  "Caption": "Manual caption", "CaptionSrc": "manual",
                  "Details": {"PhotoID": body["ID"], "Keywords": "boat, sea",
                              "KeywordsSrc": "manual"}})
    rescan(pp)
    after = get(pp, uid)
    assert (after["Title"], after["TitleSrc"]) == ("Harbour", "manual")
    assert (after["Caption"], after["CaptionSrc"]) == ("Manual caption", "manual")
    details = after["Details"]
    assert details["Keywords"] == ", ".join(sorted({"boat", "sea", colour}))
    assert details["KeywordsSrc"] == "manual"
    assert (details["Subject"], details["SubjectSrc"]) == ("harbour, boat", "xmp")


# --- d. the taken time and its zone (probe_d, probe_d2, probe_d3) -----------------------------

# Each PUT of the real sequence, and TakenAt, TakenAtLocal, TimeZone, Year/Month/Day after it.
TIME_SEQUENCE: list[tuple[dict[str, Any], tuple[str, str, str, tuple[int, int, int]]]] = [
    ({"TakenAtLocal": "2019-03-02T18:30:00Z", "TimeZone": "Europe/Berlin",
      "TakenSrc": "manual"},  # manual: Year/Month/Day not derived, they stay 2019/6/6
     ("2019-03-02T17:30:00Z", "2019-03-02T18:30:00Z", "Europe/Berlin", (2019, 6, 6))),
    ({"TakenAt": "2019-03-02T17:30:00Z", "TakenAtLocal": "2019-03-02T19:30:00Z",
      "TimeZone": "UTC+2", "TakenSrc": "manual"},  # "UTC+2" kept as sent
     ("2019-03-02T17:30:00Z", "2019-03-02T19:30:00Z", "UTC+2", (2019, 6, 6))),
    ({"TakenAt": "2019-03-02T10:00:00Z", "TakenSrc": "manual"},  # TakenAt alone: no change
     ("2019-03-02T17:30:00Z", "2019-03-02T19:30:00Z", "UTC+2", (2019, 6, 6))),
    ({"TakenAt": "2019-03-02T10:00:00Z", "TakenAtLocal": "2019-03-02T19:30:00Z",
      "TimeZone": "UTC+2", "TakenSrc": "manual"},  # the local time wins
     ("2019-03-02T17:30:00Z", "2019-03-02T19:30:00Z", "UTC+2", (2019, 6, 6))),
    ({"TakenAtLocal": "2019-03-02T18:30:00Z", "TimeZone": "UTC",
      "TakenSrc": "manual"},  # UTC: the local time sent is ignored, TakenAt wins
     ("2019-03-02T17:30:00Z", "2019-03-02T17:30:00Z", "UTC", (2019, 6, 6))),
    ({"TakenAtLocal": "2019-03-02T18:30:00Z", "TimeZone": "Europe/Berlin",
      "TakenSrc": "manual"},
     ("2019-03-02T17:30:00Z", "2019-03-02T18:30:00Z", "Europe/Berlin", (2019, 6, 6))),
    ({"TimeZone": "Bogus/Zone", "TakenSrc": "manual"},  # accepted, read as UTC
     ("2019-03-02T18:30:00Z", "2019-03-02T18:30:00Z", "Bogus/Zone", (2019, 6, 6))),
    ({"TakenAtLocal": "2019-03-02T18:30:00Z", "TimeZone": "Europe/Berlin",
      "TakenSrc": "manual", "Year": 2019, "Month": 3, "Day": 2},  # the date sent with it
     ("2019-03-02T17:30:00Z", "2019-03-02T18:30:00Z", "Europe/Berlin", (2019, 3, 2))),
]


def test_the_taken_time_sequence_of_the_real_server(pp: FakePhotoPrism) -> None:
    photo = pp.add_photo()
    pp.set_photo_metadata(photo.uid, taken=(datetime(2019, 6, 6, 7, 29, 51), "UTC+2"),
                          taken_src="meta")
    start = get(pp, photo)
    assert (start["TakenAt"], start["TakenAtLocal"], start["TimeZone"], start["Year"],
            start["Month"], start["Day"]) == (
        "2019-06-06T05:29:51Z", "2019-06-06T07:29:51Z", "UTC+2", 2019, 6, 6)
    for sent, (taken_at, local, zone, ymd) in TIME_SEQUENCE:
        body = put(pp, photo.uid, sent)
        got = (body["TakenAt"], body["TakenAtLocal"], body["TimeZone"],
               (body["Year"], body["Month"], body["Day"]))
        assert got == (taken_at, local, zone, ymd), sent
        assert body["TakenSrc"] == "manual"


def test_a_rescan_keeps_a_manual_time_and_place(pp: FakePhotoPrism) -> None:
    photo = pp.add_photo()
    put(pp, photo.uid, {"TakenAtLocal": "2019-03-02T18:30:00Z", "TimeZone": "Europe/Berlin",
                        "TakenSrc": "manual", "Year": 2019, "Month": 3, "Day": 2,
                        "Lat": 52.5, "Lng": 13.4, "PlaceSrc": "manual"})
    pp.set_file_metadata(photo.uid, taken=(datetime(2019, 6, 6, 7, 29, 51), "UTC+2"),
                         place=(1.0, 2.0))
    rescan(pp)
    body = get(pp, photo)
    assert (body["TakenAt"], body["TakenAtLocal"], body["TimeZone"], body["TakenSrc"]) == (
        "2019-03-02T17:30:00Z", "2019-03-02T18:30:00Z", "Europe/Berlin", "manual")
    assert (body["Year"], body["Month"], body["Day"]) == (2019, 3, 2)
    assert (body["Lat"], body["Lng"], body["PlaceSrc"]) == (52.5, 13.4, "manual")


# --- b, c. upload tokens: the files of one photo travel together ------------------------------


def test_files_of_one_photo_in_different_tokens_never_join(pp: FakePhotoPrism) -> None:
    upload(pp, "tok-1", [("IMG_0310.heic", HEIC)])
    upload(pp, "tok-2", [("IMG_0310.mov", MOV)])  # a 2 s MOV alone: a video, not live
    photos = pp.photos()
    assert sorted(p.type for p in photos) == ["image", "video"]
    bases = {f.name.rsplit(".", 2)[0] for p in photos for f in p.files}
    assert len(bases) == 2  # each import gives its group a base name of its own


def test_a_jpeg_and_a_live_pair_of_one_name_in_two_tokens_stay_two_photos(
    pp: FakePhotoPrism,
) -> None:
    upload(pp, "tok-1", [("IMG_0300.JPG", JPEG)])
    upload(pp, "tok-2", [("IMG_0300.heic", HEIC), ("IMG_0300.mov", MOV)])
    by_type = {p.type: p for p in pp.photos()}
    assert set(by_type) == {"image", "live"}
    live = by_type["live"]
    assert sorted(f.original_name for f in live.files if f.root == "/") == [
        "IMG_0300.heic", "IMG_0300.mov"]
    # Probe b: the primary is the JPEG rendered from the HEIC, <heic name>.jpg in "sidecar".
    (heic,) = [f for f in live.files if f.name.endswith(".heic")]
    (primary,) = [f for f in live.files if f.primary]
    assert (primary.name, primary.root, primary.original_name) == (
        heic.name + ".jpg", "sidecar", "")


def test_an_xmp_alone_is_not_imported_and_stays_in_the_upload_folder(pp: FakePhotoPrism) -> None:
    upload(pp, "tok-3", [("IMG_0310.xmp", XMP)])  # the PUT still answers 200
    assert pp.photos() == []
    assert pp.upload_leftovers() == {"tok-3": ["IMG_0310.xmp"]}
    with admin_http(pp) as http:
        assert http.get(f"/api/v1/files/{hashlib.sha1(XMP).hexdigest()}").status_code == 404


def test_a_later_upload_into_the_same_folder_finds_the_xmp_left_there(
    pp: FakePhotoPrism,
) -> None:
    # The folder is the session's and the token's: the same session sends both times.
    with admin_http(pp) as http:
        url = f"/api/v1/users/{pp.user_uid}/upload/tok-4"
        http.post(url, files={"files": ("IMG_0400.xmp", XMP)}).raise_for_status()
        http.put(url, json={"albums": []}).raise_for_status()
        assert pp.photos() == []
        http.post(url, files={"files": ("IMG_0400.jpg", JPEG)}).raise_for_status()
        http.put(url, json={"albums": []}).raise_for_status()
    (photo,) = pp.photos()
    assert sorted(f.original_name for f in photo.files) == ["IMG_0400.jpg", "IMG_0400.xmp"]
    assert pp.upload_leftovers() == {}


# --- albums (seed and clean work) ---------------------------------------------------------------


def test_posting_an_album_title_creates_finds_and_brings_back_a_deleted_album(
    pp: FakePhotoPrism,
) -> None:
    with admin_http(pp) as http:
        new = http.post("/api/v1/albums", json={"Title": "Trips"})
        assert new.status_code == 201
        assert new.headers["Location"] == f"/api/v1/albums/{new.json()['UID']}"
        uid = new.json()["UID"]
        for title in ("Trips", "trips"):  # the same slug: the existing album, 200
            same = http.post("/api/v1/albums", json={"Title": title})
            assert (same.status_code, same.json()["UID"]) == (200, uid)
        gone = http.post("/api/v1/batch/albums/delete", json={"albums": [uid]})
        assert gone.json() == {"code": 200, "message": "Albums deleted"}
        assert http.get(f"/api/v1/albums/{uid}").status_code == 404
        assert uid not in {a["UID"] for a in http.get("/api/v1/albums",
                                                      params={"count": 10}).json()}
        back = http.post("/api/v1/albums", json={"Title": "Trips"})
        assert (back.status_code, back.json()["UID"]) == (200, uid)
        assert http.get(f"/api/v1/albums/{uid}").status_code == 200


def test_deleting_everything_archived_when_nothing_is_says_no_items(pp: FakePhotoPrism) -> None:
    pp.add_photo()
    with admin_http(pp) as http:
        answer = http.post("/api/v1/batch/photos/delete", json={"all": True})
    assert answer.status_code == 400 and answer.json()["code"] == 400
    assert answer.json()["error"] == "No items selected"


# --- e. labels ---------------------------------------------------------------------------------


def test_a_label_added_by_hand_is_in_the_photo_and_survives_a_rescan(pp: FakePhotoPrism) -> None:
    body = raw_photo(pp)
    assert body["Labels"] == []
    with admin_http(pp) as http:
        answer = http.post(f"/api/v1/photos/{body['UID']}/label",
                           json={"Name": "Boat", "Uncertainty": 0, "Priority": 10})
    assert answer.status_code == 200
    rescan(pp)
    (label,) = get(pp, body["UID"])["Labels"]
    assert (label["PhotoID"], label["LabelSrc"], label["Uncertainty"]) == (body["ID"], "manual", 0)
    assert label["LabelID"] == label["Label"]["ID"]
    assert {k: label["Label"][k] for k in ("Slug", "CustomSlug", "Name", "Priority",
                                           "PhotoCount")} == {
        "Slug": "boat", "CustomSlug": "boat", "Name": "Boat", "Priority": 10, "PhotoCount": 1}


def test_label_names_are_cleaned_capitalised_and_found_in_any_case(pp: FakePhotoPrism) -> None:
    # Probe l (2026-12-07, 260630): one photo, each name POSTed in turn with Priority 10 and
    # Uncertainty 0; the labels it then had, by name as the server wrote them.
    body = raw_photo(pp)
    sent = {"Travel/Italy": "Travel / Italy", "boat": "Boat", "new york": "New York",
            "Boat": "Boat", "NEW YORK": "New York", "travel / italy": "Travel / Italy",
            "lake of the woods": "Lake of the Woods", "muenchen": "München",
            "iPhone": "iPhone", "  two   spaces ": "Two Spaces", "a_b": "A B",
            "Ümlaut éclair": "Ümlaut Éclair", "semi;colon": "Semicolon", "x": "X", "42": "42",
            "tv": "TV", "NEW zealand": "NEW Zealand", "x-ray / -": "X-Ray",
            "Travel Italy": "Travel Italy"}
    stamps = [body["UpdatedAt"]]
    with admin_http(pp) as http:
        for name, written in sent.items():
            answer = http.post(f"/api/v1/photos/{body['UID']}/label",
                               json={"Name": name, "Priority": 10, "Uncertainty": 0})
            assert answer.status_code == 200
            assert written in {lb["Label"]["Name"] for lb in answer.json()["Labels"]}
            stamps.append(answer.json()["UpdatedAt"])
        for refused in ("", "   ", "${bad}"):
            answer = http.post(f"/api/v1/photos/{body['UID']}/label",
                               json={"Name": refused, "Priority": 10, "Uncertainty": 0})
            assert (answer.status_code, answer.json()["error"]) == (400, "Invalid name")
    # Every POST saved the photo, a label it had too. Compared as times: Go trims trailing
    # zeros from the fraction, so "…54.898Z" sorts after "…54.898845Z" as text.
    times = [datetime.fromisoformat(stamp) for stamp in stamps]
    assert times == sorted(set(times)), stamps
    got = get(pp, body["UID"])
    labels = {lb["Label"]["Name"]: lb for lb in got["Labels"]}
    assert set(labels) == set(sent.values())  # "Boat", "NEW YORK"... found what was there
    assert all((lb["LabelSrc"], lb["Uncertainty"], lb["Label"]["Priority"]) == ("manual", 0, 10)
               for lb in labels.values())
    assert {name: lb["Label"]["Slug"] for name, lb in labels.items()
            if name.startswith("Travel")} == {"Travel / Italy": "travel-italy",
                                              "Travel Italy": "travel-italy-b2757907"}
    assert labels["München"]["Label"]["Slug"] == "munchen"
    # The labels' names never reach the keywords, nor after a rescan.
    assert (got["Details"]["Keywords"], got["Details"]["KeywordsSrc"]) == (
        body["Details"]["Keywords"], "")
    rescan(pp)
    assert get(pp, body["UID"])["Details"]["Keywords"] == body["Details"]["Keywords"]
    with admin_http(pp) as http:
        long = http.post(f"/api/v1/photos/{body['UID']}/label",
                         json={"Name": "L" * 170 + " end", "Priority": 10, "Uncertainty": 0})
    assert "L" * 160 in {lb["Label"]["Name"] for lb in long.json()["Labels"]}


# --- titles: nothing to make one from gives "" -------------------------------------------------


def test_photos_without_a_title_in_their_files_have_an_empty_one(pp: FakePhotoPrism) -> None:
    upload(pp, "tok-b", [("IMG_0200.heic", HEIC), ("IMG_0200.mov", MOV)])
    (photo,) = pp.photos()
    body = get(pp, photo)
    assert (body["Type"], body["Title"], body["TitleSrc"], body["Caption"]) == (
        "live", "", "", "")
    titled = put(pp, photo.uid, {"Title": "Harbour", "TitleSrc": "manual"})
    assert titled["Title"] == "Harbour"
    emptied = put(pp, photo.uid, {"Title": "", "TitleSrc": ""})  # stays empty
    assert (emptied["Title"], emptied["TitleSrc"]) == ("", "")
