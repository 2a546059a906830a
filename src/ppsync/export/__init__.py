"""What a pass writes besides the originals: album folders and metadata sidecars, from neutral
albums and photo documents."""
