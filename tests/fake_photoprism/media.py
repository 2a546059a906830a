"""Media files: types by extension and by content (``CheckType``), MIME types, colours, the
bodies of files (from memory, disk or synthesised from the UID) and how import and index
group related files into one photo."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from tests.fake_photoprism.model import CHUNK_SIZE

_IMAGE_MIME = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "heic": "image/heic",
    "heif": "image/heif",
    "avif": "image/avif",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "jxl": "image/jxl",
    "svg": "image/svg+xml",
}


_VIDEO_MIME = {
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "m4v": "video/x-m4v",
    "avi": "video/x-msvideo",
    "mkv": "video/x-matroska",
    "webm": "video/webm",
    "3gp": "video/3gpp",
}


_RAW_MIME = {
    "dng": "image/dng",
    "cr2": "image/x-canon-cr2",
    "cr3": "image/x-canon-cr3",
    "nef": "image/x-nikon-nef",
    "arw": "image/x-sony-arw",
    "raf": "image/x-fuji-raf",
    "orf": "image/x-olympus-orf",
    "rw2": "image/x-panasonic-rw2",
}


_SIDECAR_MIME = {
    "xmp": "application/xml",
    "json": "application/json",
    "aae": "application/xml",
    "yml": "text/yaml",
    "yaml": "text/yaml",
}


_MEDIA_EXT = set(_IMAGE_MIME) | set(_VIDEO_MIME) | set(_RAW_MIME)


_IMPORTABLE_EXT = _MEDIA_EXT | set(_SIDECAR_MIME)


_NATIVE_EXT = {"jpg", "jpeg", "png", "gif", "webp", "bmp"}


_FILE_TYPE = {"jpeg": "jpg", "tif": "tiff", "yml": "yaml"}


def _ext(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    if "." not in base:
        return ""
    return base.rsplit(".", 1)[1].lower()


def _strip_ext(name: str) -> str:
    """Strip one extension from the base name."""
    head, _, base = name.rpartition("/")
    if "." in base.lstrip("."):
        base = base[: base.rfind(".")]
    return f"{head}/{base}" if head else base


def _stem(name: str) -> str:
    """Base name without any known extensions (``IMG_1.HEIC.xmp`` -> ``IMG_1``)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    while "." in base.lstrip(".") and _ext(base) in _IMPORTABLE_EXT:
        base = base[: base.rfind(".")]
    return base


# ``pkg/media/colors`` names, by their number (the photo's ``Color``).
_COLOURS = ("black", "grey", "brown", "gold", "white", "purple", "blue", "cyan", "teal",
            "green", "lime", "yellow", "magenta", "orange", "red", "pink")


def _colour_of(sha1: str) -> str:
    """The fake's stand-in for the main colour an index finds in a picture: one of
    PhotoPrism's colour names, fixed by the file's SHA-1."""
    return _COLOURS[int(sha1[:8], 16) % len(_COLOURS)] if sha1 else ""


# ``MediaFile.CheckType``: only these types are sniffed; their bytes must match the extension.
_MAGIC = {
    "jpg": (b"\xff\xd8\xff",), "jpeg": (b"\xff\xd8\xff",), "png": (b"\x89PNG\r\n\x1a\n",),
    "gif": (b"GIF87a", b"GIF89a"), "tif": (b"II*\x00", b"MM\x00*"),
    "tiff": (b"II*\x00", b"MM\x00*"), "psd": (b"8BPS",),
}


def _type_ok(name: str, data: bytes) -> bool:
    """Do ``data`` look like what the extension of ``name`` says (for the sniffed types)?"""
    ext = _ext(name)
    if ext in ("heic", "heif"):
        return data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1",
                                                        b"heim", b"heis", b"hevc", b"hevx")
    magic = _MAGIC.get(ext)
    return magic is None or data.startswith(magic)


def _mime_for(name: str) -> str:
    ext = _ext(name)
    for table in (_IMAGE_MIME, _VIDEO_MIME, _RAW_MIME, _SIDECAR_MIME):
        if ext in table:
            return table[ext]
    return "application/octet-stream"


def _media_type(name: str, sidecar: bool) -> str:
    ext = _ext(name)
    if sidecar or ext in _SIDECAR_MIME:
        return "sidecar"
    if ext in _VIDEO_MIME:
        return "video"
    if ext in _RAW_MIME:
        return "raw"
    if ext == "svg":
        return "vector"
    return "image"


def _synthetic_bytes(uid: str, start: int, length: int) -> bytes:
    pattern = f"{uid}\n".encode()
    n = len(pattern)
    off = start % n
    reps = (off + length) // n + 1
    return (pattern * reps)[off : off + length]


_BROKEN_SVG = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
    b'viewBox="0 0 24 24" width="24" height="24"><path d="M21 5v6.59l-3-3.01-4 4.01-4-4-4 '
    b'4-3-3.01V5c0-1.1.9-2 2-2h14c1.1 0 2 .9 2 2z" fill="#ccc"/></svg>\n'
)


def _related_groups(
    items: Iterable[tuple[str, str, bytes]],
) -> dict[tuple[str, str], list[tuple[str, bytes]]]:
    """(dir, name, bytes) items by the photo they make (``MediaFile.RelatedFiles``,
    ``pkg/fs/filepath.go`` BasePrefix): files of one folder whose names share a base name, the
    name without its extension and known extensions (``IMG_1.jpg``, ``IMG_1.CR2``,
    ``IMG_1.jpg.xmp``, ``IMG_1.xmp``, ``IMG_1.MOV``), compared with case (a glob on a Linux
    file system: ``img_1.CR2`` is another photo), whatever the files hold: two unrelated
    pictures named alike are merged. ``RelatedSidecarFiles`` also joins Apple's edited copy
    ``IMG_E1234.JPG`` to ``IMG_1234.*`` and ``<base>_????.<ext>`` to ``<base>.*``."""
    groups: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
    for d, name, data in items:
        groups.setdefault((d, _stem(name)), []).append((name, data))
    for d, stem in sorted(groups):
        if (d, stem) not in groups:
            continue
        joined = [(d, stem[:4] + "E" + stem[4:])] if (
            stem[:4].upper() == "IMG_" and stem[:5].upper() != "IMG_E") else []
        joined += [key for key in groups if key[0] == d and len(key[1]) == len(stem) + 5
                   and key[1].startswith(stem + "_")]
        for key in joined:
            if key in groups and key != (d, stem):
                groups[(d, stem)].extend(groups.pop(key))
    return groups


def _iter_body(
    uid: str, content: bytes | None, path: str | None, synthetic: bool, start: int, length: int
) -> Iterator[bytes]:
    """Yield ``length`` bytes from ``start`` in chunks of at most ``CHUNK_SIZE``."""
    if length <= 0:
        return
    if synthetic:
        pos, end = start, start + length
        while pos < end:
            n = min(CHUNK_SIZE, end - pos)
            yield _synthetic_bytes(uid, pos, n)
            pos += n
    elif path is not None:
        with open(path, "rb") as fh:
            fh.seek(start)
            left = length
            while left > 0:
                block = fh.read(min(CHUNK_SIZE, left))
                if not block:
                    break
                left -= len(block)
                yield block
    else:
        view = memoryview(content or b"")
        end = min(start + length, len(view))
        for pos in range(start, end, CHUNK_SIZE):
            yield bytes(view[pos : min(pos + CHUNK_SIZE, end)])
