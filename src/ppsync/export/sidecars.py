"""Metadata export: one ``<primary original>.ppsync.json`` / ``.ppsync.xmp`` per photo, and the
photo's metadata sidecar originals (XMP, AAE... files with ``Sidecar: true``) mirrored as
originals. Formats: ``/tmp/issue5_contract.md`` (README "Your mirror as a backup").

The walk calls ``note_page`` per page: the state compares each photo's ``UpdatedAt`` with the one
its sidecars were written from and queues only the differing photos (one SELECT per page, no
request). After the walk, ``run`` fetches ``GET /photos/<uid>`` for the queued photos only, puts
their sidecar originals through the executor (hash-verified downloads like any original), and
writes the sidecars atomically, only when their bytes change. A no-op pass makes no per-photo
request and writes no file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import orjson

from ppsync.config import MetadataConfig
from ppsync.errors import ItemError, ServerDataError
from ppsync.fsutil import fsync_dir
from ppsync.logs import get_logger
from ppsync.mirror.executor import Executor, Layout
from ppsync.mirror.planner import plan_file
from ppsync.models import Failure, RecordStatus, RemoteFile, RunReport
from ppsync.redact import redact
from ppsync.servers.photoprism.client import PhotoPrismClient
from ppsync.servers.photoprism.listing import _SHA1, ORIGINALS_ROOT, photo_flags
from ppsync.state import State

log = get_logger("ppsync.sidecars")

JSON_SUFFIX = ".ppsync.json"
XMP_SUFFIX = ".ppsync.xmp"
_BATCH = 200  # photos whose details are fetched, then whose sidecar originals are drained
Todo = tuple[str, str, str]  # a queued photo: UID, UpdatedAt and flags as the walk saw them


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _files(details: dict[str, Any]) -> list[dict[str, Any]]:
    files = details.get("Files")
    return [f for f in files if isinstance(f, dict) and not f.get("Missing")] if isinstance(
        files, list) else []


def primary_original(details: dict[str, Any]) -> dict[str, Any] | None:
    """The Root "/" file PhotoPrism marks Primary; when the primary is a sidecar-root preview
    (videos, RAW, HEIC), the first Root "/" non-sidecar file in the photo's Files order."""
    originals = [f for f in _files(details)
                 if f.get("Root") == ORIGINALS_ROOT and not f.get("Sidecar")]
    return next((f for f in originals if f.get("Primary")), originals[0] if originals else None)


def sidecar_originals(details: dict[str, Any], photo_uid: str) -> list[RemoteFile]:
    """The photo's metadata sidecar originals (``Sidecar: true``, Root "/") as RemoteFiles."""
    found = []
    for f in _files(details):
        uid, name, sha1, size = f.get("UID"), f.get("Name"), _text(f.get("Hash")).lower(), f.get(
            "Size")
        if (f.get("Root") == ORIGINALS_ROOT and f.get("Sidecar") and isinstance(uid, str)
                and isinstance(name, str) and _SHA1.fullmatch(sha1) and type(size) is int):
            found.append(RemoteFile(uid, photo_uid, name, sha1, size,
                                    _text(details.get("UpdatedAt")), _text(f.get("Mime"))))
    return found


def photo_document(details: dict[str, Any]) -> dict[str, Any]:
    """The ``ppsync-photo/1`` document for one photo's details: only what describes the
    photo, nothing that changes when the server merely re-reads it."""
    place, camera, lens = (_dict(details.get(k)) for k in ("Place", "Camera", "Lens"))
    labels = {_text(_dict(item.get("Label")).get("Name"))
              for item in details.get("Labels") or [] if isinstance(item, dict)}
    albums = {_text(a.get("UID")) for a in details.get("Albums") or []
              if isinstance(a, dict) and a.get("Type", "album") == "album"}
    caption = details.get("Caption") if "Caption" in details else details.get("Description")
    return {
        "format": "ppsync-photo/1",
        "photo_uid": _text(details.get("UID")), "type": _text(details.get("Type")),
        "title": _text(details.get("Title")), "caption": _text(caption),
        "keywords": _text(_dict(details.get("Details")).get("Keywords")),
        "labels": sorted(labels - {""}),
        "favorite": bool(details.get("Favorite")), "private": bool(details.get("Private")),
        "archived": bool(details.get("DeletedAt")),
        "taken_at": _text(details.get("TakenAt")),
        "taken_at_local": _text(details.get("TakenAtLocal")),
        "taken_src": _text(details.get("TakenSrc")), "time_zone": _text(details.get("TimeZone")),
        "lat": float(details.get("Lat") or 0), "lng": float(details.get("Lng") or 0),
        "altitude": int(details.get("Altitude") or 0),
        "place": {"label": _text(place.get("Label")), "city": _text(place.get("City")),
                  "state": _text(place.get("State")), "country": _text(place.get("Country"))},
        "camera": {"make": _text(camera.get("Make")), "model": _text(camera.get("Model"))},
        "lens": {"make": _text(lens.get("Make")), "model": _text(lens.get("Model"))},
        "albums": sorted(albums - {""}),
        # No UpdatedAt (nor CheckedAt): a rescan bumps it on every photo, and a sidecar is
        # rewritten only when what it says about the photo changes.
        "files": sorted(({
            "name": _text(f.get("Name")), "sha1": _text(f.get("Hash")).lower(),
            "size": f.get("Size") if type(f.get("Size")) is int else -1,
            "root": _text(f.get("Root")), "type": _text(f.get("FileType")),
            "mime": _text(f.get("Mime")), "primary": bool(f.get("Primary")),
            "sidecar": bool(f.get("Sidecar")),
        } for f in _files(details)), key=lambda f: (f["root"], f["name"])),
    }


