"""The upload direction: scan the inbox, let files settle, hash and dedupe by SHA-1, send, confirm
on the server by SHA-1, then keep, move or delete. ``uploader.run_upload`` runs a pass."""
