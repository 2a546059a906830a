"""The process entry point (``ppsync`` and ``python -m ppsync``): sets the stop handler first.

A process that is PID 1 of its PID namespace (a container without ``--init``: Docker, Podman,
Kubernetes, systemd-nspawn) never dies of a signal it has no handler for: the kernel drops
it. ppsync's imports and config take a second or more on a slow NAS CPU, so a ``docker stop``
in that time used to be lost and ended in SIGKILL after 10 s. This module imports nothing but
``os``, ``signal`` and ``sys`` before it installs a SIGTERM handler; the commands replace it
with their own (one-shot commands unwind like Ctrl-C, the daemon stops its scheduler).
"""

import os
import signal
import sys
from types import FrameType


def _stop_before_start(signum: int, frame: FrameType | None) -> None:
    """SIGTERM before the command took over: nothing has been written yet, so leave at once.
    A daemon stopped this way exits 0 as after any clean stop; another command 130, as a
    one-shot command stopped by a signal does (``report.EXIT_MEANINGS``)."""
    # os.write, not print: a handler may run inside a write to stderr (its buffer locked).
    os.write(2, b"ppsync: stopped before it started\n")
    raise SystemExit(0 if "daemon" in sys.argv[1:] else 130)


def entry() -> None:
    signal.signal(signal.SIGTERM, _stop_before_start)
    from ppsync.cli import main

    sys.exit(main())


if __name__ == "__main__":
    entry()
