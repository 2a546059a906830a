"""A fake PhotoPrism server over real loopback HTTP, for ppsync's tests and benchmarks.

The behaviour follows ``shared/photoprism-api.md`` (server as of Dec 2024, the default) and
``shared/photoprism-api-changes.md`` (``new_api=True``: a mid-2026 server). Only the standard
library is used. Typical use::

    with FakePhotoPrism() as pp:
        photo = pp.add_photo([("2024/05/IMG_1.jpg", b"...")])
        ...  # point the client at pp.url, log in as admin / insecure-pw

What is modelled:

* sessions (48-hex tokens, app passwords as bearer or as login password), the login and
  bad-token rate limiters, per-user download tokens that live in an in-memory map which a
  ``restart()`` empties;
* ``GET /api/v1/photos`` with the default ``media_id`` order, file-row paging, the 100000 cap,
  per-page merging, ``X-Count`` = rows, and the common filters;
* ``/api/v1/dl/<hash>`` served like Go's ``http.ServeFile`` (Range, 416, Last-Modified, no ETag),
  optionally gzip-compressed like old servers behind ``PHOTOPRISM_HTTP_COMPRESSION=gzip``;
* upload (POST + PUT), server-side import, albums, batch archive/restore/delete, photo edits;
* photo edits as ``SavePhotoForm`` makes them (``_apply_photo_form``: sources, the taken time
  with its zone, Year/Month/Day, location, Details.Keywords by numeric ID) and rescans that
  replace what a person did not set (``set_file_metadata``); related files grouped into one
  photo as import and index do (``_related_groups``), XMP text read with source "xmp", and
  ``check_file_types`` for ``CheckType``;
* OAuth2 client credentials (``add_client``: ``POST /api/v1/oauth/token``, Basic auth or a
  form body; a JSON body cannot carry the secret on Dec 2024 servers), session expiry by time,
  and auth scopes (``photos albums files``: 403 on ``GET /session``, the public config on new
  servers without ``config`` in the scope);
* on 2026 servers, what a real 260630 showed when probed (``tests/test_fake_photoprism_fidelity.py``
  replays each probe): an XMP's dc:subject becomes Details.Subject, the index adds its own
  words (a colour) to the keywords, a PUT with Details empties the details not sent, what an
  upload import does not take stays in the upload folder, a deleted album is 404;
* outages (``go_down``): a restart that refuses connections for a while and cuts transfers in
  flight, or a reverse proxy answering 502/503/504 meanwhile; either way the download token is
  refused afterwards until an authenticated request loads a session;
* fault switches in ``FakePhotoPrism.faults``.

Library rows are kept per photo; the sorted listing is rebuilt lazily after a change and page
JSON is generated on demand, so 100,000 files are cheap. File bodies come from memory, from a
path on disk, or are synthesised from the file UID. Change the library only through the
methods (``edit_file``, ``archive_photo``, ``update_photo`` …): assigning to FakePhoto or
FakeFile attributes directly bypasses the listing cache.

``config.count`` (``FakePhotoPrism.counts()``) is computed like ``Config.ClientUser`` in
``internal/config/client_config.go`` with the Private, Review and Archive features on:

* ``photos``/``videos``/``live`` (new servers also ``animated``/``audio``/``documents`` and
  ``media`` = animated+live+videos+audio): PHOTOS, not files; only photos that are not
  archived, have quality > -1 and are not private. ``photos`` is every type other than the
  listed ones (image, raw, vector, ... and, on old servers, animated);
* ``all`` = photos + live + videos (new: photos + media + documents) MINUS ``review``
  (quality 0..2, private ones included), so private and review photos are not in it;
* ``archived``: archived photos with quality > -1; ``hidden``: quality == -1 (not archived);
  ``private``: private, quality > -1, not archived; ``favorites``: not private;
* ``files``: FILE rows with Root "/" (not missing, not deleted): metadata sidecars such as
  ``.xmp`` and files of archived and private photos are counted, sidecar-root previews are
  not. It is therefore not the number of rows a default search walk returns;
* ``albums``/``moments``/``months``/``states``/``folders`` by album type (not deleted);
  cameras, lenses, countries, people, places, labels are 0 in the fake.

Without a session, ``GET /config`` returns the public config: all counts 0 and
``downloadToken``/``previewToken`` the literal ``"public"`` (``ClientPublic``), which is not a
valid download token outside public mode.

Modules, one job each (see each docstring): ``words``, ``times``, ``model``, ``media``,
``http``, ``auth``, ``sessions``, ``config``, ``faults``, ``library``, ``changes``, ``albums``,
``counts``, ``search_form``, ``search``, ``views``, ``edits``, ``downloads``, ``uploads``, and
``server`` (``FakePhotoPrism``, which joins the mixins of the others and routes each request).
"""

from tests.fake_photoprism.auth import is_app_password, make_app_password
from tests.fake_photoprism.model import (
    MAX_RESULTS,
    NEW_VERSION,
    OLD_VERSION,
    FakeAlbum,
    FakeClient,
    FakeFile,
    FakePhoto,
    Faults,
    RateLimits,
    RequestRecord,
)
from tests.fake_photoprism.server import FakePhotoPrism

__all__ = [
    "MAX_RESULTS",
    "NEW_VERSION",
    "OLD_VERSION",
    "FakeAlbum",
    "FakeClient",
    "FakeFile",
    "FakePhoto",
    "FakePhotoPrism",
    "Faults",
    "RateLimits",
    "RequestRecord",
    "is_app_password",
    "make_app_password",
]
