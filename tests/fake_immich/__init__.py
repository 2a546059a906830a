"""A fake Immich server over real loopback HTTP, for ppsync's tests and benchmarks.

Its behaviour follows ``shared/immich-api.md`` (v1.135.3 and v2.5.6 as observed on real
servers; v3 from its SDK). Only the standard library is used. Typical use::

    with FakeImmich(generation="v2.5") as im:
        user = ImmichUser(im)
        asset_id = user.upload("IMG_1.jpg", b"...", taken=datetime(2024, 5, 1, 12, tzinfo=...))
        key = im.add_key(["asset.read", "asset.download"])
        ...  # point the client at im.url with x-api-key: key

Modules: ``model`` (data, generations, fault switches), ``library`` (the user's library and
its rules), ``auth`` (keys, sessions, 401/403), ``api`` and ``albums`` (routes), ``http``
(the loopback server and wire faults), ``server`` (``FakeImmich``), ``user`` (what a user
does, through the fake's own HTTP API where the real server has one).
"""

from tests.fake_immich.library import Metadata
from tests.fake_immich.model import GENERATIONS, V1, V2, V3, Faults, Generation
from tests.fake_immich.server import EMAIL, PASSWORD, FakeImmich
from tests.fake_immich.user import ImmichUser

__all__ = ["EMAIL", "GENERATIONS", "PASSWORD", "V1", "V2", "V3", "FakeImmich", "Faults",
           "Generation", "ImmichUser", "Metadata"]