def json_bytes(document: dict[str, Any]) -> bytes:
    """UTF-8, sorted keys, indent 2, trailing newline: the same document, the same bytes."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def xmp_bytes(doc: dict[str, Any]) -> bytes:
    """An XMP packet with title, description, subjects, rating, date, GPS and the photo UID."""
    subjects = [k.strip() for k in doc["keywords"].split(",") if k.strip()] + doc["labels"]
    items = "".join(f"<rdf:li>{escape(s)}</rdf:li>" for s in dict.fromkeys(subjects))
    gps = ""
    if doc["lat"] or doc["lng"]:
        gps = (f'\n   exif:GPSLatitude="{_gps(doc["lat"], "NS")}"'
               f'\n   exif:GPSLongitude="{_gps(doc["lng"], "EW")}"')
    text = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
   xmlns:dc="http://purl.org/dc/elements/1.1/"
   xmlns:xmp="http://ns.adobe.com/xap/1.0/"
   xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
   xmlns:exif="http://ns.adobe.com/exif/1.0/"
   xmlns:ppsync="https://github.com/ppsync/ns/1.0/"
   xmp:Rating="{5 if doc["favorite"] else 0}"
   photoshop:DateCreated="{escape(doc["taken_at"], {'"': "&quot;"})}"{gps}
   ppsync:PhotoUID="{escape(doc["photo_uid"], {'"': "&quot;"})}">
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(doc["title"])}</rdf:li></rdf:Alt></dc:title>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{escape(doc["caption"])}</rdf:li></rdf:Alt></dc:description>
   <dc:subject><rdf:Bag>{items}</rdf:Bag></dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""  # noqa: E501
    return text.encode("utf-8")


def _gps(value: float, hemispheres: str) -> str:
    """XMP's GPSCoordinate: degrees,decimal-minutes plus N/S or E/W."""
    degrees, minutes = divmod(abs(value) * 60, 60)
    return f"{int(degrees)},{minutes:.6f}{hemispheres[0] if value >= 0 else hemispheres[1]}"


def write_if_changed(path: Path, data: bytes) -> bool:
    """Atomically put ``data`` at ``path`` unless it already holds exactly that; True if
    written. Temp name in the same folder, fsync, os.replace, fsync the folder."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    temp = path.with_name(f".{path.name}.ppsync-tmp")
    try:
        with temp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)  # never leave a half-written temp behind (full disk)
        raise
    fsync_dir(path.parent)
    return True


def kinds_of(metadata: MetadataConfig) -> str:
    """What a photo's export consists of; a change re-exports every photo once."""
    wanted = {"none": "", "json": "json", "xmp": "xmp", "both": "json,xmp"}[metadata.sidecars]
    return wanted + ("+originals" if metadata.originals_sidecars else "")


