"""The originals step of ``ppsync restore`` by upload: the missing files of each photo sent so
the target shows them as one photo again.

Every file goes through the upload flow of ``ppsync upload``: one upload batch (a PhotoPrism
upload folder) holds whole photos, each file streamed on its own POST through a
``HashingReader``, one commit, then each file confirmed by its SHA-1. On a server that groups
related files by name (``Capabilities.groups_by_name``), a photo's files carry one base name
(``naming``) and photos with the same base name never share a batch, which the server would
take for one photo. On a server that takes an XMP sidecar with its photo's upload
(``Capabilities.sidecar_upload``), the photo's XMP rides on its primary's POST and is never
sent as a file of its own. A mirror file whose bytes no longer hash to the recorded SHA-1 is
not imported: its batch is abandoned and the others go again in a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ppsync.errors import UploadFailed, UploadTooLarge
from ppsync.fsutil import sha1_of
from ppsync.inbox.scan import MAX_BATCH_FILES, InboxFile
from ppsync.inbox.sender import post_file
from ppsync.logs import get_logger
from ppsync.models import Failure
from ppsync.restore.mirror import PENDING, Original, UploadOutcome
from ppsync.restore.naming import Placement
from ppsync.restore.units import Role
from ppsync.servers.base import PhotoServer

log = get_logger("ppsync.restore")
BATCH_BYTES = 500 * 1024 * 1024  # per import (PUT): bounds how long one synchronous import runs


@dataclass(frozen=True, slots=True)
class SendItem:
    """One file to send as ``name``; ``sidecar``: the XMP that rides with it."""

    original: Original
    file: InboxFile
    name: str
    sidecar: tuple[str, Original, InboxFile] | None = None


def send_items(placements: list[Placement], missing: dict[str, InboxFile], *,
               sidecar_upload: bool, out: UploadOutcome) -> list[tuple[str, list[SendItem]]]:
    """(base name, the files to send) per photo, for the members the server lacks
    (``missing``: SHA-1 → the mirror file). With ``sidecar_upload`` a photo's XMP goes with its
    primary when that is sent; when the primary is already there, the server holds the photo
    (and whatever sidecar came with it) and nothing is sent."""
    groups: list[tuple[str, list[SendItem]]] = []
    for placement in placements:
        items: list[SendItem] = []
        rides: tuple[str, Original, InboxFile] | None = None
        if sidecar_upload:
            xmp = [(m, name) for m, name in placement.names
                   if m.role is Role.SIDECAR and m.extension == "xmp"
                   and m.original.sha1 in missing]
            if xmp:
                member, name = xmp[0]
                rides = (name, member.original, missing[member.original.sha1])
        for member, name in placement.names:
            file = missing.get(member.original.sha1)
            if file is None or (sidecar_upload and member.role is Role.SIDECAR):
                continue
            ride = rides if member is placement.unit.primary else None
            items.append(SendItem(member.original, file, name, ride))
        if items:
            groups.append((placement.stem.casefold(), items))
    return groups


def pack(groups: list[tuple[str, list[SendItem]]]) -> list[list[SendItem]]:
    """Upload batches: whole photos; the n-th photo with a base name in layer n, and batches
    never mix layers (two photos with one base name would become one); never two equal names
    in a batch; at most ``BATCH_BYTES`` (a larger photo goes alone) and ``MAX_BATCH_FILES``."""
    layers: list[list[list[SendItem]]] = []
    seen: dict[str, int] = {}
    for stem, items in groups:
        layer = seen.get(stem, 0)
        seen[stem] = layer + 1
        while len(layers) <= layer:
            layers.append([])
        layers[layer].append(items)
    batches: list[list[SendItem]] = []
    for layer_groups in layers:
        start = len(batches)
        names: list[set[str]] = []
        sizes: list[int] = []
        for items in layer_groups:
            group_names = {i.name.casefold() for i in items}
            size = sum(i.file.size for i in items)
            for index in range(start, len(batches)):
                slot = index - start
                if (not group_names & names[slot] and sizes[slot] + size <= BATCH_BYTES
                        and len(batches[index]) + len(items) <= MAX_BATCH_FILES):
                    batches[index].extend(items)
                    names[slot] |= group_names
                    sizes[slot] += size
                    break
            else:
                batches.append(list(items))
                names.append(group_names)
                sizes.append(size)
    return batches


def send_missing(server: PhotoServer, groups: list[tuple[str, list[SendItem]]],
                 out: UploadOutcome, *, dry_run: bool, check_stop: Callable[[], None],
                 say: Callable[[str], None]) -> None:
    """Send ``groups`` (``send_items``) and confirm each file by its SHA-1; counts and
    failures go to ``out``. Raises ``UploadRefused`` and the server's errors."""
    if dry_run:
        for _, items in groups:
            for item in items:
                with_xmp = f" with {item.sidecar[1].rel}" if item.sidecar else ""
                say(f"would upload {item.original.rel}{with_xmp}")
                out.photos[item.original.sha1] = PENDING + item.original.sha1
                out.uploaded += 1
                out.bytes_sent += item.file.size  # what the real run counts: the file's bytes
                out.sidecars_sent += item.sidecar is not None
        return
    for batch in pack(groups):
        check_stop()
        remaining = batch
        while remaining:
            remaining = _try_batch(server, remaining, out, check_stop)


