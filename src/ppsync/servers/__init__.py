"""The servers ppsync talks to, behind one interface.

``base`` is the contract (``PhotoServer``, ``Capabilities`` and the neutral data); each kind is one
subpackage that alone knows its wire format (``photoprism/``, ``immich/``); ``http`` is the retry
policy they share. ``open_server`` picks the adapter by ``[server] kind``: a third kind is a new
subpackage and one line here.
"""

from __future__ import annotations

import threading

from ppsync.config import ServerConfig
from ppsync.errors import ConfigError
from ppsync.servers.base import PhotoServer


def open_server(server: ServerConfig, *, stop: threading.Event | None = None) -> PhotoServer:
    """A server adapter for ``server``, not yet opened (call ``open``). ``stop`` ends any wait
    for the server as soon as it is set. Raises ``ConfigError`` for an unknown kind."""
    if server.kind == "photoprism":
        from ppsync.servers.photoprism.server import PhotoPrismServer  # only the kind in use

        return PhotoPrismServer(server, stop=stop)
    if server.kind == "immich":
        from ppsync.servers.immich.server import ImmichServer

        return ImmichServer(server, stop=stop)
    raise ConfigError(f"server.kind: unknown kind of server {server.kind!r}")  # pragma: no cover
