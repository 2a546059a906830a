"""ppsync: keep a complete, verified copy of a PhotoPrism or Immich library on local disk."""

__version__ = "0.1.0"
