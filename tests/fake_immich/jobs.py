"""The fake Immich's metadata job: what the server's background jobs write into an asset after
an upload, an exif edit or a tag change.

As seen on a real v3.1.0 (``real/probe/findings.md`` g, j, k) and read off its source
(``metadata.service.ts`` ``handleMetadataExtraction``/``getDates``/``handleSidecarWrite``,
``asset.service.ts`` ``updateExif``):

* An exif edit of ``PUT /assets/{id}`` (description, dateTimeOriginal, latitude/longitude,
  rating) writes the exif row at once, *locks* those columns and queues the sidecar write,
  whose re-extraction seconds later moves ``fileCreatedAt``/``localDateTime`` and bumps
  ``updatedAt``; the answer and a GET right after it still show the old ``updatedAt`` and
  dates. A tag change queues the same jobs.
* The extraction's time zone: the zone of the GPS position when there is one (the real
  server's exiftool finds it; the fake knows the few places of ``PLACES``), else the offset
  the date was given with ("UTC+1"), else none; ``localDateTime`` is the wall clock there.
  A location set on a photo whose time had no offset thus shifts its ``localDateTime``.
* An XMP uploaded as ``sidecarData``: ``dc:description`` becomes ``exifInfo.description``,
  each ``dc:subject`` entry a tag ("Travel/Italy" makes "Travel" too); ``dc:title`` is not
  read (Immich has no title). Locked edits win over the file and the sidecar.

The file's own EXIF is what the test said it holds (``Metadata``): the fake parses no image.
Generations before v3 keep the fake's older rules: no sidecar reading, no GPS zone.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tests.fake_immich.model import FakeAsset, Person, iso

if TYPE_CHECKING:
    from tests.fake_immich.library import Library, Metadata

EXIF_EDITS = ("description", "dateTimeOriginal", "latitude", "longitude", "rating")
_DC = "{http://purl.org/dc/elements/1.1/}"
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"


@dataclass(frozen=True)
class Place:
    """A place the fake's reverse geocoder knows (within half a degree)."""

    latitude: float
    longitude: float
    city: str
    state: str
    country: str
    zone: str


PLACES = (Place(52.52, 13.405, "Berlin", "Berlin", "Germany", "Europe/Berlin"),
          Place(41.893, 12.483, "Rome", "Lazio", "Italy", "Europe/Rome"))


def place_at(latitude: float | None, longitude: float | None) -> Place | None:
    if latitude is None or longitude is None:
        return None
    return next((p for p in PLACES if abs(p.latitude - latitude) <= 0.5
                 and abs(p.longitude - longitude) <= 0.5), None)


def read_xmp(data: bytes) -> tuple[str | None, list[str]]:
    """(``dc:description``, ``dc:subject`` entries) of an XMP packet; (None, []) when it is
    not XML the fake can read."""
    try:
        root = ET.fromstring(data.decode("utf-8", "replace").lstrip("\ufeff"))
    except ET.ParseError:
        return None, []
    description = next((li.text or "" for node in root.iter(f"{_DC}description")
                        for li in node.iter(f"{_RDF}li")), None)
    subjects = [li.text.strip() for node in root.iter(f"{_DC}subject")
                for li in node.iter(f"{_RDF}li") if li.text and li.text.strip()]
    return description, subjects


def tz_name(offset: timedelta | None) -> str | None:
    """Immich's ``timeZone`` for a fixed offset: ``"UTC+2"``, ``"UTC-5:30"``, ``"UTC"``."""
    if offset is None:
        return None
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    hours, mins = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{mins:02d}" if mins else "")


def _zone_of(name: str | None) -> timezone | ZoneInfo | None:
    """The zone a ``timeZone`` value names ("UTC+1", "UTC", "Europe/Berlin"), or None."""
    if not name:
        return None
    if name.startswith("UTC"):
        rest = name[3:]
        if not rest:
            return UTC
        hours, _, mins = rest[1:].partition(":")
        sign = -1 if rest[0] == "-" else 1
        return timezone(sign * timedelta(hours=int(hours), minutes=int(mins or 0)))
    return ZoneInfo(name)


def parse_taken(text: str) -> tuple[datetime, timedelta | None]:
    """A ``dateTimeOriginal`` as sent: (the instant, its offset or None). Without an offset
    the server takes it as UTC (findings k)."""
    taken = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if taken.tzinfo is None:
        return taken.replace(tzinfo=UTC), None
    return taken.astimezone(UTC), taken.utcoffset()


def exif_time(lib: Library, when: datetime) -> str | None:
    """An exif date: v3.1.0 writes "2021-05-01T09:01:00+00:00" (seconds, "+00:00")."""
    if lib.gen.seen_live_v31:
        return when.astimezone(UTC).isoformat(timespec="seconds")
    return iso(when)