def _sidecar_ok(item: SendItem, out: UploadOutcome) -> tuple[str, InboxFile] | None:
    """The XMP to send with ``item``, if its bytes still hash to the recorded SHA-1."""
    if item.sidecar is None:
        return None
    name, original, file = item.sidecar
    try:
        good = sha1_of(file.path) == original.sha1
    except OSError as exc:
        out.failures.append(Failure(original.rel, f"cannot read: {exc.strerror}"))
        return None
    if not good:
        out.failures.append(Failure(original.rel, "its bytes in the mirror do not match the "
                                    "recorded SHA-1 (damaged? run ppsync verify); not sent"))
        return None
    return name, file


def _try_batch(server: PhotoServer, items: list[SendItem], out: UploadOutcome,
               check_stop: Callable[[], None]) -> list[SendItem]:
    """POST ``items`` into a fresh batch, commit and confirm. Returns the items to send again
    in a new batch (when a file's bytes did not match its SHA-1), else []."""
    batch = server.upload()
    posted: list[SendItem] = []
    for index, item in enumerate(items):
        check_stop()
        sidecar = _sidecar_ok(item, out)
        try:
            accepted, sent_sha1 = post_file(batch, item.file, item.name, sidecar=sidecar)
        except (UploadTooLarge, UploadFailed) as exc:
            out.failures.append(Failure(item.original.rel, str(exc)))
            continue
        out.bytes_sent += item.file.size
        if sent_sha1 != item.original.sha1:
            out.failures.append(Failure(item.original.rel, "its bytes in the mirror do not "
                                        "match the recorded SHA-1 (damaged? run ppsync "
                                        "verify); not sent"))
            log.info("abandoning an upload folder", token_files=len(posted))
            return items[:index] + items[index + 1:]
        if accepted == 0:
            out.failures.append(Failure(item.original.rel, "refused by the server (a type it "
                                        "does not accept, over its size limit, or content "
                                        "that does not match the extension)"))
            continue
        out.sidecars_sent += sidecar is not None
        posted.append(item)
    if posted:
        batch.commit([])
        found = server.find_photos([item.original.sha1 for item in posted])
        for item in posted:
            uid = found.get(item.original.sha1)
            if uid is None:
                out.failures.append(Failure(item.original.rel, "sent, but not on the server "
                                            "after the import (not a type it imports, over "
                                            "its limits, or out of storage)"))
                continue
            out.photos[item.original.sha1] = uid
            out.uploaded += 1
            log.info("restored", path=item.original.rel, sha1=item.original.sha1)
    return []
