"""Metadata export: one ``<primary original>.ppsync.json`` / ``.ppsync.xmp`` per photo, and the
photo's metadata sidecar originals (XMP, AAE... files with ``Sidecar: true``) mirrored as
originals. Formats: ``/tmp/issue5_contract.md`` (README "Your mirror as a backup").

The walk calls ``note_page`` per page: the state compares each photo's change stamp with the one
its sidecars were written from and queues only the differing photos (one SELECT per page, no
request). After the walk, ``run`` reads each queued photo's ``Photo`` document only, puts
their sidecar originals through the executor (hash-verified downloads like any original), and
writes the sidecars atomically, only when their bytes change. A no-op pass makes no per-photo
request and writes no file.

``plan`` and ``--dry-run`` walk the same way (``note_page`` fills the walk's scratch tables
only), then ``preview`` reads the same queued photos' details and passes the actions their
sidecar originals would take to the plan's sink: no sidecar, record, download or change stamp
is written, so the next sync queues and reads those photos again.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import orjson

from ppsync.config import MetadataConfig
from ppsync.errors import ItemError, ServerDataError
from ppsync.fsutil import fsync_dir
from ppsync.logs import get_logger
from ppsync.mirror.dry_run import ActionSink
from ppsync.mirror.executor import Executor, Layout
from ppsync.mirror.planner import plan_file
from ppsync.mirror.trash import set_aside, take_back
from ppsync.models import Failure, RecordStatus, RemoteFile, RunReport
from ppsync.redact import redact
from ppsync.servers.base import Photo, PhotoFile, PhotoServer
from ppsync.state import State

log = get_logger("ppsync.sidecars")

JSON_SUFFIX = ".ppsync.json"
XMP_SUFFIX = ".ppsync.xmp"
_BATCH = 200  # photos whose details are fetched, then whose sidecar originals are drained
Todo = tuple[str, str, str]  # a queued photo: key, change stamp and flags as the walk saw them


def photo_document(photo: Photo) -> dict[str, Any]:
    """The ``ppsync-photo/1`` document for one photo: only what describes the photo, nothing
    that changes when the server merely re-reads it."""
    document: dict[str, Any] = {
        "format": "ppsync-photo/1",
        "photo_uid": photo.key, "type": photo.media_type,
        "title": photo.title, "caption": photo.caption,
        "keywords": photo.keywords, "labels": list(photo.labels),
        "favorite": photo.favorite, "private": photo.private, "archived": photo.archived,
        "taken_at": photo.taken_at, "taken_at_local": photo.taken_at_local,
        "taken_src": photo.taken_src, "time_zone": photo.time_zone,
        "lat": photo.lat, "lng": photo.lng, "altitude": photo.altitude,
        "place": {"label": photo.place.label, "city": photo.place.city,
                  "state": photo.place.state, "country": photo.place.country},
        "camera": {"make": photo.camera[0], "model": photo.camera[1]},
        "lens": {"make": photo.lens[0], "model": photo.lens[1]},
        "albums": list(photo.albums),
        # No change stamp (nor when the server last checked the file): a rescan bumps it on
        # every photo, and a sidecar is rewritten only when what it says about the photo changes.
        "files": sorted(({
            "name": f.name, "sha1": f.sha1, "size": f.size, "root": f.root,
            "type": f.file_type, "mime": f.mime, "primary": f.primary, "sidecar": f.sidecar,
            **_edited_fields(photo, f),
        } for f in photo.files if not f.missing), key=lambda f: (f["root"], f["name"])),
    }
    # What a restore needs to put the photo back whole (the photo as the unit): who set each
    # text, so a restore gives it the same source; the user's own tags; the stack it is in.
    document.update({
        "title_src": photo.title_source, "caption_src": photo.caption_source,
        "keywords_src": photo.keywords_source, "place_src": photo.place_source,
        "tags": list(photo.tags),
    })
    if photo.stack_key:
        document["stack"] = {"id": photo.stack_key, "primary_uid": photo.stack_primary_key}
    # Only servers that keep them (Immich).
    if photo.people:
        document["people"] = list(photo.people)
    if photo.rating:
        document["rating"] = photo.rating
    return document


def _edited_fields(photo: Photo, file: PhotoFile) -> dict[str, Any]:
    """Which file is the edit and which the original it was made from: an edited rendition
    says ``"edited": true`` and names its original (``edit_of``); originals say nothing more,
    so the sidecars of unedited photos keep their bytes."""
    if not file.edited:
        return {}
    primary = photo.primary_original()
    return {"edited": True, "original": False, "edit_of": primary.name if primary else ""}


def with_held_renditions(photo: Photo, state: State) -> Photo:
    """``photo`` with the SHA-1 and size of each edited rendition the mirror holds (the server
    keeps none): the sidecar then names the bytes beside it."""
    keys = [f.key for f in photo.files if f.edited]
    if not keys:
        return photo
    records = state.records_for(keys)
    files = tuple(replace(f, sha1=records[f.key].sha1, size=records[f.key].size)
                  if f.edited and f.key in records
                  and records[f.key].status is RecordStatus.ACTIVE else f for f in photo.files)
    return replace(photo, files=files)


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


# The sidecar document's generation: a new one (fields a restore needs) is written for every
# photo on the next full walk, from the server's details alone (no download).
DOCUMENT_GENERATION = "/2"


def kinds_of(metadata: MetadataConfig) -> str:
    """What a photo's export consists of; a change re-exports every photo once."""
    wanted = {"none": "", "json": "json", "xmp": "xmp", "both": "json,xmp"}[metadata.sidecars]
    return wanted + ("+originals" if metadata.originals_sidecars else "") + DOCUMENT_GENERATION


