"""Structured logs: one line per event on stderr, each request's lines tagged with its request id.

``IJKG_LOG_FORMAT`` chooses the form: ``json`` (one JSON object per line: ``time``, ``level``,
``logger``, ``message``, ``request_id`` and the event's own fields), ``text`` (the same, for
people), or ``auto`` (the default: text on a terminal, JSON otherwise, so a service manager or a
container runtime collects JSON). uvicorn's own messages go through the same formatter; its access
log is replaced by ijkg's request log (``ijkg.request``: method, path, status, duration, bytes),
which never records headers, so tokens never reach a log, nor does the query string.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["auto", "json", "text"]

#: The id of the request being served (``None`` outside a request).
REQUEST_ID: ContextVar[str | None] = ContextVar("ijkg_request_id", default=None)

#: What a client may send as its own ``X-Request-Id`` (anything else is replaced by a new id).
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")

#: ``LogRecord`` attributes that are not an event's own fields.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's coloured copy of the message
    "taskName",
}


def tag_records_with_request_ids() -> None:
    """Make every log record carry the request id current where it is created (idempotent),
    whenever and wherever it is formatted later."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "ijkg_request_ids", False):
        return

    def tagged(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return record

    tagged.ijkg_request_ids = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(tagged)


def request_id(client_value: str | None) -> str:
    """The id of a new request: the client's ``X-Request-Id`` if it is a sane token, else a new one.

    >>> request_id("checkout-42")
    'checkout-42'
    >>> len(request_id("bad id with spaces")), len(request_id(None))
    (32, 32)
    """
    if client_value is not None and _CLIENT_ID.match(client_value):
        return client_value
    return uuid.uuid4().hex


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line.

    >>> record = logging.LogRecord("ijkg.request", logging.INFO, "", 0, "GET /health", (), None)
    >>> record.status = 200
    >>> line = json.loads(JsonFormatter().format(record))
    >>> line["level"], line["logger"], line["message"], line["status"]
    ('info', 'ijkg.request', 'GET /health', 200)
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or REQUEST_ID.get()
        if rid:
            entry["request_id"] = rid
        entry.update((k, v) for k, v in _fields(record).items() if k != "request_id")
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger [request id] message key=value ...`` for people."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S.%f")[:-3]
        rid = getattr(record, "request_id", None) or REQUEST_ID.get()
        parts = [moment, f"{record.levelname.lower():<7}", record.name]
        if rid:
            parts.append(f"[{rid}]")
        parts.append(record.getMessage())
        parts += [f"{k}={v}" for k, v in _fields(record).items() if k != "request_id"]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def resolve(log_format: LogFormat) -> Literal["json", "text"]:
    if log_format == "auto":
        return "text" if sys.stderr.isatty() else "json"
    return log_format


def logging_config(log_format: LogFormat, level: str = "info") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for ijkg and uvicorn (uvicorn's ``log_config``)."""
    formatter = JsonFormatter if resolve(log_format) == "json" else TextFormatter
    handler = {"class": "logging.StreamHandler", "formatter": "ijkg", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"ijkg": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {"stderr": handler},
        "loggers": {
            "ijkg": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            # Replaced by ijkg.request, which never logs headers or query strings.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
