"""Logging for ZAS: one JSON (or text) line per record, one access line per request, no secrets.

`configure_logging` sets up the root logger once at start-up; `AccessLogger` writes the
per-request line on `zas.access`; `redact` and `RedactingFilter` strip credentials from every
record that reaches our handler, whatever logger it came from (ours, hypercorn's, a library's).
This module formats and filters log records; it never opens files or sockets itself.

Why redaction sits on the handler and not on each call site: a secret reaches a log through the
one place nobody thought of (an exception message quoting a header, a library's debug line
printing a URL), so the last gate before the stream is the only one that catches them all. The
patterns cover the forms credentials take in S3 and OIDC traffic: the `Authorization` header
(SigV4 `Credential=`/`Signature=`, `Bearer`), presigned-URL query parameters
(`X-Amz-Signature`, `X-Amz-Credential`, `X-Amz-Security-Token`), JWTs (`eyJ...`), `key=value` or
JSON pairs whose key names a secret, token or password, and literal values registered with
`register_secret` (master key, bootstrap credentials).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, TextIO

import trio

__all__ = [
    "ACCESS_LOGGER",
    "AccessLogger",
    "JsonFormatter",
    "RedactingFilter",
    "TextFormatter",
    "configure_logging",
    "redact",
    "register_secret",
]

ACCESS_LOGGER: Final = "zas.access"
REDACTED: Final = "[REDACTED]"

# Key names whose value is a credential wherever they appear: `name=value`, `name: value`,
# `"name": "value"`, Python reprs `'name': 'value'`. `\w*` around the stem catches
# SecretAccessKey, aws_secret_access_key, client_secret, SessionToken, X-Amz-Security-Token, ...
_SECRET_KEY_NAMES = r"\w*(?:secret|passw(?:or)?d|token|api[_-]?key|private[_-]?key)\w*"
_VALUE_CHARS = r"[^\s\"'&,;}<>()\[\]]+"
_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    # Authorization header, as a header line, a dict/JSON pair or a (name, value) tuple: the
    # whole value goes (SigV4 credential scope, signature; Basic; Bearer).
    (
        re.compile(
            r"(?i)(\bauthorization\b[\"']?\s*(?:[:=]|[\"']?\s*,)\s*(?:b?[\"'])?)[^\"'\r\n]+",
        ),
        r"\1" + REDACTED,
    ),
    # A SigV4 Authorization value on its own (AWS4-HMAC-SHA256 Credential=..., Signature=...).
    (re.compile(r"(AWS4-HMAC-SHA256)\s+[^\"'\r\n]+"), r"\1 " + REDACTED),
    # Presigned URL / header credential parameters, raw or URL-encoded values.
    (
        re.compile(
            r"(?i)(x-amz-(?:signature|credential|security-token)[\"']?\s*[:=]\s*(?:b?[\"'])?)"
            + _VALUE_CHARS
        ),
        r"\1" + REDACTED,
    ),
    # SigV4 fields quoted outside an Authorization header (error messages, string-to-sign dumps).
    (re.compile(r"\b(Signature|Credential)=[^\s\"',&]+"), r"\1=" + REDACTED),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    # JWT / JWS compact serialisation: base64url JSON header, always "eyJ".
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_=-]*)*"), REDACTED),
    (
        re.compile(
            r"(?i)(\b" + _SECRET_KEY_NAMES + r"[\"']?\s*[:=]\s*(?:b?[\"'])?)" + _VALUE_CHARS
        ),
        r"\1" + REDACTED,
    ),
)
# Cheap pre-check on the lower-cased text: if none of these substrings occur, no pattern can
# match and the common log line skips all the regexes. Every pattern above contains one of
# them. Plain `in` tests: ~10x faster than one regex alternation over the same words, which
# Python's `re` tries word by word at every position.
_TRIGGERS: Final = (
    "authorization", "aws4-hmac", "x-amz-", "signature=", "credential=", "bearer", "eyj",
    "secret", "passw", "token", "apikey", "api_key", "api-key", "privatekey", "private_key",
    "private-key",
)  # fmt: skip
_known_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Redact this literal everywhere from now on (master key, bootstrap secret key, ...).

    Values shorter than 8 characters are ignored: redacting "abc" would mangle unrelated text
    while protecting nothing worth protecting.
    """
    if len(value) >= 8:
        _known_secrets.add(value)


