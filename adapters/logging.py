"""Logging set-up: text or JSON lines on stderr, with every configured secret redacted.

``configure_logging`` is called once by the entry point. The redaction runs as a filter on the
handler (so records from every library's logger pass through it, at every level, DEBUG too)
and once more on the formatted line, which also covers tracebacks. Another filter on the same
handler stamps each record with the request or scheduled run being worked on
(``request_id`` / ``run_id``, from :mod:`bot.context`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import quote, quote_plus

from bot.context import current_request_id, current_run_id

REDACTED = "[REDACTED]"

#: Token shapes redacted even when not configured: the tokens of workspaces installed through
#: OAuth live in the database, and Slack's DEBUG log shows the answer that carried them.
TOKEN_PATTERNS: tuple[tuple[re.Pattern[str], int], ...] = (
    # Slack bot, user, refresh and app-level tokens: keep the kind (``xoxb-``) visible
    (re.compile(r"\b(?:xox[a-z]|xapp)-[0-9A-Za-z][0-9A-Za-z-]*"), 5),
    # Discord bot tokens: three base64url parts joined by dots
    (re.compile(r"\b[A-Za-z0-9_-]{24,}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}"), 0),
)

#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
    | {"message", "asctime", "taskName"}
)

_HANDLER_NAME = "raidline"


class Redactor:
    """Replaces every known secret, and anything shaped like a Slack or Discord token, inside a
    string with ``[REDACTED]``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Also as they look inside a URL, a form body or a JSON string; longest first, so a
        # secret that contains another is replaced whole.
        forms = {
            form
            for s in secrets
            if s and len(s) >= 4
            for form in (s, quote(s, safe=""), quote_plus(s), json.dumps(s)[1:-1])
        }
        self._secrets = sorted(forms, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern, keep in TOKEN_PATTERNS:
            text = pattern.sub(_Mask(keep), text)
        return text


class _Mask:
    """``re.sub`` replacement: the first ``keep`` characters of the match, then REDACTED."""

    def __init__(self, keep: int) -> None:
        self.keep = keep

    def __call__(self, match: re.Match[str]) -> str:
        return match.group(0)[: self.keep] + REDACTED


class RedactingFilter(logging.Filter):
    """Rewrites a record so that no configured secret survives in its message, extras or trace."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.redact = Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


class ContextFilter(logging.Filter):
    """Adds ``request_id`` / ``run_id`` to every record emitted while a request is handled or
    a scheduled run delivered (whichever library emits it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = current_request_id.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        run_id = current_run_id.get()
        if run_id is not None and not hasattr(record, "run_id"):
            record.run_id = run_id
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}


class TextFormatter(logging.Formatter):
    """``2026-11-25T17:45:01Z INFO raidline.core: message key=value``"""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        line = f"{stamp} {record.levelname} {record.name}: {record.getMessage()}"
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in sorted(extras.items()))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return self.redact(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extras, exception."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _extras(record).items():
            entry.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return self.redact(json.dumps(entry, default=str, ensure_ascii=False))


def configure_logging(
    level: str = "INFO",
    fmt: str = "text",
    *,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send every log record to ``stream`` (stderr) as text or JSON lines, secrets redacted.

    Calling it again replaces the handler it installed before. Returns that handler.
    """
    secret_list = list(secrets)
    redact = Redactor(secret_list)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(secret_list))
    handler.setFormatter(JsonFormatter(redact) if fmt == "json" else TextFormatter(redact))

    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == _HANDLER_NAME:
            root.removeHandler(old)
            old.close()
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Libraries that are chatty at INFO stay at WARNING unless we debug.
    if level.upper() != "DEBUG":
        for name in ("aiosqlite", "sqlalchemy.engine", "alembic.runtime.migration"):
            logging.getLogger(name).setLevel(logging.WARNING)
    else:
        # aiosqlite's DEBUG traces every call from its worker thread (with the statement's
        # parameters): thousands of lines a minute, none tied to a request.
        logging.getLogger("aiosqlite").setLevel(logging.INFO)
    logging.captureWarnings(True)
    return handler


@contextlib.contextmanager
def logs_to(stream: TextIO) -> Iterator[None]:
    """Send the log lines of :func:`configure_logging`'s handler to ``stream`` for a while
    (the console's terminal: above its prompt)."""
    handler = next(
        (
            h
            for h in logging.getLogger().handlers
            if h.get_name() == _HANDLER_NAME and isinstance(h, logging.StreamHandler)
        ),
        None,
    )
    if handler is None:
        yield
        return
    old = handler.setStream(stream)
    try:
        yield
    finally:
        if old is not None:
            handler.setStream(old)
