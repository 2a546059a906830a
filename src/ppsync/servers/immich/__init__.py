"""Immich: the only modules that know its URLs and field names (only ``wire`` exists yet)."""
