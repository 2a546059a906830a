"""Building the library a test needs: photos and their files (in memory, on disk or
synthetic), UIDs and the server's clock, and the accessors a test reads it back with."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from tests.fake_photoprism.media import _iter_body, _mime_for, _strip_ext, _synthetic_bytes
from tests.fake_photoprism.model import SYNTHETIC_INLINE_MAX, FakeFile, FakePhoto, _b36


class Library:
    """The library part of ``FakePhotoPrism`` (a mixin: the state is the fake's)."""

    def _new_uid(self, prefix: str) -> str:
        self._uid_seq += 1
        return prefix + "s" + self._salt + _b36(self._uid_seq, 9)

    def _now(self) -> datetime:
        """A strictly increasing UTC timestamp (so ``updated_at`` always moves forward)."""
        now = datetime.now(UTC)
        if now <= self._last_ts:
            now = self._last_ts + timedelta(microseconds=1)
        self._last_ts = now
        return now

    def _invalidate(self) -> None:
        self._row_cache.clear()
        self._counts_cache = None

    def _create_photo(
        self,
        *,
        title: str,
        private: bool,
        archived: bool,
        type: str,
        quality: int,
        taken_at: datetime | None,
        original_name: str = "",
        now: datetime | None = None,
    ) -> FakePhoto:
        now = now or self._now()
        pid = self._next_photo_id
        self._next_photo_id += 1
        photo = FakePhoto(
            uid=self._new_uid("p"),
            id=pid,
            type=type,
            title=title,
            caption="",
            favorite=False,
            private=private,
            archived=archived,
            quality=quality,
            created_at=now,
            updated_at=now,
            taken_at=taken_at or now,
            original_name=original_name,
            deleted_at=now if archived else None,
            title_src="meta" if title else "",  # a title given here came with the file
        )
        self._photos[photo.uid] = photo
        return photo

    def _attach_file(
        self,
        photo: FakePhoto,
        name: str,
        *,
        content: bytes | None,
        path: str | None,
        synthetic_size: int | None = None,
        root: str = "/",
        primary: bool = False,
        sidecar: bool = False,
        mime: str | None = None,
        original_name: str = "",
        now: datetime | None = None,
    ) -> FakeFile:
        now = now or self._now()
        uid = self._new_uid("f")
        synthetic = False
        if synthetic_size is not None and synthetic_size <= SYNTHETIC_INLINE_MAX:
            # Small synthetic bodies are simply kept: ``content`` stays usable by tests.
            content, path = _synthetic_bytes(uid, 0, synthetic_size), None
            synthetic_size = None
        if synthetic_size is not None:
            data = _synthetic_bytes(uid, 0, synthetic_size)
            sha1, size, mtime = hashlib.sha1(data).hexdigest(), synthetic_size, now.timestamp()
            content, path, synthetic = None, None, True
        elif path is not None:
            h = hashlib.sha1()
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            st = os.stat(path)
            sha1, size, mtime = h.hexdigest(), st.st_size, st.st_mtime
        else:
            if content is None:
                content = f"fake file {uid} {name}\n".encode()
            sha1, size, mtime = hashlib.sha1(content).hexdigest(), len(content), now.timestamp()
        f = FakeFile(
            uid=uid,
            photo_uid=photo.uid,
            name=name,
            root=root,
            sha1=sha1,
            size=size,
            primary=False,
            sidecar=sidecar,
            mime=mime or _mime_for(name),
            content=None if path is not None else content,
            path=path,
            mtime=float(int(mtime)),
            id=self._next_file_id,
            original_name=original_name,
            synthetic=synthetic,
            created_at=now,
            updated_at=now,
        )
        self._next_file_id += 1
        photo.files.append(f)
        self._files[uid] = f
        self._by_hash.setdefault(sha1, []).append(f)
        if primary and not sidecar:
            for other in photo.files:
                other.primary = False
            f.primary = True
        return f

    def add_photo(
        self,
        files: Sequence[tuple[str, bytes]] | None = None,
        *,
        title: str = "",
        private: bool = False,
        archived: bool = False,
        type: str = "image",
        quality: int = 3,
        taken_at: datetime | None = None,
        with_preview: bool = False,
    ) -> FakePhoto:
        """Add a photo whose files are Root "/" originals; the first one is primary.

        ``files=None`` creates one JPEG with generated content. ``with_preview=True`` also adds
        a generated JPEG in the sidecar root (``<first name>.jpg``) that becomes the primary, as
        the real server does for videos, RAW, HEIC and vector files.
        """
        with self._lock:
            now = self._now()
            photo = self._create_photo(
                title=title,
                private=private,
                archived=archived,
                type=type,
                quality=quality,
                taken_at=taken_at,
                now=now,
            )
            if files is None:
                t = photo.taken_at
                files = [(f"{t:%Y}/{t:%m}/IMG_{photo.id:06d}.jpg", f"photo {photo.uid}\n".encode())]
            for i, (name, content) in enumerate(files):
                self._attach_file(photo, name, content=content, path=None, primary=i == 0, now=now)
            if files:
                photo.original_name = _strip_ext(files[0][0].rsplit("/", 1)[-1])
            if not photo.title:  # indexing gives every photo a title (UpdateTitle)
                photo.title = self._generated_title(photo)
            if with_preview and photo.files:
                first = photo.files[0]
                self._attach_file(
                    photo,
                    first.name + ".jpg",
                    content=b"\xff\xd8\xff\xe0 preview of " + first.sha1.encode(),
                    path=None,
                    root="sidecar",
                    primary=True,
                    now=now,
                )
            self._invalidate()
            return photo

    def add_file(
        self,
        photo_uid: str,
        name: str,
        content: bytes | None = None,
        *,
        path: str | None = None,
        root: str = "/",
        primary: bool = False,
        sidecar: bool = False,
        mime: str | None = None,
    ) -> FakeFile:
        """Add a file to an existing photo (content in memory, or ``path`` on disk).

        ``primary=True`` demotes the previous primary. A video photo, for example, is an
        original ``2024/05/VID.mp4`` (root "/") plus a preview ``2024/05/VID.mp4.jpg`` with
        ``root="sidecar", primary=True``. Metadata sidecars use ``sidecar=True``.
        """
        with self._lock:
            photo = self._photos[photo_uid]
            now = self._now()
            f = self._attach_file(
                photo,
                name,
                content=content,
                path=path,
                root=root,
                primary=primary,
                sidecar=sidecar,
                mime=mime,
                now=now,
            )
            if not any(x.primary for x in photo.files) and not sidecar:
                f.primary = True
            if not photo.original_name and root == "/" and not sidecar:
                photo.original_name = _strip_ext(name.rsplit("/", 1)[-1])
            photo.updated_at = now
            self._invalidate()
            return f

    def add_synthetic_photos(
        self, n_photos: int, files_per_photo: int = 1, *, size: int = 64
    ) -> None:
        """Bulk-add photos fast (100k in ~2 s), for benchmarks.

        Each body is ``f"{file_uid}\\n"`` repeated up to ``size`` bytes. Bodies up to 64 KiB are
        kept in ``content``; larger ones are generated on demand (``synthetic=True``).
        Names are ``YYYY/MM/SYN_<photo id>.jpg`` (+ ``_<n>.jpg`` for further files).
        """
        with self._lock:
            now = self._now()
            base = datetime(2020, 1, 1, tzinfo=UTC)
            for _ in range(n_photos):
                pid = self._next_photo_id
                taken = base + timedelta(minutes=pid)
                photo = self._create_photo(
                    title="",
                    private=False,
                    archived=False,
                    type="image",
                    quality=3,
                    taken_at=taken,
                    original_name=f"SYN_{pid:07d}",
                    now=now,
                )
                prefix = f"{taken:%Y}/{taken:%m}/SYN_{pid:07d}"
                for j in range(files_per_photo):
                    name = f"{prefix}.jpg" if j == 0 else f"{prefix}_{j}.jpg"
                    self._attach_file(
                        photo,
                        name,
                        content=None,
                        path=None,
                        synthetic_size=size,
                        primary=j == 0,
                        mime="image/jpeg",
                        now=now,
                    )
            self._invalidate()

    def photos(self) -> list[FakePhoto]:
        """All photos (archived included), oldest first."""
        with self._lock:
            return list(self._photos.values())

    def photo(self, photo_uid: str) -> FakePhoto:
        with self._lock:
            return self._photos[photo_uid]

    def file_by_uid(self, uid: str) -> FakeFile:
        with self._lock:
            return self._files[uid]

    def file_by_hash(self, sha1: str) -> FakeFile | None:
        with self._lock:
            lst = self._by_hash.get(sha1)
            return lst[0] if lst else None

    def files(
        self,
        root: str | None = "/",
        *,
        include_sidecars: bool = False,
        include_archived: bool = False,
    ) -> list[FakeFile]:
        """Files in ``root`` (``None``: any root).

        By default this is what a default search walk returns for that root: metadata
        sidecars and files of archived photos are left out (private photos are included).
        """
        with self._lock:
            out: list[FakeFile] = []
            for photo in self._photos.values():
                if photo.archived and not include_archived:
                    continue
                for f in photo.files:
                    if (root is None or f.root == root) and (include_sidecars or not f.sidecar):
                        out.append(f)
            return out

    def read_file(self, file_uid: str) -> bytes:
        """The full body the server would send for this file."""
        with self._lock:
            f = self._files[file_uid]
            content, path, synthetic, size, uid = f.content, f.path, f.synthetic, f.size, f.uid
        return b"".join(_iter_body(uid, content, path, synthetic, 0, size))
