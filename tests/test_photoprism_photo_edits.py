"""The PhotoPrism adapter reads and writes what restore needs to put a photo back whole: text with
its source, the taken time with its zone and source, the location, tags as manual labels (and,
read, keywords a person or the file set, without the words PhotoPrism adds itself) (real
loopback HTTP against the fake, both generations)."""

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


def labels_sent(pp: FakePhotoPrism) -> list[str]:
    """The names POSTed to ``/photos/<uid>/label``, each sent as the web UI sends it."""
    sent = [r.json for r in pp.requests if r.method == "POST" and r.path.endswith("/label")]
    assert all(set(body) == {"Name", "Priority", "Uncertainty"} and body["Priority"] == 10
               and body["Uncertainty"] == 0 for body in sent)
    return [body["Name"] for body in sent]


def rescan(pp: FakePhotoPrism) -> None:
    with admin_http(pp) as http:
        assert http.post("/api/v1/index", json={"path": "/", "rescan": True}).is_success


def test_photoprism_may_set_the_taken_time(adapter: PhotoServer) -> None:
    caps = adapter.capabilities
    assert (caps.taken_time, caps.groups_by_name, caps.text_sources, caps.tags) == (
        True, True, True, "labels")


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


def test_words_an_index_merges_into_manual_keywords_are_not_tags(
    pp: FakePhotoPrism, adapter: PhotoServer
) -> None:
    # The defect seen on a real 260630: a rescan adds the photo's colour (and, with places and
    # classification on, its place and its labels) to keywords a person set, source "manual".
    photo = pp.add_photo()
    with admin_http(pp) as http:
        http.put(f"/api/v1/photos/{photo.uid}", json={"Details": {
            "PhotoID": photo.id, "Keywords": "boat, sea", "KeywordsSrc": "manual"}}
        ).raise_for_status()
    pp.set_place(photo.uid, "Berlin, Germany", "Berlin", "Berlin")
    pp.add_label(photo.uid, "Cat", "image", 20)
    pp.add_label(photo.uid, "Gull", "manual")
    rescan(pp)
    got = read(adapter, photo.uid)
    if pp.new_api:
        colour = pp.photo(photo.uid).main_colour
        assert got.keywords == ", ".join(sorted(
            {"boat", "sea", colour, "berlin", "germany", "cat"}))
        assert got.keywords_source == "manual"
    assert got.tags == ("Gull", "boat", "sea")


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


def test_tags_are_added_as_manual_labels_and_the_keywords_stay(
    pp: FakePhotoPrism, adapter: PhotoServer
) -> None:
    photo = pp.add_photo()
    pp.set_photo_metadata(photo.uid, keywords="Beach, sunset", keywords_src="meta")
    pp.photo(photo.uid).details.update(Notes="a note", NotesSrc="manual")
    details = dict(pp.photo(photo.uid).details)
    adapter.update_photo(read(adapter, photo.uid),
                         PhotoEdit(tags=("Travel", "beach", "Travel/Italy", "travel", "${x}")))
    assert puts(pp) == 0  # nothing else to change: no PUT, Details untouched
    # One per label it names and the photo lacks ("beach": its keyword "Beach" already).
    assert labels_sent(pp) == ["Travel", "Travel/Italy"]
    got = read(adapter, photo.uid)
    assert got.labels == ("Travel", "Travel / Italy")  # as PhotoPrism writes them
    # Read back with "/" between a name's parts, beside the file's keywords.
    # (Dec 2024 adds the labels' words to the keywords, all in lower case.)
    assert got.tags == tuple(sorted(
        ("Beach" if pp.new_api else "beach", "Travel", "Travel/Italy", "sunset")))
    if pp.new_api:
        assert pp.photo(photo.uid).details == details


def test_a_second_identical_update_sends_nothing(pp: FakePhotoPrism,
                                                 adapter: PhotoServer) -> None:
    photo = pp.add_photo(title="Old")
    pp.set_photo_metadata(photo.uid, keywords="Beach", keywords_src="xmp")
    edit = PhotoEdit(title="Möwe", title_source="manual", caption="Am Strand",
                     caption_source="xmp", taken_at="2019-03-02T18:30:00+01:00",
                     time_zone="Europe/Berlin", taken_source="manual",
                     location=(52.45, 13.3), tags=("new york", "Beach"))
    adapter.update_photo(read(adapter, photo.uid), edit)
    assert puts(pp) == 1 and labels_sent(pp) == ["new york"]  # "Beach": a keyword already
    got = read(adapter, photo.uid)
    # What the engine compares reads back as written (tags as PhotoPrism names labels).
    assert (got.title, got.title_source, got.caption, got.caption_source) == (
        "Möwe", "manual", "Am Strand", "xmp")
    assert (got.taken_at, got.taken_at_local, got.time_zone, got.taken_src) == (
        "2019-03-02T17:30:00Z", "2019-03-02T18:30:00Z", "Europe/Berlin", "manual")
    assert (got.lat, got.lng, got.place_source) == (52.45, 13.3, "manual")
    # Dec 2024 adds the label's words to the keywords, all in lower case.
    assert got.tags == (("Beach", "New York") if pp.new_api else ("New York", "beach"))
    assert adapter.held_tags(edit.tags or ()) == adapter.held_tags(got.tags) == {
        "beach", "new york"}
    # Tags it holds in any case: the adapter sends nothing for them.
    adapter.update_photo(got, PhotoEdit(tags=("New York", "BEACH")))
    assert puts(pp) == 1 and len(labels_sent(pp)) == 1


def test_held_tags_are_the_labels_photoprism_files_them_under(adapter: PhotoServer) -> None:
    held = adapter.held_tags
    assert held(["Travel/Italy"]) == held(["travel / italy"]) == {"travel / italy"}
    assert held(["Travel Italy"]) == {"travel italy"}  # a label of its own
    assert held(["boat", "Boat", " a_b ", "semi;colon", "", "   ", "${x}"]) == {
        "boat", "a b", "semicolon"}


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


def test_tags_never_touch_the_details_and_the_indexers_words_are_no_tags(
    pp: FakePhotoPrism, adapter: PhotoServer
) -> None:
    uid = upload_with_xmp(pp)
    photo = pp.photo(uid)
    photo.details.update(Notes="a note", NotesSrc="manual", Artist="Ann", ArtistSrc="meta")
    details = dict(photo.details)
    before = read(adapter, uid)
    if pp.new_api:  # 2026: the index's colour in the keywords (source ""), dc:subject apart
        assert before.keywords == photo.main_colour and before.tags == ()
    adapter.update_photo(before, PhotoEdit(tags=("Travel",)))
    assert puts(pp) == 0 and labels_sent(pp) == ["Travel"]
    got = read(adapter, uid)
    if pp.new_api:
        assert pp.photo(uid).details == details  # Subject "harbour, boat" from the XMP too
        assert (got.keywords, got.keywords_source, got.tags) == (
            photo.main_colour, "", ("Travel",))
    else:  # Dec 2024 reads dc:subject as keywords; the label's word joins them
        assert {k: v for k, v in pp.photo(uid).details.items() if k != "Keywords"} == {
            k: v for k, v in details.items() if k != "Keywords"}
        assert got.tags == ("Travel", "boat", "harbour")