def _dates(lib: Library, asset: FakeAsset, meta: Metadata) -> tuple[datetime, datetime, str | None]:
    """(fileCreatedAt, localDateTime as if UTC, timeZone) the extraction finds."""
    locked = asset.locked
    zone_name: str | None
    if "dateTimeOriginal" in locked:
        instant, _ = parse_taken(str(locked["dateTimeOriginal"]))
        zone_name = locked.get("timeZone")
    elif meta.taken is None:  # no EXIF date: the file's time, no zone
        instant, zone_name = asset.file_modified_at, None
    elif meta.taken.tzinfo is None:  # an EXIF date without offset: taken as UTC, no zone
        instant, zone_name = meta.taken.replace(tzinfo=UTC), None
    else:
        instant, zone_name = meta.taken.astimezone(UTC), tz_name(meta.taken.utcoffset())
    if lib.gen.seen_live_v31:
        place = place_at(locked.get("latitude", meta.latitude),
                         locked.get("longitude", meta.longitude))
        if place is not None:  # the GPS zone wins over the offset (findings k)
            zone_name = place.zone
    zone = _zone_of(zone_name)
    local = instant.astimezone(zone).replace(tzinfo=UTC) if zone is not None else instant
    return instant, local, zone_name


def metadata_job(lib: Library, asset: FakeAsset, meta: Metadata) -> None:
    """Write what the extraction finds into ``asset`` and bump its ``updatedAt``. Hold
    ``lib.lock``."""
    v3 = lib.gen.seen_live_v31
    locked = asset.locked
    xmp_description, subjects = read_xmp(asset.sidecar[1]) if v3 and asset.sidecar \
        else (None, [])
    created, local, zone_name = _dates(lib, asset, meta)
    asset.file_created_at, asset.local_date_time = created, local
    lat = locked.get("latitude", meta.latitude)
    lng = locked.get("longitude", meta.longitude)
    place = place_at(lat, lng) if v3 else None
    from_meta = "latitude" not in locked
    geo: tuple[Any, Any, Any] = (
        (meta.city, meta.state, meta.country) if from_meta and meta.city is not None
        else (place.city, place.state, place.country) if place is not None
        else (meta.city, meta.state, meta.country) if from_meta else (None, None, None))
    description = locked.get("description", xmp_description if xmp_description is not None
                             else meta.description)
    asset.exif = {
        "make": meta.make, "model": meta.model, "lensModel": meta.lens_model,
        "exifImageWidth": asset.width, "exifImageHeight": asset.height,
        "fileSizeInByte": len(asset.content), "orientation": None,
        "dateTimeOriginal": exif_time(lib, created),
        "modifyDate": exif_time(lib, asset.file_modified_at), "timeZone": zone_name,
        "fNumber": None, "focalLength": None, "iso": None, "exposureTime": None,
        "latitude": lat, "longitude": lng, "city": geo[0], "state": geo[1], "country": geo[2],
        "description": description, "projectionType": None,
        "rating": locked.get("rating", meta.rating),
    }
    known = {p.name: p for p in asset.people}  # faces keep their ids on a second run
    asset.people = [known.get(n) or Person(lib.new_id(), n) for n in meta.people]
    if asset.type == "VIDEO":
        asset.duration_ms = meta.duration_ms if meta.duration_ms is not None else 4000
        asset.width, asset.height = 1920, 1080
    if subjects:  # the sidecar's subjects join the asset's tags (parents made as needed)
        found = [t.id for t in lib.upsert_tag_values(subjects)]
        asset.tag_ids = (*asset.tag_ids, *[t for t in found if t not in asset.tag_ids])
    asset.updated_at = lib.now()


def write_exif_edits(lib: Library, asset: FakeAsset, changes: dict[str, Any]) -> bool:
    """(v3.1.0) ``updateExif``: the exif fields of an edit written and locked at once,
    ``fileCreatedAt``/``localDateTime``/``updatedAt`` left to the job; a date with an offset
    sets ``timeZone`` ("UTC+1") until then. True when there was anything to write (the caller
    queues the job once its answer is built). Hold ``lib.lock``."""
    writes = {k: changes[k] for k in EXIF_EDITS if k in changes}
    if not writes:
        return False
    exif = dict(asset.exif)
    locked = dict(asset.locked)
    for key, value in writes.items():
        locked[key] = value
        exif[key] = value
    if "dateTimeOriginal" in writes:
        instant, offset = parse_taken(str(writes["dateTimeOriginal"]))
        exif["dateTimeOriginal"] = exif_time(lib, instant)
        if offset is not None:  # luxon's fixed zone; without an offset the zone stays
            exif["timeZone"] = locked["timeZone"] = tz_name(offset)
    asset.locked = locked
    asset.exif = exif
    return True