def holds_sidecar_originals(server: PhotoServer) -> bool:
    """Can the server's photo details list metadata sidecar originals? A server that takes an
    XMP only riding on its photo's upload (Immich's ``sidecarData``) keeps it inside the asset,
    never as a file of the photo: its details list none, and reading them would only cost."""
    return not server.capabilities.sidecar_upload


class SidecarExport:
    """One pass's metadata export. ``note_page`` during the walk, ``run`` after it (a plan's
    ``preview`` instead)."""

    def __init__(self, *, metadata: MetadataConfig, state: State, server: PhotoServer,
                 executor: Executor, layout: Layout, report: RunReport) -> None:
        self._metadata = metadata
        self._kinds = kinds_of(metadata)
        self._state = state
        self._server = server
        self._executor = executor
        self._layout = layout
        self._report = report
        self.written = 0

    def note_page(self, files: Iterable[RemoteFile]) -> None:
        self._state.note_photos(
            {f.photo_uid: (f.photo_updated_at, f.photo_flags) for f in files}, self._kinds)

    def run(self, workers: int, *, keep_gone: bool, trash_gone: bool = False) -> None:
        """Export every queued photo. Per-photo problems become run failures. The sidecars of
        photos that left go into the trash with their originals (``trash_gone``), stay
        (``keep_gone``) or go."""
        self._clean_orphans(keep_gone=keep_gone, trash_gone=trash_gone)
        self._queue_missing_albums()
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

    def _details(self, item: Todo) -> tuple[Todo, Photo | None]:
        try:
            return item, self._server.photo(item[0])
        except (ItemError, ServerDataError) as exc:  # one photo; unreachable/auth end the pass
            self._fail(item[0], str(exc))
            return item, None

    def preview(self, workers: int, apply: ActionSink) -> None:
        """For ``plan`` / ``--dry-run``, after the walk and its removals: read the details of
        each photo the walk queued, as ``run`` would, and pass the actions their sidecar
        originals would take to ``apply``. Writes nothing but the walk's scratch rows (what
        this walk saw, what it queued), which every pass clears at its end. Photos queued by
        ``run`` alone (album changes, moved originals) are not read: their sidecar originals
        did not change (a file that joins or leaves a photo moves its change stamp)."""
        if not self._metadata.originals_sidecars or not holds_sidecar_originals(self._server):
            return
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ppsync-meta") as pool:
            while batch := self._state.photo_todo(_BATCH):
                for item, details in pool.map(self._details, batch):
                    self._mirror_sidecars(item[0], details, apply)
                self._state.done_todo([item[0] for item in batch])

    def _mirror_sidecars(self, photo_uid: str, details: Photo | None,
                         apply: ActionSink | None = None) -> list[str]:
        """Plan the photo's sidecar originals like any original and pass each action to
        ``apply`` (the executor's, which starts downloads, unless a plan's); their file keys."""
        if details is None or not self._metadata.originals_sidecars:
            return []
        remotes = [replace(r, photo_uid=photo_uid) for r in details.sidecar_originals()]
        # Listed by the photo's details, not by the search: counted with the walk's originals,
        # so "listed" and "downloaded" count the same files.
        self._report.listed += len(remotes)
        records = self._state.records_for(r.file_uid for r in remotes)
        claims = self._state.claims_on(r.name for r in remotes)
        for remote in remotes:
            action = plan_file(remote, records.get(remote.file_uid),
                               claims.get(self._state.claim_key(remote.name)))
            self._state.record_walked([(remote.file_uid, action.path)])
            (apply or self._executor.apply)(action)
        return [r.file_uid for r in remotes]

    def _finish_photo(self, item: Todo, details: Photo | None,
                      sidecar_uids: list[str]) -> None:
        uid, updated, flags = item
        if details is None:
            return  # gone (404) or failed: a later walk queues it again if it still exists
        records = self._state.records_for(sidecar_uids)
        mirrored = [u for u in sidecar_uids
                    if u in records and records[u].status is RecordStatus.ACTIVE]
        self._state.set_sidecar_files(uid, mirrored)
        primary = details.primary_original()
        record = self._state.records_for([primary.key]).get(primary.key) if primary else None
        if record is None or record.status is not RecordStatus.ACTIVE:
            log.debug("no mirrored primary original; no sidecar", photo_uid=uid)
            return  # queued again by the next walk, after the original is mirrored
        try:
            self._write(uid, record.path, details)
        except OSError as exc:
            self._fail(record.path, f"cannot write sidecar: {exc.strerror or exc}")
            return
        if len(mirrored) == len(sidecar_uids) and self._renditions_held(details):
            self._state.save_photo(uid, (updated or details.changed, flags or details.flags),
                                   record.path, self._kinds,
                                   albums_known=details.albums_known)

    def _renditions_held(self, details: Photo) -> bool:
        """Does the mirror hold each edited rendition of the photo? Until it does, the photo
        stays queued, so its sidecar is written again with the rendition's SHA-1."""
        keys = [f.key for f in details.files if f.edited]
        records = self._state.records_for(keys) if keys else {}
        return all(k in records and records[k].status is RecordStatus.ACTIVE for k in keys)

    def _write(self, uid: str, path: str, details: Photo) -> None:
        before = self._state.photo_row(uid)
        if before is not None and before[1] != path:
            self._remove_sidecars(before[1])  # the original moved: its sidecars follow
        wanted = self._metadata.sidecars
        document = photo_document(with_held_renditions(details, self._state))
        base = self._layout.target / path
        outputs = {JSON_SUFFIX: json_bytes(document) if wanted in ("json", "both") else None,
                   XMP_SUFFIX: xmp_bytes(document) if wanted in ("xmp", "both") else None}
        for suffix, data in outputs.items():
            sidecar = base.with_name(base.name + suffix)
            if data is None:
                sidecar.unlink(missing_ok=True)  # no longer configured
                continue
            # A photo back from the trash gets the sidecar it left with (then brought up to
            # date), so the trash keeps nothing of a photo that is whole again.
            take_back(self._layout, path + suffix, path)
            if write_if_changed(sidecar, data):
                self.written += 1
            # what the rolling scrub compares the file with (mirror.scrub)
            self._state.note_written(self._layout.relative(sidecar), data, "sidecar", uid)

    def _remove_sidecars(self, path: str) -> None:
        base = self._layout.target / path
        for suffix in (JSON_SUFFIX, XMP_SUFFIX):
            base.with_name(base.name + suffix).unlink(missing_ok=True)

    def _queue_missing_albums(self) -> None:
        """Sidecars written while the server would not name a photo's albums (an Immich key
        without album.read) were saved as such: once it can (the permission granted), queue
        them, since neither the photo's change stamp nor a walk would. Nothing is asked of the
        server when no sidecar waits; one question a pass while some do."""
        if not self._state.any_photo_without_albums() or not self._server.albums_readable():
            return
        queued = self._state.requeue_photos_without_albums()
        log.info("the albums can be read now: sidecars written without album names are "
                 "written again", count=queued)

    def _clean_orphans(self, *, keep_gone: bool, trash_gone: bool) -> None:
        """Sidecars whose original is no longer mirrored at their path: an original that moved
        gets them again at its new path (the photo is queued); one that left the server takes
        them along into the trash (``trash_gone``: beside it, ``mirror.trash``) or loses them
        with it, unless ``delete = "keep"`` kept the original."""
        for uid, path, _ in self._state.orphan_photos():
            if self._state.photo_has_active_file(uid):
                self._remove_sidecars(path)
                self._state.requeue_photo(uid)
            elif trash_gone:
                try:
                    for suffix in (JSON_SUFFIX, XMP_SUFFIX):
                        set_aside(self._layout, path + suffix)
                except OSError as exc:  # left in place, and tried again by the next pass
                    self._fail(path, f"cannot set its sidecar aside: {exc.strerror or exc}")
                    continue
            elif not keep_gone:
                self._remove_sidecars(path)
            self._state.drop_photo(uid)

    def _fail(self, path: str, reason: str) -> None:
        self._report.failures.append(Failure(redact(path), redact(reason)))
        log.error("failed", path=redact(path), reason=redact(reason))
