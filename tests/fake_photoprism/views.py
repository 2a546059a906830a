"""The JSON shapes of photos, files, albums and labels, in search rows (merged per page) and
as entities, for both API generations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.fake_photoprism.media import _COLOURS, _FILE_TYPE, _ext, _media_type, _strip_ext
from tests.fake_photoprism.model import FakeAlbum, FakeFile, FakePhoto
from tests.fake_photoprism.times import _go_time, _go_time_or_null
from tests.fake_photoprism.words import _DETAIL_KEYS


class Views:
    """The views part of ``FakePhotoPrism`` (a mixin: the state is the fake's)."""

    def _photo_path_name(self, p: FakePhoto) -> tuple[str, str]:
        """Photo ``Path``/``Name`` from its main original (Root "/", not a sidecar)."""
        best: FakeFile | None = None
        for f in p.files:
            if (
                f.root == "/"
                and not f.sidecar
                and (best is None or (f.primary, best.uid) > (best.primary, f.uid))
            ):
                best = f
        if best is None:
            best = p.files[0] if p.files else None
        if best is None:
            return "", ""
        head, _, base = best.name.rpartition("/")
        return head, _strip_ext(base)

    def _photo_fields(self, p: FakePhoto) -> dict[str, Any]:
        path, name = self._photo_path_name(p)
        t = p.taken_at
        year, month, day = self._ymd(p)
        return {
            "ID": str(p.id),
            "UID": p.uid,
            "Type": p.type,
            "TypeSrc": "",
            "TakenAt": _go_time(t),
            "TakenAtLocal": _go_time(self._local(p)),
            "TakenSrc": p.taken_src,
            "TimeZone": p.time_zone,
            "Path": path,
            "Name": name,
            "OriginalName": p.original_name,
            "Title": p.title,
            ("Caption" if self.new_api else "Description"): p.caption,
            "Year": year,
            "Month": month,
            "Day": day,
            "Country": "zz",
            "Stack": 0,
            "Favorite": p.favorite,
            "Private": p.private,
            "Iso": 0,
            "FocalLength": 0,
            "FNumber": 0,
            "Exposure": "",
            "Quality": p.quality,
            "Resolution": 0,
            "Color": 0,
            "Scan": False,
            "Panorama": False,
            "CameraID": 1,
            "CameraModel": "Unknown",
            "LensID": 1,
            "LensModel": "Unknown",
            "Lat": p.lat,
            "Lng": p.lng,
            "CellID": "zz",
            "PlaceID": "zz",
            "PlaceSrc": p.place_src,
            "PlaceLabel": "Unknown",
            "PlaceCity": "Unknown",
            "PlaceState": "Unknown",
            "PlaceCountry": "zz",
            "InstanceID": "",
        }

    def _row_json(self, p: FakePhoto, f: FakeFile) -> dict[str, Any]:
        d = self._photo_fields(p)
        d.update(
            FileUID=f.uid,
            FileRoot=f.root,
            FileName=f.name,
            Hash=f.sha1,
            Width=f.width,
            Height=f.height,
            Portrait=f.height > f.width,
        )
        if self.new_api:
            d["OriginalName"] = f.original_name
        d["Merged"] = False
        d["CreatedAt"] = _go_time(p.created_at)
        d["UpdatedAt"] = _go_time(p.updated_at)
        d["EditedAt"] = _go_time(p.edited_at)
        d["CheckedAt"] = _go_time(p.updated_at)
        if p.deleted_at is not None:
            d["DeletedAt"] = _go_time(p.deleted_at)
        d["Files"] = None
        return d

    def _merged_json(self, page: list[FakeFile]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        last_photo = ""
        for f in page:
            p = self._photos[f.photo_uid]
            if out and p.uid == last_photo:
                out[-1]["Files"].append(self._file_search_json(p, f))
                out[-1]["Merged"] = True
                continue
            last_photo = p.uid
            d = self._row_json(p, f)
            d["ID"] = f"{p.id}-{f.id}"
            d["Files"] = [self._file_search_json(p, f)]
            out.append(d)
        return out

    def _file_common(self, f: FakeFile) -> dict[str, Any]:
        ext = _ext(f.name)
        d: dict[str, Any] = {
            "UID": f.uid,
            "PhotoUID": f.photo_uid,
            "Name": f.name,
            "Root": f.root,
            "Hash": f.sha1,
            "Size": f.size,
            "Primary": f.primary,
        }
        d["FileType"] = _FILE_TYPE.get(ext, ext)
        d["MediaType"] = _media_type(f.name, f.sidecar)
        if f.mime:
            d["Mime"] = f.mime
        if f.sidecar:
            d["Sidecar"] = True
        if d["MediaType"] == "video":
            d["Video"] = True
        if f.width:
            d["Width"] = f.width
        if f.height:
            d["Height"] = f.height
        return d

    def _file_search_json(self, p: FakePhoto, f: FakeFile) -> dict[str, Any]:
        """A merged ``Files[]`` element: timestamps (and, on old servers, OriginalName) are
        copied from the photo row by deepcopier."""
        d = self._file_common(f)
        original = f.original_name if self.new_api else p.original_name
        if original:
            d["OriginalName"] = original
        d["CreatedAt"] = _go_time(p.created_at)
        d["UpdatedAt"] = _go_time(p.updated_at)
        if p.deleted_at is not None:
            d["DeletedAt"] = _go_time(p.deleted_at)
        d["Markers"] = []
        return d

    def _file_entity_json(self, f: FakeFile, p: FakePhoto) -> dict[str, Any]:
        """A file of ``GET /photos/<uid>`` (or ``GET /files/<sha1>``). On 2026 servers (seen
        on 260630) an XMP has no ``TimeIndex``/``MediaID`` (no media id: never a search row)
        and the MIME type ``text/plain; charset=utf-8``; ``Sidecar`` and ``Missing`` are
        left out when false (``omitempty``), on both generations."""
        d = self._file_common(f)
        media_id = f"{10_000_000_000 - p.id}-{1 + int(f.sidecar) - int(f.primary)}-{f.uid}"
        if self.new_api and _ext(f.name) == "xmp":
            d["Mime"] = "text/plain; charset=utf-8"
        if not (self.new_api and f.sidecar):
            d["TimeIndex"] = f"{99999999999999 - int(p.taken_at.timestamp())}-{media_id}"
            d["MediaID"] = media_id
        d["MediaUTC"] = int(p.taken_at.timestamp() * 1000)
        if f.original_name:
            d["OriginalName"] = f.original_name
        d["ModTime"] = int(f.mtime)
        d["CreatedAt"] = _go_time(f.created_at)
        d["UpdatedAt"] = _go_time(f.updated_at)
        d["Markers"] = []
        return d

    def _album_json(self, a: FakeAlbum) -> dict[str, Any]:
        count = sum(1 for u in a.photo_uids if u in self._photos and not self._photos[u].archived)
        d: dict[str, Any] = {
            "UID": a.uid,
            "ParentUID": "",
            "Thumb": "",
            "Slug": a.slug,
            "Type": a.type,
            "Title": a.title,
            "Location": "",
            "Category": "",
            "Caption": "",
            "Description": "",
            "Notes": "",
            "Filter": "",
            "Order": "oldest",
            "Template": "",
            "Path": "",
            "State": "",
            "Country": "zz",
            "Year": 0,
            "Month": 0,
            "Day": 0,
            "Favorite": a.favorite,
            "Private": a.private,
            "PhotoCount": count,
            "LinkCount": 0,
            "CreatedBy": self.user_uid,
            "CreatedAt": _go_time(a.created_at),
            "UpdatedAt": _go_time(a.updated_at),
        }
        if self.new_api or a.deleted_at is not None:
            d["DeletedAt"] = _go_time_or_null(a.deleted_at)
        return d

    def _photo_entity_json(self, p: FakePhoto) -> dict[str, Any]:
        path, name = self._photo_path_name(p)
        t = p.taken_at
        year, month, day = self._ymd(p)
        cap = "Caption" if self.new_api else "Description"
        details = {key: p.details.get(key, "") for key in _DETAIL_KEYS}
        body = {
            "ID": p.id,
            "TakenAt": _go_time(t),
            "TakenAtLocal": _go_time(self._local(p)),
            "TakenSrc": p.taken_src,
            "UID": p.uid,
            "Type": p.type,
            "TypeSrc": "",
            "Title": p.title,
            "TitleSrc": p.title_src,
            cap: p.caption,
            cap + "Src": p.caption_src,
            "Path": path,
            "Name": name,
            "OriginalName": p.original_name,
            "Stack": 0,
            "Favorite": p.favorite,
            "Private": p.private,
            "Scan": False,
            "Panorama": False,
            "TimeZone": p.time_zone,
            "PlaceID": "zz",
            "PlaceSrc": p.place_src,
            "CellID": "zz",
            "CellAccuracy": 0,
            "Altitude": 0,
            "Lat": p.lat,
            "Lng": p.lng,
            "Country": "zz",
            "Year": year,
            "Month": month,
            "Day": day,
            "Iso": 0,
            "Exposure": "",
            "FNumber": 0,
            "FocalLength": 0,
            "Quality": p.quality,
            "Resolution": 0,
            "Color": 0,
            "CameraID": 1,
            "CameraSerial": "",
            "CameraSrc": "",
            "LensID": 1,
            "Details": {
                "PhotoID": p.id,
                **details,
                "Software": "",
                "SoftwareSrc": "",
                "CreatedAt": _go_time(p.created_at),
                "UpdatedAt": _go_time(p.updated_at),
            },
            "Camera": {"ID": 1, "Slug": "zz", "Name": "Unknown", "Make": "", "Model": "Unknown"},
            "Lens": {
                "ID": 1,
                "Slug": "zz",
                "Name": "Unknown",
                "Make": "",
                "Model": "Unknown",
                "Type": "",
            },
            "Albums": [
                self._album_json(self._albums[u]) for u in p.album_uids if u in self._albums
            ],
            "Files": [
                self._file_entity_json(f, p)
                for f in sorted(p.files, key=lambda f: f.name, reverse=True)
            ],
            "Labels": [self._photo_label_json(p, *label) for label in p.labels],
            "CreatedAt": _go_time(p.created_at),
            "UpdatedAt": _go_time(p.updated_at),
            "EditedAt": _go_time_or_null(p.edited_at),
            "CheckedAt": _go_time(p.updated_at),
            "DeletedAt": _go_time_or_null(p.deleted_at),
        }
        if self.new_api:
            # As 260630 answers: no CheckedAt, EditedAt and DeletedAt only when set, the
            # creator's UID, the Cell and Place objects, Color from the index.
            del body["CheckedAt"]
            for key in ("EditedAt", "DeletedAt"):
                if body[key] is None:
                    del body[key]
            body["CreatedBy"] = self.user_uid
            label, city, state = (v or "Unknown" for v in p.place)
            place = {"PlaceID": "zz", "Label": label, "District": "Unknown",
                     "City": city, "State": state, "Country": "zz", "Keywords": "",
                     "Favorite": False, "PhotoCount": 1,
                     "CreatedAt": _go_time(p.created_at), "UpdatedAt": _go_time(p.created_at)}
            body["Cell"] = {"ID": "zz", "Name": "", "Street": "", "Postcode": "",
                            "Category": "", "Place": place,
                            "CreatedAt": place["CreatedAt"], "UpdatedAt": place["UpdatedAt"]}
            body["Place"] = dict(place)
            if p.main_colour:
                body["Color"] = _COLOURS.index(p.main_colour)
        return body

    def _photo_label_json(self, p: FakePhoto, name: str, src: str,
                          uncertainty: int) -> dict[str, Any]:
        """One ``Labels`` entry (``entity.PhotoLabel`` with its ``Label`` preloaded)."""
        label_id, label_uid, created, name, slug, priority = self._label(name)
        return {
            "PhotoID": p.id,
            "LabelID": label_id,
            "LabelSrc": src,
            "Uncertainty": uncertainty,
            "Topicality": 0,
            "Label": {
                "ID": label_id, "UID": label_uid, "Slug": slug, "CustomSlug": slug,
                "Name": name, "Favorite": False, "Priority": priority, "Description": "",
                "Notes": "",
                "PhotoCount": sum(1 for q in self._photos.values()
                                  if any(lb[0] == name for lb in q.labels)),
                "Thumb": "", "CreatedAt": _go_time(created), "UpdatedAt": _go_time(created),
            },
        }

    def _label(self, name: str) -> tuple[int, str, datetime, str, str, int]:
        """The label named ``name`` (as ``_find_or_make_label`` returned it): ID, UID,
        CreatedAt, name, slug, Priority."""
        return next(label for label in self._labels.values() if label[3] == name)
