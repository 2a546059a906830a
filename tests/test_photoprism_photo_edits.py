"""The PhotoPrism adapter reads and writes what restore needs to put a photo back whole: text with
its source, the taken time with its zone and source, the location, keywords and labels as tags
(real loopback HTTP against the fake, both generations)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ppsync.config import load_config
from ppsync.errors import ItemError
from ppsync.servers import open_server
from ppsync.servers.base import Photo, PhotoEdit, PhotoServer
from tests.conftest import PASSWORD, admin_http, config_file
from tests.fake_photoprism import FakePhotoPrism


@pytest.fixture(params=[False, True], ids=["dec2024", "2026"])
def pp(request: pytest.FixtureRequest) -> Iterator[FakePhotoPrism]:
    with FakePhotoPrism(password=PASSWORD, new_api=request.param) as fake:
        yield fake


@pytest.fixture
def adapter(pp: FakePhotoPrism, tmp_path: Path) -> Iterator[PhotoServer]:
    path = config_file(tmp_path / "ppsync.toml", {"url": pp.url, "username": "admin",
                                                  "password": PASSWORD}, tmp_path / "m", {})
    server = open_server(load_config(path, {}).server)
    server.open()
    yield server
    server.close()


def read(adapter: PhotoServer, uid: str) -> Photo:
    photo = adapter.photo(uid)
    assert photo is not None
    return photo


def puts(pp: FakePhotoPrism) -> int:
    return len(pp.requests_to("/api/v1/photos/p", "PUT"))


def test_photoprism_may_set_the_taken_time(adapter: PhotoServer) -> None:
    caps = adapter.capabilities
    assert (caps.taken_time, caps.groups_by_name, caps.text_sources, caps.tags) == (
        True, True, True, "keywords")


def test_photo_reports_tags_and_the_keyword_and_place_sources(
    pp: FakePhotoPrism, adapter: PhotoServer
) -> None:
    photo = pp.add_photo()
    pp.set_photo_metadata(photo.uid, keywords="Beach, New York, , beach", keywords_src="xmp",
                          location=(52.45, 13.3), place_src="meta")
    pp.add_label(photo.uid, "Gull", "manual")
    pp.add_label(photo.uid, "Sea", "image", 10)  # the classifier's: not a tag
    pp.add_label(photo.uid, "Dog", "manual", 100)  # removed by a person: not a tag
    got = read(adapter, photo.uid)
    assert got.tags == ("Beach", "Gull", "New York", "beach")
    assert (got.keywords_source, got.place_source, got.lat, got.lng) == (
        "xmp", "meta", 52.45, 13.3)
    assert got.labels == ("Dog", "Gull", "Sea")  # as before: every label's name


def test_keywords_the_server_made_up_are_not_tags(pp: FakePhotoPrism,
                                                  adapter: PhotoServer) -> None:
    photo = pp.add_photo()
    pp.set_photo_metadata(photo.uid, keywords="berlin, germany", keywords_src="")
    got = read(adapter, photo.uid)
    assert (got.tags, got.keywords, got.keywords_source) == ((), "berlin, germany", "")


def test_text_is_set_with_the_sources_given_and_reads_back_alike(
    pp: FakePhotoPrism, adapter: PhotoServer
) -> None:
    photo = pp.add_photo(title="Old")
    edit = PhotoEdit(title="Möwe", title_source="xmp", caption="Am Strand",
                     caption_source="meta")
    adapter.update_photo(read(adapter, photo.uid), edit)
    got = read(adapter, photo.uid)
    assert (got.title, got.title_source, got.caption, got.caption_source) == (
        "Möwe", "xmp", "Am Strand", "meta")
    body = pp.requests_to("/api/v1/photos/p", "PUT")[-1].json
    assert "Private" not in body and "Favorite" not in body and "Details" not in body


def test_a_taken_time_with_a_zone_moves_the_photo(pp: FakePhotoPrism,
                                                  adapter: PhotoServer) -> None:
    photo = pp.add_photo(taken_at=datetime(2010, 6, 7, tzinfo=UTC))
    edit = PhotoEdit(taken_at="2019-03-02T18:30:00+01:00", time_zone="Europe/Berlin",
                     taken_source="manual")
    adapter.update_photo(read(adapter, photo.uid), edit)
    got = read(adapter, photo.uid)
    assert (got.taken_at, got.taken_at_local, got.time_zone, got.taken_src) == (
        "2019-03-02T17:30:00Z", "2019-03-02T18:30:00Z", "Europe/Berlin", "manual")
    assert pp.photo(photo.uid).taken_at == datetime(2019, 3, 2, 17, 30, tzinfo=UTC)
    with_date = [r.json for r in pp.requests_to("/api/v1/photos/p", "PUT")][-1]
    assert (with_date["Year"], with_date["Month"], with_date["Day"]) == (2019, 3, 2)
    assert pp._ymd(pp.photo(photo.uid)) == (2019, 3, 2)  # the photo moved to its month


@pytest.mark.parametrize("taken, zone, utc, local, sent", [
    ("2019-03-02T18:30:00+02:00", "", "16:30", "18:30", "UTC+2"),
    ("2019-03-02T18:30:00-05:00", "", "23:30", "18:30", "UTC-5"),
    ("2019-03-02T18:30:00+00:00", "", "18:30", "18:30", "UTC"),
    ("2019-03-02T18:30:00+05:30", "", "13:00", "13:00", "UTC"),  # no zone PhotoPrism has
    ("2019-03-02T18:30:00+05:30", "Asia/Kolkata", "13:00", "18:30", "Asia/Kolkata"),
    ("2019-03-02T18:30:00+02:00", "Europe/Berlin", "16:30", "18:30", "UTC+2"),  # zone ≠ offset
    ("2019-03-02T18:30:00+02:00", "Mars/Olympus", "16:30", "18:30", "UTC+2"),
])
def test_the_zone_sent_for_a_bare_offset(
    pp: FakePhotoPrism, adapter: PhotoServer, taken: str, zone: str, utc: str, local: str,
    sent: str
) -> None:
    photo = pp.add_photo()
    adapter.update_photo(read(adapter, photo.uid), PhotoEdit(taken_at=taken, time_zone=zone))
    assert pp.requests_to("/api/v1/photos/p", "PUT")[-1].json["TimeZone"] == sent
    got = read(adapter, photo.uid)
    assert (got.taken_at, got.taken_at_local, got.time_zone) == (
        f"2019-03-02T{utc}:00Z", f"2019-03-02T{local}:00Z", sent)


def test_a_taken_time_without_an_offset_fails_that_photo(pp: FakePhotoPrism,
                                                         adapter: PhotoServer) -> None:
    photo = pp.add_photo()
    with pytest.raises(ItemError):
        adapter.update_photo(read(adapter, photo.uid), PhotoEdit(taken_at="2019-03-02T18:30"))
    assert puts(pp) == 0


def test_a_location_is_set_as_the_users(pp: FakePhotoPrism, adapter: PhotoServer) -> None:
    photo = pp.add_photo()
    adapter.update_photo(read(adapter, photo.uid), PhotoEdit(location=(48.8584, 2.2945)))
    got = read(adapter, photo.uid)
    assert (got.lat, got.lng, got.place_source) == (48.8584, 2.2945, "manual")


def test_tags_are_added_to_the_keywords_without_losing_any(
    pp: FakePhotoPrism, adapter: PhotoServer
) -> None:
    photo = pp.add_photo()
    pp.set_photo_metadata(photo.uid, keywords="Beach, sunset", keywords_src="meta")
    pp.photo(photo.uid).details.update(Notes="a note", NotesSrc="manual")
    adapter.update_photo(read(adapter, photo.uid), PhotoEdit(tags=("Travel", "beach")))
    got = read(adapter, photo.uid)
    assert (got.keywords, got.keywords_source) == ("beach, sunset, travel", "manual")
    assert got.tags == ("beach", "sunset", "travel")
    assert pp.photo(photo.uid).details["Notes"] == "a note"
    sent = pp.requests_to("/api/v1/photos/p", "PUT")[-1].json["Details"]
    assert sent["PhotoID"] == photo.id


def test_a_second_identical_update_sends_nothing(pp: FakePhotoPrism,
                                                 adapter: PhotoServer) -> None:
    photo = pp.add_photo(title="Old")
    pp.set_photo_metadata(photo.uid, keywords="Beach", keywords_src="xmp")
    edit = PhotoEdit(title="Möwe", title_source="manual", caption="Am Strand",
                     caption_source="xmp", taken_at="2019-03-02T18:30:00+01:00",
                     time_zone="Europe/Berlin", taken_source="manual",
                     location=(52.45, 13.3), tags=("New York", "Beach"))
    adapter.update_photo(read(adapter, photo.uid), edit)
    assert puts(pp) == 1
    got = read(adapter, photo.uid)
    # What the engine compares reads back as written (tags as PhotoPrism keeps them: words).
    assert (got.title, got.title_source, got.caption, got.caption_source) == (
        "Möwe", "manual", "Am Strand", "xmp")
    assert (got.taken_at, got.taken_at_local, got.time_zone, got.taken_src) == (
        "2019-03-02T17:30:00Z", "2019-03-02T18:30:00Z", "Europe/Berlin", "manual")
    assert (got.lat, got.lng, got.place_source) == (52.45, 13.3, "manual")
    assert got.tags == ("beach", "new", "york")
    # Tags already held as words: the adapter sends nothing for them.
    adapter.update_photo(got, PhotoEdit(tags=("New York", "Beach")))
    assert puts(pp) == 1


def test_nothing_to_change_sends_nothing(pp: FakePhotoPrism, adapter: PhotoServer) -> None:
    photo = pp.add_photo()
    adapter.update_photo(read(adapter, photo.uid), PhotoEdit())
    assert puts(pp) == 0


def test_favourite_and_private_only_when_the_edit_sets_them(
    pp: FakePhotoPrism, adapter: PhotoServer
) -> None:
    photo = pp.add_photo()
    adapter.update_photo(read(adapter, photo.uid), PhotoEdit(private=True))
    body = pp.requests_to("/api/v1/photos/p", "PUT")[-1].json
    assert body["Private"] is True and "Favorite" not in body
    assert read(adapter, photo.uid).private


XMP = (b'<x:xmpmeta><rdf:RDF><rdf:Description><dc:subject><rdf:Bag><rdf:li>harbour</rdf:li>'
       b'<rdf:li>boat</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>')


def upload_with_xmp(pp: FakePhotoPrism) -> str:
    """IMG_0100.jpg + IMG_0100.xmp in one upload folder, imported: the photo's UID."""
    with admin_http(pp) as http:
        for name, data in (("IMG_0100.jpg", b"\xff\xd8\xff\xe0 jpeg"), ("IMG_0100.xmp", XMP)):
            http.post(f"/api/v1/users/{pp.user_uid}/upload/t1",
                      files={"files": (name, data)}).raise_for_status()
        http.put(f"/api/v1/users/{pp.user_uid}/upload/t1", json={"albums": []}
                 ).raise_for_status()
    (photo,) = pp.photos()
    return photo.uid


