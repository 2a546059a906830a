"""A one-line progress counter on a terminal; silent everywhere else (journald, Docker)."""

from __future__ import annotations

import time
from types import TracebackType
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream
        self._done = 0
        self._last = 0.0

    @classmethod
    def for_stream(cls, stream: TextIO, log_format: str) -> Progress:
        interactive = stream.isatty() and log_format != "json"
        return cls(stream if interactive else None)

    def tick(self) -> None:
        self._done += 1
        now = time.monotonic()
        if self._stream is not None and now - self._last > 0.2:
            self._last = now
            self._stream.write(f"\r  {self._done} files done")
            self._stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._stream is not None and self._done:
            self._stream.write("\n")
            self._stream.flush()