class SidecarExport:
    """One pass's metadata export. ``note_page`` during the walk, ``run`` after it."""

    def __init__(self, *, metadata: MetadataConfig, state: State, client: PhotoPrismClient,
                 executor: Executor, layout: Layout, report: RunReport) -> None:
        self._metadata = metadata
        self._kinds = kinds_of(metadata)
        self._state = state
        self._client = client
        self._executor = executor
        self._layout = layout
        self._report = report
        self.written = 0

    def note_page(self, files: Iterable[RemoteFile]) -> None:
        self._state.note_photos(
            {f.photo_uid: (f.photo_updated_at, f.photo_flags) for f in files}, self._kinds)

    def run(self, workers: int, *, keep_gone: bool) -> None:
        """Export every queued photo. Per-photo problems become run failures."""
        self._clean_orphans(keep_gone=keep_gone)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ppsync-meta") as pool:
            while batch := self._state.photo_todo(_BATCH):
                fetched = list(pool.map(self._details, batch))
                sidecar_uids = {item[0]: self._mirror_sidecars(item[0], d)
                                for item, d in fetched}
                self._executor.drain()
                for item, details in fetched:
                    self._finish_photo(item, details, sidecar_uids.get(item[0], []))
                self._state.done_todo([item[0] for item in batch])
        if self.written:
            log.info("metadata sidecars written", count=self.written)

    def _details(self, item: Todo) -> tuple[Todo, dict[str, Any] | None]:
        try:
            return item, self._client.photo_details(item[0])
        except (ItemError, ServerDataError) as exc:  # one photo; unreachable/auth end the pass
            self._fail(item[0], str(exc))
            return item, None

    def _mirror_sidecars(self, photo_uid: str, details: dict[str, Any] | None) -> list[str]:
        """Plan and start the photo's sidecar originals like any original; their UIDs."""
        if details is None or not self._metadata.originals_sidecars:
            return []
        remotes = sidecar_originals(details, photo_uid)
        records = self._state.records_for(r.file_uid for r in remotes)
        claims = self._state.claims_on(r.name for r in remotes)
        for remote in remotes:
            action = plan_file(remote, records.get(remote.file_uid),
                               claims.get(self._state.claim_key(remote.name)))
            self._state.record_walked([(remote.file_uid, action.path)])
            self._executor.apply(action)
        return [r.file_uid for r in remotes]

    def _finish_photo(self, item: Todo, details: dict[str, Any] | None,
                      sidecar_uids: list[str]) -> None:
        uid, updated, flags = item
        if details is None:
            return  # gone (404) or failed: a later walk queues it again if it still exists
        records = self._state.records_for(sidecar_uids)
        mirrored = [u for u in sidecar_uids
                    if u in records and records[u].status is RecordStatus.ACTIVE]
        self._state.set_sidecar_files(uid, mirrored)
        primary = primary_original(details)
        record = self._state.records_for([_text(primary.get("UID"))]).get(
            _text(primary.get("UID"))) if primary else None
        if record is None or record.status is not RecordStatus.ACTIVE:
            log.debug("no mirrored primary original; no sidecar", photo_uid=uid)
            return  # queued again by the next walk, after the original is mirrored
        try:
            self._write(uid, record.path, details)
        except OSError as exc:
            self._fail(record.path, f"cannot write sidecar: {exc.strerror or exc}")
            return
        if len(mirrored) == len(sidecar_uids):
            self._state.save_photo(uid, (updated or _text(details.get("UpdatedAt")),
                                         flags or photo_flags(details)), record.path,
                                   self._kinds)

    def _write(self, uid: str, path: str, details: dict[str, Any]) -> None:
        before = self._state.photo_row(uid)
        if before is not None and before[1] != path:
            self._remove_sidecars(before[1])  # the original moved: its sidecars follow
        wanted = self._metadata.sidecars
        document = photo_document(details)
        base = self._layout.target / path
        outputs = {JSON_SUFFIX: json_bytes(document) if wanted in ("json", "both") else None,
                   XMP_SUFFIX: xmp_bytes(document) if wanted in ("xmp", "both") else None}
        for suffix, data in outputs.items():
            sidecar = base.with_name(base.name + suffix)
            if data is None:
                sidecar.unlink(missing_ok=True)  # no longer configured
            elif write_if_changed(sidecar, data):
                self.written += 1

    def _remove_sidecars(self, path: str) -> None:
        base = self._layout.target / path
        for suffix in (JSON_SUFFIX, XMP_SUFFIX):
            base.with_name(base.name + suffix).unlink(missing_ok=True)

    def _clean_orphans(self, *, keep_gone: bool) -> None:
        """Sidecars whose original is no longer mirrored at their path: an original that moved
        gets them again at its new path (the photo is queued); one that left the server loses
        them with it, unless ``delete = "keep"`` kept the original."""
        for uid, path, _ in self._state.orphan_photos():
            if self._state.photo_has_active_file(uid):
                self._remove_sidecars(path)
                self._state.requeue_photo(uid)
            elif not keep_gone:
                self._remove_sidecars(path)
            self._state.drop_photo(uid)

    def _fail(self, path: str, reason: str) -> None:
        self._report.failures.append(Failure(redact(path), redact(reason)))
        log.error("failed", path=redact(path), reason=redact(reason))