def _suspect(text: str) -> bool:
    """Whether `text` might hold a credential: the cheap test before any regex runs."""
    for secret in _known_secrets:
        if secret in text:
            return True
    lowered = text.lower()
    return any(trigger in lowered for trigger in _TRIGGERS)


def redact(text: str) -> str:
    """`text` with every credential-looking value replaced by `[REDACTED]`."""
    if not _suspect(text):
        return text
    for secret in _known_secrets:
        text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


_SCALARS: Final = (int, float, bool, type(None))


# A mapping key that names a credential: its scalar value goes whole, whatever it looks like.
_SECRET_FIELD: Final = re.compile(
    r"secret|passw(?:or)?d|token|api[_-]?key|private[_-]?key|authorization|signature|credential"
)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, bytes):
        return redact(value.decode("utf-8", "replace"))
    if isinstance(value, Mapping):
        return _redact_mapping(value)
    if isinstance(value, (list, tuple)):
        return [_redact_value(item) for item in value]
    return redact(str(value))


def _redact_mapping(value: Mapping[Any, Any]) -> Mapping[Any, Any]:
    # The access line's flat dict is the common case: one suspicion test over all its keys and
    # strings, and no copy at all when it is clean.
    flat: list[str] = []
    for key, item in value.items():
        if isinstance(item, str):
            flat.append(item)
        elif not isinstance(item, _SCALARS):
            break
        flat.append(str(key))
    else:
        if not _suspect("\n".join(flat)):
            return value
    out: dict[Any, Any] = {}
    for key, item in value.items():
        if _SECRET_FIELD.search(str(key).lower()) and isinstance(item, (str, bytes, int, float)):
            out[key] = REDACTED
        else:
            out[key] = _redact_value(item)
    return out


# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)
# The access logger passes its fields as one dict under this attribute (one setattr, no diff).
_FIELDS_ATTR: Final = "zas_fields"


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] | None = getattr(record, _FIELDS_ATTR, None)
    extra = {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}
    extra.pop(_FIELDS_ATTR, None)
    if fields:
        extra.update(fields)
    return extra


class RedactingFilter(logging.Filter):
    """Rewrites a record in place so that no formatter can print a credential from it.

    The message is rendered (`msg % args`) and redacted, `extra=` values are redacted, and an
    exception's traceback is formatted now and redacted (formatters reuse `record.exc_text`).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = redact(message)
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS:
                setattr(record, key, _redact_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class _WallClock:
    """ISO-8601 UTC timestamps, the seconds part formatted once per second, not per line."""

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def format(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._prefix}.{int((created - second) * 1000):03d}Z"


# One encoder for all lines: `json.dumps` with arguments builds a new encoder per call.
_ENCODER: Final = json.JSONEncoder(default=str, separators=(",", ":"))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then any extra fields.

    `trace_id` is filled from `trace_id_source` (the tracer's current trace) when the record
    does not carry one, so error lines inside a request can be joined to its trace.
    """

    def __init__(self, trace_id_source: Callable[[], str | None] | None = None) -> None:
        super().__init__()
        self._clock = _WallClock()
        self._trace_id_source = trace_id_source

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._clock.format(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_extra_fields(record))
        if self._trace_id_source is not None and "trace_id" not in entry:
            trace_id = self._trace_id_source()
            if trace_id is not None:
                entry["trace_id"] = trace_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return _ENCODER.encode(entry)


class TextFormatter(logging.Formatter):
    """Human-readable lines for a terminal: `time LEVEL logger: message key=value ...`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = _extra_fields(record)
        if not extra:
            return line
        pairs = " ".join(f"{key}={value}" for key, value in extra.items() if value is not None)
        head, sep, tail = line.partition("\n")  # keep a traceback below the fields
        return f"{head} {pairs}{sep}{tail}"


class _ZasHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler `configure_logging` installed, so a second call replaces it."""


