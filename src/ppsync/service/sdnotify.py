"""The sd_notify protocol: one datagram to ``$NOTIFY_SOCKET`` per message (READY=1, STATUS=…,
WATCHDOG=1). Outside systemd there is no socket and every call is a no-op."""

from __future__ import annotations

import os
import socket


def notify(message: str) -> bool:
    """Send ``message`` to systemd; True if there was a socket to send it to."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8", "replace"))
    except OSError:
        return False  # systemd gone or socket unreadable: nothing to tell
    return True


def watchdog_period() -> float | None:
    """Seconds between WATCHDOG=1 pings (half of ``WatchdogSec``), or None when not asked."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000
