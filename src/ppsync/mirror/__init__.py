"""One pass of the mirror: the listing from a server, the pure planner, the executor and its
downloader (``.part`` → hash → fsync → rename), the target's paths and layout template, the
guards that refuse a pass, and ``verify``. ``sync.run_sync`` runs a pass."""