def configure_logging(
    level: str = "INFO",
    fmt: Literal["json", "text"] = "json",
    *,
    stream: TextIO | None = None,
    trace_id_source: Callable[[], str | None] | None = None,
) -> logging.Handler:
    """Send every logger's records through one redacting handler on the root logger.

    Idempotent: a second call replaces the handler the first installed (and leaves handlers
    others installed, such as pytest's capture, alone). Returns the handler for tests.
    """
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    if fmt not in ("json", "text"):
        raise ValueError(f"unknown log format {fmt!r} (json or text)")
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _ZasHandler):
            root.removeHandler(handler)
            handler.close()
    handler = _ZasHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter(trace_id_source) if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(numeric)
    return handler


# Access lines written together at most this many at a time, and at least every
# ACCESS_FLUSH_INTERVAL seconds (`AccessLogger.run`).
ACCESS_BATCH = 256
ACCESS_FLUSH_INTERVAL = 0.2
# The fields a client controls (and could put a credential in); the rest are ours.
_CLIENT_FIELDS = ("key", "path", "user_agent", "bucket")


class AccessLogger:
    """The per-request line on `zas.access`, built only when INFO is enabled for it.

    Fields are fixed (no `**kwargs`), so a typo at the call site is a type error and the line's
    schema stays stable for log pipelines. `error_code` is the S3 error code (NoSuchKey, ...)
    or None; `principal` is the authenticated identity's name, never a credential.
    """

    def __init__(
        self, logger: logging.Logger | None = None, *, stream: TextIO | None = None
    ) -> None:
        """With `stream`, lines are JSON built here and written in batches (`flush`, `run`):
        the logging machinery (record, dispatch, filter, formatter, one write per line) was
        most of what a small GET paid for observability (BENCHMARKS.md). Without it, each
        line goes through the `zas.access` logger like any other record."""
        self._logger = logger if logger is not None else logging.getLogger(ACCESS_LOGGER)
        self._stream = stream
        self._buffer: list[str] = []
        self._clock = _WallClock()

    def request(
        self,
        *,
        request_id: str,
        trace_id: str | None,
        principal: str | None,
        operation: str,
        bucket: str | None,
        key: str | None,
        status: int,
        bytes_in: int,
        bytes_out: int,
        duration_ms: float,
        error_code: str | None,
        method: str,
        path: str,
        source_ip: str | None,
        user_agent: str | None,
    ) -> None:
        logger = self._logger
        if not logger.isEnabledFor(logging.INFO):
            return
        fields = {
            "request_id": request_id,
            "trace_id": trace_id,
            "principal": principal,
            "operation": operation,
            "bucket": bucket,
            "key": key,
            "status": status,
            "bytes_in": bytes_in,
            "bytes_out": bytes_out,
            "duration_ms": round(duration_ms, 3),
            "error_code": error_code,
            "method": method,
            "path": path,
            "source_ip": source_ip,
            "user_agent": user_agent,
        }
        if self._stream is not None:
            self._buffer.append(self._line(fields))
            if len(self._buffer) >= ACCESS_BATCH:
                self.flush()
            return
        # makeRecord + handle instead of logger.info: skips the stack walk (findCaller) that
        # would only tell us this line, ~10% of the access line's cost.
        record = logger.makeRecord(
            logger.name, logging.INFO, __file__, 0, "request", (), None,
            extra={_FIELDS_ATTR: fields},
        )  # fmt: skip
        logger.handle(record)

    def _line(self, fields: dict[str, Any]) -> str:
        for name in _CLIENT_FIELDS:
            value = fields[name]
            if value is not None and _suspect(value):
                fields[name] = redact(value)
        entry = {
            "time": self._clock.format(time.time()),
            "level": "INFO",
            "logger": ACCESS_LOGGER,
            "message": "request",
            **fields,
        }
        return _ENCODER.encode(entry)

    def flush(self) -> None:
        if self._stream is not None and self._buffer:
            lines, self._buffer = self._buffer, []
            self._stream.write("\n".join(lines) + "\n")
            self._stream.flush()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Write batched lines every ACCESS_FLUSH_INTERVAL seconds; the rest on cancellation."""
        task_status.started()
        try:
            while True:
                await trio.sleep(ACCESS_FLUSH_INTERVAL)
                self.flush()
        finally:
            self.flush()
