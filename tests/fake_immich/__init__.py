"""A fake Immich server over real loopback HTTP, for ppsync's tests and benchmarks.

Its behaviour follows ``shared/immich-api.md`` (v1.135.3 and v2.5.6 as observed on real
servers; v3 from its SDK, and where §10 or the probe of a real v3.1.0 (``real/probe/findings.md``
f to k) says it differs, as seen live: ``{"message"}`` errors, "Validation failed" with zod
``errors``, ``X-Correlation-ID``, 404 for a missing original, timeline + archive + hidden for a
search without ``visibility``, no ``nextCursor``, albums without ``ownerId``/``owner`` (the
owner in ``albumUsers``), exif edits and tags whose ``updatedAt`` bump comes with the metadata
job, an XMP sidecar read by that job). Only the standard library is used. Typical use::

    with FakeImmich(generation="v2.5") as im:
        user = ImmichUser(im)
        asset_id = user.upload("IMG_1.jpg", b"...", taken=datetime(2024, 5, 1, 12, tzinfo=...))
        key = im.add_key(["asset.read", "asset.download"])
        ...  # point the client at im.url with x-api-key: key

Modules: ``model`` (data, generations, fault switches), ``library`` (the user's library and
its rules), ``auth`` (keys, sessions, 401/403), ``api`` and ``albums`` (routes), ``http``
(the loopback server and wire faults), ``server`` (``FakeImmich``), ``user`` (what a user
does, through the fake's own HTTP API where the real server has one), ``probe`` (client-side
helpers for tests), ``units`` (stacks, live links, tags), ``jobs`` (the metadata job).

Modelled: one user with API keys (permissions checked per generation) and password sessions
(counted; logout ends one; ``faults.expire_tokens_after``), the 401/403 bodies, ping/version/
about/config, ``/users/me``, ``POST /search/metadata`` (page/size limits, ``nextPage`` as a
string, hidden default filters, ``withDeleted``, ``withExif``, ``updatedAfter`` >=, order by
``fileCreatedAt``, checksum/id/albumIds filters; page numbers only), the
asset object of each generation, ``GET /assets/{id}``, originals with Range/ETag/304/416, the
multipart upload with 201/200 and ``x-immich-checksum``, ``bulk-upload-check``, statistics,
trash/restore/purge (a purged still takes its hidden video), ``PUT /assets/{id}`` edits,
albums (non-unique titles, per-id member results, hidden/trashed members left out of album
answers), the server's clock in ``Date`` and ``updatedAt`` (``clock_offset``), a partner's
shared timeline (their assets join every search, as the real search service adds the ids of
partners shown in the timeline; statistics, duplicates and uploads stay the user's own);
albums another user shared with the user (``user.album_shared_with_me``: ``shared: true``, the
owner in ``ownerId``/``owner`` or, v3.1.0, in ``albumUsers``, the user there as viewer or
editor; member searches list the owner's assets; only an editor adds, nobody else edits); and
one photo of several assets (§11, ``units``): stacks (merge on create, ``stack`` only in
``GET /assets/{id}``, ``withStacked: false``, members' ``updatedAt`` bumped as the source
does), live-photo links at upload or by ``PUT /assets/{id}`` (the video hidden, shown again
on unlink), XMP ``sidecarData`` kept on the asset (``FakeImmich.sidecar_of``), tags (create,
upsert by value with parents, per-tag and bulk tagging and untagging; v3: ``updatedAt``
bumped by the job they queue), and the edits of ``PUT /assets`` and ``PUT /assets/{id}``
(rating range per generation, latitude with longitude; v3: exif fields locked, dates moved and
``updatedAt`` bumped by the job, the time zone of a few known GPS places: ``jobs``).

Not modelled: the ``/sync/*`` endpoints, other users' logins, tag removal and
colours, the sidecar the server writes itself, the PIN-locked folder (``visibility: locked`` is
never listed), thumbnails, the storage template, real EXIF parsing (a test says what the EXIF
holds; the metadata job applies it right after the upload, or when the test says with
``lib.defer_metadata_jobs`` and ``lib.run_pending_metadata_jobs()``: until then the asset is
listed with the upload's dates and an exifInfo that knows only the file's size; v3's edits and
tags queue the same job), the ``tagIds`` search filter, a delay before
a forced delete disappears (immediate here), and an endpoint to replace an original
(``ImmichUser.replace`` changes the library directly).
"""

from tests.fake_immich.library import Metadata
from tests.fake_immich.model import GENERATIONS, V1, V2, V3, Faults, Generation
from tests.fake_immich.server import EMAIL, PASSWORD, FakeImmich
from tests.fake_immich.user import ImmichUser

__all__ = ["EMAIL", "GENERATIONS", "PASSWORD", "V1", "V2", "V3", "FakeImmich", "Faults",
           "Generation", "ImmichUser", "Metadata"]
