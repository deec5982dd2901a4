"""One logging pipeline for the service, uvicorn, SQLAlchemy, the job worker and audit events.

Every record, whoever wrote it (``logging.getLogger(...)`` or ``structlog.get_logger()``),
goes through the same structlog processors and one handler on stderr: JSON lines
(``LOG_FORMAT=json``) for a log shipper, or readable lines in a terminal. Each record
says when (UTC), how bad, which logger, what, and, when there is one, which request
(``request_id``), which tenant (``tenant_id``, ``tenant``) and who acted (``user_id``),
read from the ContextVars the middleware sets: nothing has to be passed down.

The last processor before rendering removes secrets (``redaction.py``): a token that
reaches a message, an ``extra`` field or a traceback is written as ``[REDACTED]``.
"""

from __future__ import annotations

import logging
import logging.config
import sys
from datetime import UTC, datetime
from typing import IO, Any, Literal, cast

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from ..tenancy.context import current_actor, current_tenant_or_none
from .redaction import Redactor
from .request_id import current_request_id

Format = Literal["auto", "json", "console"]
#: Loggers that say too much at INFO for production: raised to WARNING unless the
#: service's level is DEBUG. (``sqlalchemy.engine`` at INFO prints every statement,
#: ``alembic`` a line per namespace migrated: ``migrate`` reports its own progress.)
_CHATTY = ("sqlalchemy.engine", "sqlalchemy.pool", "alembic", "procrastinate", "httpx", "httpcore")


def add_request_context(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """The request, tenant and caller in scope, unless the record names its own."""
    request_id = current_request_id()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    tenant = current_tenant_or_none()
    if tenant is not None:
        event.setdefault("tenant_id", str(tenant.id))
        event.setdefault("tenant", tenant.identifier)
        actor = current_actor()
        if actor is not None:
            event.setdefault("user_id", actor)
    return event


def _drop_color_message(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Uvicorn passes a second, colored copy of some messages: one copy is enough."""
    event.pop("color_message", None)
    return event


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (like ``logging``'s last
    resort), not to the stream it was when logging was set up: a test runner that swaps
    and closes stderr leaves no handler writing to a closed file."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> IO[str]:
        return sys.stderr


def resolve_format(log_format: Format, stream: IO[str] | None = None) -> Literal["json", "console"]:
    """``auto``: a person at a terminal reads console lines, everything else gets JSON."""
    if log_format != "auto":
        return log_format
    stream = stream or sys.stderr
    return "console" if stream.isatty() else "json"


#: What every ``LogRecord`` has: anything else on a record is an ``extra`` field.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", logging.INFO, "", 0, "", (), None).__dict__
) | {"message", "asctime"}


class StructuredFormatter(logging.Formatter):
    """Turns a record into an event dictionary, runs the shared processors on it, renders it.

    A record from ``logging`` gives its message, its ``extra`` fields, level, logger and
    time; one from a structlog logger (``route_structlog``) carries its event dictionary.
    Either way the same processors run, in the code that logs (so the request and tenant
    in scope are that code's), and the renderer writes JSON or a console line. (structlog's
    own ``ProcessorFormatter`` does the same with a copy of every record: this is it
    without the copy, as the access line is written for every request.)
    """

    def __init__(self, processors: list[Processor], renderer: Processor) -> None:
        super().__init__()
        self._processors = processors
        self._renderer = renderer

    def format(self, record: logging.LogRecord) -> str:
        fields = record.__dict__
        if "_logger" in fields and isinstance(record.msg, dict):
            event: EventDict = dict(record.msg)  # from structlog: level, logger, time are in
        else:
            event = {"event": record.getMessage()}
            for key, value in fields.items():
                if key not in _RECORD_ATTRIBUTES:
                    event[key] = value
            event["level"] = record.levelname.lower()
            event["logger"] = record.name
            event["timestamp"] = _timestamp(record.created)
            if record.exc_info:
                event["exc_info"] = record.exc_info
            if record.stack_info:
                event["stack"] = record.stack_info
        for processor in self._processors:
            event = cast(EventDict, processor(None, "", event))
        return str(self._renderer(None, "", event))


def _timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat().replace("+00:00", "Z")


def formatter(
    *, log_format: Literal["json", "console"], secrets: tuple[str, ...] = ()
) -> logging.Formatter:
    """The formatter of the one handler (named in ``log_config``'s dictionary)."""
    renderer: Processor = (
        structlog.processors.JSONRenderer(default=str)
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return StructuredFormatter(
        [
            add_request_context,
            _drop_color_message,
            structlog.processors.format_exc_info,  # the traceback as text, so it is redacted
            Redactor(secrets),
        ],
        renderer,
    )


def log_config(
    level: str,
    log_format: Format,
    *,
    secrets: tuple[str, ...] = (),
    stream: IO[str] | None = None,
) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary: uvicorn takes it as ``log_config``
    (so every worker process it starts logs the same way), the other commands apply it."""
    chatty = "DEBUG" if level.upper() == "DEBUG" else "WARNING"
    handler: dict[str, Any] = (
        {"class": "logging.StreamHandler", "stream": stream, "formatter": "structured"}
        if stream is not None
        else {"class": f"{__name__}.StderrHandler", "formatter": "structured"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": f"{__name__}.formatter",
                "log_format": resolve_format(log_format, stream),
                "secrets": secrets,
            }
        },
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            # Uvicorn's own handlers are replaced by the root's; its access line by ours
            # (``access.py``: the route template, the tenant, the duration).
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            **{name: {"level": chatty} for name in _CHATTY},
        },
    }


def configure_logging(
    level: str,
    log_format: Format,
    *,
    secrets: tuple[str, ...] = (),
    stream: IO[str] | None = None,
) -> None:
    """Apply ``log_config`` to this process, and route ``structlog.get_logger()`` into it."""
    logging.config.dictConfig(log_config(level, log_format, secrets=secrets, stream=stream))
    # Nothing here writes a record's thread or process: do not look them up for each one.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    route_structlog()


def route_structlog() -> None:
    """``structlog.get_logger()`` loggers write through ``logging``, so through the one
    handler. (Uvicorn's worker processes apply ``log_config`` themselves; the app calls
    this.)"""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
            # Hands the event dictionary to ``logging`` (``StructuredFormatter`` reads it).
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        # Plain ``logging`` loggers: structlog's ``LoggerFactory`` would make every logger
        # created afterwards one whose each record walks the stack for its caller.
        logger_factory=logging.getLogger,
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def secrets_of(settings: Any) -> tuple[str, ...]:
    """The configured secrets' values (tokens, keys, database passwords): never logged,
    wherever they turn up. ``settings`` is the service's ``Settings``."""
    values: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if hasattr(value, "get_secret_value"):
            values.append(str(value.get_secret_value()))
        elif isinstance(value, str) and name.endswith("_url"):
            values.extend(Redactor.passwords_in(value))
    return tuple(v for v in values if len(v) >= 4)
