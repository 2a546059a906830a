"""Immich: the only modules that know its URLs and field names. ``wire`` (JSON → checked
values), ``client`` (key or login, calls, downloads), ``listing`` (the walks), ``upload``
(look-ups by SHA-1, uploads, albums by name), ``server`` (the ``PhotoServer`` adapter)."""
