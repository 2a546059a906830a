"""Reading a mirror back into a server: ``run.run_restore`` (the command), ``mirror`` (the
originals and sidecars a mirror holds, uploaded through the inbox machinery), ``copy`` (restore by
copying into the server's originals folder)."""
