"""structlog setup: JSON lines off a TTY (journald, Docker), console lines on a TTY.

Every line carries the run id (bound with contextvars) and passes through ``redact`` last, so no
password or token is ever written. Standard-library loggers (httpx, apscheduler) are routed
through the same pipeline; httpx's own request lines are silenced because they carry the
download token in the URL.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from ppsync.redact import redact_value

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}


def _redact_processor(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    return {key: redact_value(value) for key, value in event_dict.items()}


def _stringify_exception(logger: WrappedLogger, name: str, event_dict: EventDict) -> EventDict:
    """Expected errors log as one line; ``log.exception`` (a bug) keeps its traceback."""
    exc = event_dict.get("exc_info")
    if isinstance(exc, BaseException):
        del event_dict["exc_info"]
        event_dict["exception"] = f"{type(exc).__name__}: {exc}"
        return event_dict
    return structlog.processors.format_exc_info(logger, name, event_dict)


class _QuietScheduler(logging.Filter):
    """APScheduler says "Running job ..." and "... executed successfully" at INFO for every
    pass: two lines per pass that tell nothing ppsync's own lines do not. They become DEBUG."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self._level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("apscheduler") and record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return record.levelno >= self._level


# One line per file: what a one-shot command on a terminal shows at info, and what a daemon
# logs at debug (a first mirror of 100,000 photos would be 100,000 lines in `docker logs`);
# the daemon says counts at info instead ("pass progress", "run finished").
PER_FILE_EVENTS = frozenset({"downloaded", "adopted existing copy", "moved",
                             "taken back from .ppsync/trash", "removed previous version",
                             "download abandoned for shutdown; it will resume"})


def _per_file_below_info(level: int) -> Processor:
    def demote(_: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
        if method == "info" and event_dict.get("event") in PER_FILE_EVENTS:
            if level > logging.DEBUG:
                raise structlog.DropEvent
            event_dict["level"] = "debug"
        return event_dict
    return demote


def use_json(fmt: str, stream: TextIO) -> bool:
    return fmt == "json" or (fmt == "auto" and not stream.isatty())


def setup_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None,
                  *, daemon: bool = False) -> None:
    """Configure structlog and stdlib logging once per process (safe to call again); with
    ``daemon``, the per-file lines (``PER_FILE_EVENTS``) are debug."""
    stream = stream if stream is not None else sys.stderr
    numeric = LEVELS.get(level, logging.INFO)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _stringify_exception,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if use_json(fmt, stream)
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    quiet = [_per_file_below_info(numeric)] if daemon else []
    structlog.configure(
        processors=[*shared, *quiet, _redact_processor, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        _redact_processor, renderer],
        )
    )
    handler.addFilter(_QuietScheduler(numeric))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # httpx logs every request URL at INFO; download URLs carry the token.
    for noisy in ("httpx", "httpcore", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def bind_run(run_id: int, command: str) -> None:
    library = structlog.contextvars.get_contextvars().get("library")
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(run_id=run_id, command=command)
    if library is not None:  # a household's library outlives its runs (config.libraries)
        structlog.contextvars.bind_contextvars(library=library)


def unbind_run() -> None:
    structlog.contextvars.unbind_contextvars("run_id", "command")


def bind_library(name: str) -> None:
    """Every later line of this thread (and context) names the library; ``""`` (a config
    without [libraries]) binds nothing, so its lines stay as they were."""
    if name:
        structlog.contextvars.bind_contextvars(library=name)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