def test_the_xmp_sidecar_reads_as_a_sidecar_though_the_flags_are_left_out_when_false(
    pp: FakePhotoPrism, adapter: PhotoServer
) -> None:
    got = read(adapter, upload_with_xmp(pp))
    by_ext = {f.name.rsplit(".", 1)[-1]: f for f in got.files}
    assert (by_ext["xmp"].sidecar, by_ext["xmp"].primary, by_ext["xmp"].original) == (
        True, False, True)
    assert (by_ext["jpg"].sidecar, by_ext["jpg"].missing, by_ext["jpg"].primary) == (
        False, False, True)


def test_tags_keep_every_other_detail_and_not_the_indexers_words(
    pp: FakePhotoPrism, adapter: PhotoServer
) -> None:
    uid = upload_with_xmp(pp)
    photo = pp.photo(uid)
    photo.details.update(Notes="a note", NotesSrc="manual", Artist="Ann", ArtistSrc="meta")
    before = read(adapter, uid)
    if pp.new_api:  # 2026: the index's colour in the keywords (source ""), dc:subject apart
        assert before.keywords == photo.main_colour and before.tags == ()
    adapter.update_photo(before, PhotoEdit(tags=("Travel",)))
    sent = pp.requests_to("/api/v1/photos/p", "PUT")[-1].json["Details"]
    assert {"Subject", "SubjectSrc", "Notes", "NotesSrc", "Artist", "ArtistSrc", "Copyright",
            "CopyrightSrc", "License", "LicenseSrc", "Keywords", "KeywordsSrc",
            "PhotoID"} <= set(sent)
    details = pp.photo(uid).details
    assert (details["Notes"], details["NotesSrc"], details["Artist"], details["ArtistSrc"]) == (
        "a note", "manual", "Ann", "meta")
    got = read(adapter, uid)
    if pp.new_api:
        assert (details["Subject"], details["SubjectSrc"]) == ("harbour, boat", "xmp")
        assert (got.keywords, got.keywords_source, got.tags) == ("travel", "manual",
                                                                 ("travel",))
    else:  # Dec 2024 reads dc:subject as keywords: tags are added to them
        assert got.tags == ("boat", "harbour", "travel")
