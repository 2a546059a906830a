"""What the engine needs from a photo server: the ``PhotoServer`` protocol and its neutral data.

This docstring is the contract. Every server kind (``servers/photoprism/``, next
``servers/immich/``) implements ``PhotoServer`` in one subpackage that alone knows the server's
URLs, field names, paging and tokens; the engine (mirror, export, inbox, restore, service) speaks
only the frozen values below and asks ``Capabilities`` where servers differ, never the type.

Keys. A *file key* is stable for the life of one stored original (PhotoPrism's FileUID, Immich's
asset id); a *photo key* groups the files of one picture (PhotoPrism's PhotoUID; on Immich the
still's asset id, for the still and its live-photo video alike). Keys are opaque text.

Hashes. SHA-1 as 40 lowercase hex digits, always; an adapter converts (Immich sends base64).
An *edited rendition* (Immich keeps a photo's edit beside its untouched original) is listed
as a file of the photo with the key ``models.edited_key(original key)``, SHA-1 "" (the server
keeps no hash of it) and the photo's change stamp as its version; ``download`` sends its
bytes, and the engine records their SHA-1.
Sizes. Bytes, or -1 when the listing does not say (a download is then verified by hash only).
Times. A *change stamp* is the server's text for "this photo last changed"; the engine compares
stamps for equality only. ``Listing.started`` is the server's clock (not ours) when the listing
began; the engine derives the next change cursor from it.

Errors. Only the ``ppsync.errors`` tree leaves an adapter: ``AuthError`` (exit 3),
``ServerUnreachable``/``ServerBusy`` (after the shared retry policy of ``servers.http``),
``ServerDataError`` (an answer the adapter cannot read: name where), ``RemoteFileMissing``
(gone while we looked), ``Upload*`` for uploads, ``Interrupted`` when the stop event is set.
Retries, outage waits, timeouts and the redaction of secrets happen inside, at the HTTP boundary;
the engine never retries a server call itself.

Threads. ``download`` and ``photo`` may be called from several worker threads at once; every
other method from the coordinating thread only.

Lifecycle. ``open`` logs in (or checks a configured key) and returns ``ServerInfo``; ``close``
logs out only a session that ``open`` created (never a configured token or key, which would
delete it on the server) and closes connections; ``abort`` closes connections at once from any
thread, so in-flight downloads fail fast and stay resumable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Protocol

from ppsync.config import MirrorConfig, Settings
from ppsync.models import RemoteFile

SHA1 = re.compile(r"[0-9a-f]{40}")  # how every SHA-1 crosses the interface
MANUAL = "manual"  # a text's source when a person set it: servers keep it on rescans

__all__ = [
    "MANUAL", "SHA1", "Access", "Album", "BodyOpener", "Capabilities", "DownloadSink", "Fresh",
    "Listing", "Photo", "PhotoEdit", "PhotoFile", "PhotoServer", "Place", "RemoteFile",
    "ServerInfo", "UploadBatch",
]

BodyOpener = Callable[[], AbstractContextManager[IO[bytes]]]
Fresh = Callable[[list[RemoteFile]], list[RemoteFile]]  # drops files this walk already yielded


@dataclass(frozen=True, slots=True)
class Capabilities:
    """Where servers differ, as flags the engine asks (rclone's ``fs.Features``)."""

    download_tokens: bool = False  # downloads need a token the adapter renews by itself
    albums_idempotent_by_title: bool = False  # creating an existing title returns that album
    # Titles that differ only in case name one album (PhotoPrism matches by slug); else a
    # title is matched exactly (Immich: "Trip" and "trip" are two albums).
    album_titles_ignore_case: bool = False
    change_feed: bool = True  # ``listing(since=...)`` lists the photos changed since a cursor
    # A star or a private mark leaves the photo's change stamp alone: a change pass then
    # compares ``flags_stamp()`` before trusting the feed (PhotoPrism, see photoprism-api.md §h).
    flags_outside_change_feed: bool = False
    separate_title_and_caption: bool = True  # else the title is not stored on its own
    upload_modes: frozenset[str] = frozenset({"upload"})  # and "import-folder" ([upload] mode)
    index_in_place: bool = False  # files copied into its originals can be indexed in place
    archive: bool = True  # photos can be archived (hidden from the library, kept)
    # Its files have paths that mean something to the user (the default layout keeps them);
    # else files are placed by name and taken date (``[mirror] layout``).
    server_paths: bool = True
    private: bool = True  # photos can be marked private (PhotoPrism); else restore reports it
    # Each account has a library of its own (Immich), so the account is part of which library
    # a mirror follows; else every account sees one library (PhotoPrism: roles only filter it).
    library_per_account: bool = False
    # Deleted photos wait in a trash the server purges after a while (Immich); such a photo
    # is not a copy to count on: ``find_photos`` leaves it out, ``find_in_trash`` finds it.
    # (PhotoPrism's archive is kept until someone deletes it: an archived photo counts.)
    trash: bool = False
    # Restore may set a photo's taken time (Immich: its dateTimeOriginal; PhotoPrism: TakenAt,
    # TakenAtLocal and TimeZone with a source); else the server's own reading of the file stands.
    taken_time: bool = False
    # --- one photo, several originals (the photo is the unit of restore) ---------------------
    # Several originals shown as one photo by an explicit stack (Immich: ``stack``), the first
    # key on top.
    stacks: bool = False
    # A still and its video are linked explicitly (Immich: ``link_live_photo``; the video
    # turns hidden and is left out of albums and edits).
    live_links: bool = False
    # Related files of one folder that share a base name become ONE photo (PhotoPrism's import
    # and index): restore names a photo's files alike, and keeps unrelated files apart.
    groups_by_name: bool = False
    # An XMP sidecar travels with its photo's upload (``UploadBatch.send(sidecar=...)``, Immich);
    # else it is sent as a file of its own beside its photo's files (PhotoPrism).
    sidecar_upload: bool = False
    # Who set a title or caption is kept (PhotoPrism's ``TitleSrc``...); else text has no source.
    text_sources: bool = False
    rating: bool = False  # stars (Immich's rating); else not carried
    location: bool = True  # a latitude and longitude may be set
    # How the user's tags are held: "tags" (Immich tags), "labels" (PhotoPrism manual labels)
    tags: str = "tags"


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """Who we are on which server, for ``ppsync check`` and the logs."""

    kind: str  # "photoprism", "immich"
    product: str  # the name a person knows it by: "PhotoPrism", "Immich"
    version: str
    user_key: str = ""  # the user acted for ("" when the session may not say)
    user_name: str = ""
    provider: str = ""  # how we logged in: "local" (password), "application" (token), "client"
    role: str = ""  # "admin" or another role; "" when unknown
    scope: str | None = ""  # "" = the account's own rights; None = the server would not say
    client_name: str = ""


@dataclass(frozen=True, slots=True)
class Access:
    """For ``ppsync check``: the session's scope in words, the configured features it serves,
    and those it cannot (feature → why); ``unknown_counts``: why this session does not get
    the library's totals (``PhotoServer.library_counts`` empty) and what ppsync does without
    them, in the server's own terms, printed after "counts: unknown"."""

    scope_line: str
    served: tuple[str, ...] = ()
    problems: Mapping[str, str] = field(default_factory=dict)
    unknown_counts: str = ""
    # Features whose lack is a documented degrade, not a stop: the preflight warns about them.
    degrades: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Album:
    """One album. ``kind`` is the server's album type ("album" = made by a person); titles are
    not unique on every server (``Capabilities.albums_idempotent_by_title``)."""

    key: str
    title: str
    description: str = ""
    caption: str = ""
    kind: str = "album"
    order: str = ""
    favorite: bool = False
    private: bool = False
    created_at: str = ""
    updated_at: str = ""  # the album's change stamp: members are re-read when it moves
    # Whose album it is. ``role`` is the user's part in it: "owner" for the user's own (every
    # PhotoPrism album: its API shares albums by link only, never between accounts), else
    # "viewer" or "editor" (an Immich album another user shared with the user, whose
    # ``owner_key``/``owner_name`` name that user). "" when the server does not say.
    owner_key: str = ""
    owner_name: str = ""
    role: str = "owner"

    @property
    def own(self) -> bool:
        """The user's own album, not one someone else shared with the user."""
        return self.role == "owner"


@dataclass(frozen=True, slots=True)
class PhotoFile:
    """One file of a photo. ``original``: a stored original (not a preview the server made);
    ``sidecar``: a metadata file (XMP, AAE) stored beside the originals; ``root`` is the
    server's name for the storage area, kept for the sidecar document."""

    key: str
    name: str  # the server's proposed relative path: data, not yet a trusted path
    sha1: str  # lowercase hex, or "" when the server has none
    size: int = -1
    original: bool = True
    sidecar: bool = False
    primary: bool = False
    root: str = "/"
    file_type: str = ""
    mime: str = ""
    missing: bool = False  # the server lost the file (still listed, nothing to download)
    # The edited rendition the server made of the photo's primary original (Immich v2.5 and
    # later): not an original, no hash of the server's (``models.EDITED_SUFFIX``)
    edited: bool = False


@dataclass(frozen=True, slots=True)
class Place:
    label: str = ""
    city: str = ""
    state: str = ""
    country: str = ""


@dataclass(frozen=True, slots=True)
class Photo:
    """One photo's metadata, as the sidecars and restore read it (``ppsync-photo/1``).

    ``title_source``/``caption_source``: who set the text; ``"manual"`` is a person's, which
    the server keeps when it re-reads the file (restore writes text as manual)."""

    key: str
    media_type: str = ""
    title: str = ""
    caption: str = ""
    keywords: str = ""  # comma-separated, as the server holds them
    labels: tuple[str, ...] = ()
    favorite: bool = False
    private: bool = False
    archived: bool = False
    taken_at: str = ""
    taken_at_local: str = ""
    taken_src: str = ""
    time_zone: str = ""
    lat: float = 0.0
    lng: float = 0.0
    altitude: int = 0
    place: Place = field(default_factory=Place)
    camera: tuple[str, str] = ("", "")  # make, model
    lens: tuple[str, str] = ("", "")
    albums: tuple[str, ...] = ()  # keys of the manual albums holding it
    # False: the server would not say which albums hold it (an Immich key without album.read);
    # ``albums`` is then empty, and the sidecar is written again once the server can say
    albums_known: bool = True
    files: tuple[PhotoFile, ...] = ()  # in the server's order
    changed: str = ""  # the change stamp
    flags: str = ""  # favourite/private as the listing shows them ("F-", "-P"; "" unknown)
    title_source: str = ""
    caption_source: str = ""
    people: tuple[str, ...] = ()  # names of the people recognised in it (Immich)
    rating: int = 0  # stars, 0 = none (Immich)
    # The user's own tags: Immich tag values ("Travel/Italy"); on PhotoPrism the labels a
    # person added (LabelSrc "manual") and, when a person or the file set them (KeywordsSrc
    # "manual", "meta", "xmp"), the keywords, split at commas, less the words PhotoPrism adds
    # to them itself (its colour, place and label words). Sorted, no duplicates.
    tags: tuple[str, ...] = ()
    keywords_source: str = ""  # PhotoPrism's KeywordsSrc
    place_source: str = ""  # PhotoPrism's PlaceSrc ("manual", "meta", "estimate"...); "" unknown
    # The stack holding this photo (Immich: the asset's ``stack.id``) and the key of its
    # primary (on top); "" when it is in none.
    stack_key: str = ""
    stack_primary_key: str = ""

    def primary_original(self) -> PhotoFile | None:
        """The original the server shows for the photo (its primary, else the first
        non-sidecar original): where the photo's sidecars and album entries point."""
        originals = [f for f in self.files if f.original and not f.sidecar and not f.missing]
        return next((f for f in originals if f.primary), originals[0] if originals else None)

    def sidecar_originals(self) -> list[RemoteFile]:
        """The photo's metadata sidecar originals (XMP, AAE) with a hash and a size."""
        return [RemoteFile(f.key, self.key, f.name, f.sha1, f.size, self.changed, f.mime)
                for f in self.files
                if f.original and f.sidecar and not f.missing and SHA1.fullmatch(f.sha1)
                and f.size >= 0]


@dataclass(frozen=True, slots=True)
class PhotoEdit:
    """What restore sets on a photo; None leaves a field as it is. Text is set as manual."""

    title: str | None = None
    caption: str | None = None
    favorite: bool | None = None
    private: bool | None = None
    # The taken time as the wall clock where it was taken with its UTC offset, ISO 8601
    # ("2019-03-02T18:30:00+02:00"); ``Capabilities.taken_time``.
    taken_at: str | None = None
    # With ``taken_at``: the zone's name where the sidecar knows one ("Europe/Berlin"; "" =
    # only the offset is known) and who set the time ("manual", "meta"...: PhotoPrism's TakenSrc).
    time_zone: str = ""
    taken_source: str = MANUAL
    # With ``title``/``caption``: who set the text, written where the server keeps sources
    # (``Capabilities.text_sources``): a restore gives each value the source it had.
    title_source: str = MANUAL
    caption_source: str = MANUAL
    location: tuple[float, float] | None = None  # latitude, longitude (set by a person)
    rating: int | None = None  # ``Capabilities.rating``
    # Tags the photo lacks, to add (never removes one): Immich tags, PhotoPrism manual labels
    # (``Capabilities.tags``).
    tags: tuple[str, ...] | None = None

    def fields(self) -> list[str]:
        """The names of what this edit sets, for ``--dry-run`` lines."""
        return [name for name, value in (("Caption", self.caption), ("Favorite", self.favorite),
                                         ("Location", self.location), ("Private", self.private),
                                         ("Rating", self.rating), ("Tags", self.tags),
                                         ("Taken", self.taken_at), ("Title", self.title))
                if value is not None]


class DownloadSink(Protocol):
    """Where a download's bytes go; lets an adapter resume without knowing about files."""

    def offset(self) -> int:
        """Bytes already held, to ask the server for the rest with Range."""
        ...

    def restart(self) -> None:
        """Drop what is held; the server is sending the whole file again."""
        ...

    def write(self, chunk: bytes) -> None: ...


class Listing(Protocol):
    """One walk over the library (or over what changed since a cursor).

    Iterate ``pages()`` once: lists of new originals, each file once per walk (``fresh`` drops
    repeats the server's paging produced). Memory holds a page or two, never the listing.
    After the last page, ``verdict()`` says whether the walk saw the whole library (the adapter
    judges its own paging anomalies and library totals); the engine removes files only after a
    complete walk. ``listed`` counts the originals yielded."""

    @property
    def listed(self) -> int: ...

    def pages(self) -> Iterator[list[RemoteFile]]: ...

    def verdict(self) -> tuple[bool, str]:
        """(complete, why not). A change listing is never complete."""
        ...

    def must_confirm_removals(self) -> bool:
        """After ``verdict()``: True when the walk could not be judged against the server's
        own totals (it would not say them), so rows that shifted while it paged would go
        unseen. The engine then asks ``still_listed`` about the files missing from the walk
        and removes nothing if the server still lists one."""
        ...

    def still_listed(self, files: Mapping[str, str]) -> set[str]:
        """Which of ``files`` (file key → SHA-1) the same listing holds right now."""
        ...

    def started(self) -> datetime | None:
        """The server's clock when the walk began (None: it did not say)."""
        ...


class UploadBatch(Protocol):
    """Files sent together: ``send`` each, then ``commit`` once (the server may only import
    them then). Nothing counts as uploaded until ``PhotoServer.find_photos`` finds its SHA-1."""

    def send(self, name: str, open_body: BodyOpener, modified: datetime, *,
             sidecar: tuple[str, BodyOpener] | None = None) -> int | None:
        """Send one file (``open_body`` is called again for a retry); ``modified`` is the
        file's mtime (aware), the date a server gives a file without one of its own (no EXIF).
        ``sidecar``: (name ending in ``.xmp``, opener) of the XMP sidecar that travels with it
        (``Capabilities.sidecar_upload``; a server without it never gets one).
        Returns how many files the server says it accepted, or None when it does not say.
        Raises ``UploadTooLarge`` (this file), ``UploadFailed`` (this file), ``UploadRefused``
        (the pass)."""
        ...

    def commit(self, albums: Sequence[str]) -> int | None:
        """Finish the batch, putting its photos into ``albums`` (keys or titles). Returns how
        many of its files it put into at least one album, or None when the server does not
        say (the engine then counts the files it confirms, which the import put there)."""
        ...


class PhotoServer(Protocol):
    """One conversation with one server; see the module docstring for the rules."""

    kind: str
    capabilities: Capabilities

    # --- identity and login ------------------------------------------------------------------

    @property
    def is_open(self) -> bool: ...

    def open(self) -> ServerInfo: ...

    def info(self) -> ServerInfo:
        """What ``open`` found (``open`` first)."""
        ...

    def close(self) -> None: ...

    def abort(self) -> None: ...

    def library_counts(self) -> dict[str, int]:
        """The server's own totals by kind ("all", "photos", "videos", "archived", ...);
        empty when it will not say."""
        ...

    def access(self, settings: Settings | None, *, restore: bool = False) -> Access:
        """What this session may do for the features ``settings`` turns on, or for a restore
        into this server (``restore``; then ``settings`` may be None): ``ppsync check`` and
        the preflight (``servers.preflight``). May send a harmless request per resource or
        permission when the server will not tell its scope."""
        ...

    # --- the mirror direction ------------------------------------------------------------------

    def listing(self, mirror: MirrorConfig, fresh: Fresh, since: str = "") -> Listing:
        """The originals the mirror holds: the library (with ``include_archived``, the archive
        too; ``include_private``, ``query``), or with ``since`` only photos changed since then."""
        ...

    def flags_stamp(self) -> str:
        """A value that moves when a favourite or private mark changes; "" when the change
        feed already sees those (``Capabilities.flags_outside_change_feed`` false) or the
        server will not say (unknown: never taken as a change)."""
        ...

    def download(self, file: RemoteFile, sink: DownloadSink) -> str | None:
        """Stream ``file`` into ``sink`` from ``sink.offset()`` (Range), restarting the sink
        when the server sends the whole file. Returns its Last-Modified header or None.
        Raises ``RemoteFileMissing`` when the server no longer has it."""
        ...

    def albums(self, kinds: Sequence[str]) -> list[Album]:
        """Every album of these kinds, in the server's order."""
        ...

    def album_members(self, album: str) -> dict[str, list[PhotoFile]]:
        """Photo key → its non-sidecar originals, for every member of the album."""
        ...

    def photo(self, key: str) -> Photo | None:
        """One photo's metadata, with all its files; None when it is gone."""
        ...

    def albums_readable(self) -> bool:
        """Can ``photo`` name the albums holding a photo now (``Photo.albums_known``)? Asked
        only when sidecars wait for album names; may send one request."""
        ...

    # --- the upload direction and restore ---------------------------------------------------------

    def find_photos(self, sha1s: Iterable[str]) -> dict[str, str]:
        """SHA-1 → the key of the photo holding that content, for those the server has in its
        library (archived too; never a photo only in a trash the server will purge)."""
        ...

    def find_in_trash(self, sha1s: Iterable[str]) -> dict[str, str]:
        """SHA-1 → the key of a photo holding that content only in the server's trash
        (``Capabilities.trash``; empty on a server without one)."""
        ...

    def restore_from_trash(self, photos: Sequence[str]) -> str:
        """Bring ``photos`` (keys from ``find_in_trash``) back into the library. Returns ""
        when the server took the request, else why this session may not (a key without the
        permission), for the engine to report per photo; other failures raise as usual."""
        ...

    def upload(self) -> UploadBatch: ...

    def import_folder(self, path: str, albums: Sequence[str]) -> None:
        """Import ``path`` inside the server's import folder (``upload_modes`` has
        "import-folder"), moving what it takes into the library."""
        ...

    def index_folder(self, path: str) -> None:
        """Index files copied into ``path`` of the server's originals (``index_in_place``)."""
        ...

    def album_key(self, title: str) -> str:
        """The album with this title (or key), created when there is none."""
        ...

    def add_to_album(self, album: str, photos: Sequence[str]) -> None: ...

    def album_photo_keys(self, album: str) -> set[str]:
        """The keys of every photo in the album (archived members included where listed)."""
        ...

    def update_photo(self, current: Photo, edit: PhotoEdit) -> None:
        """Apply ``edit`` to the photo ``current`` describes, keeping text set as manual."""
        ...

    def archive(self, photos: Sequence[str]) -> None: ...

    def stack(self, photos: Sequence[str]) -> None:
        """Show ``photos`` (keys, at least two) as one stack, the first on top
        (``Capabilities.stacks``; stacks already holding the first are merged into it)."""
        ...

    def link_live_photo(self, still: str, video: str) -> None:
        """Make ``video`` the live-photo video of ``still`` (``Capabilities.live_links``)."""
        ...

    def held_tags(self, tags: Iterable[str]) -> frozenset[str]:
        """``tags`` as this server holds them once set (PhotoPrism: label names as it cleans
        them, in any case; Immich: the values as they are), so restore can tell which a photo
        lacks."""
        ...


def title_key(title: str, capabilities: Capabilities) -> str:
    """What two album titles must share to name the same album on this kind of server."""
    return title.casefold() if capabilities.album_titles_ignore_case else title


def by_title(albums: Iterable[Album], capabilities: Capabilities) -> dict[str, str]:
    """``title_key`` → album key, the first in the server's order when titles repeat."""
    found: dict[str, str] = {}
    for album in albums:
        found.setdefault(title_key(album.title, capabilities), album.key)
    return found
