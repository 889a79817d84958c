"""OpenTelemetry tracing for ZAS: a server span per request, child spans for its steps.

Configured by the standard environment variables (OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER,
OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT, ...), with one deliberate difference from the
OpenTelemetry default: an unset OTEL_TRACES_EXPORTER means *off*, not "otlp", so a server with no
collector pays nothing and logs no export errors. The OpenTelemetry packages are optional
(`pip install zas[tracing]`); without them, or when off, every call returns one shared no-op
object: no import, no allocation, no context switch. This module never touches the request
or response objects; the caller hands it the method, route and headers.

Context lives in `contextvars`, which trio keeps per task (a task spawned in a nursery inherits
a copy of its parent's), so spans opened with `with` inside a request task nest correctly even
while other requests interleave at checkpoints.

Attribute names follow the HTTP server semantic conventions
(https://opentelemetry.io/docs/specs/semconv/http/http-spans/#http-server) and the AWS S3 ones
(https://opentelemetry.io/docs/specs/semconv/object-stores/s3/). `url.query` is never recorded:
a presigned URL's query holds its signature.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger("zas.tracing")

__all__ = ["SPAN_NAMES", "NoopSpan", "SpanHandle", "Tracing", "install", "tracer"]

AttributeValue = str | bool | int | float
Headers = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]

# The child span names the request path uses, so that every trace has the same shape.
SPAN_NAMES: Final = (
    "authenticate",
    "authorize",
    "storage.read",
    "storage.write",
    "storage.commit",
    "metadata.read",
    "metadata.commit",
    "audit.record",
)

_PROPAGATION_HEADERS: Final = frozenset({"traceparent", "tracestate"})


class SpanHandle(Protocol):
    """What `request_span` and `span` yield: a context manager that annotates its span."""

    def __enter__(self) -> SpanHandle: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def set_attribute(self, key: str, value: AttributeValue) -> None: ...

    def set_status_code(self, status: int) -> None: ...

    def set_operation(self, operation: str, bucket: str | None, key: str | None) -> None: ...


class NoopSpan:
    """The one object every call returns when tracing is off; all of it does nothing."""

    __slots__ = ()

    def __enter__(self) -> NoopSpan:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        pass

    def set_status_code(self, status: int) -> None:
        pass

    def set_operation(self, operation: str, bucket: str | None, key: str | None) -> None:
        pass


NOOP_SPAN: Final = NoopSpan()


class _LiveSpan:
    """A started-on-enter span that is current for the duration of the `with` block."""

    __slots__ = ("_attributes", "_kind", "_name", "_parent", "_span", "_token", "_tracer")

    def __init__(
        self,
        tracer: Tracer,
        name: str,
        kind: Any,
        attributes: Mapping[str, AttributeValue] | None,
        parent: Context | None,
    ) -> None:
        self._tracer = tracer
        self._name = name
        self._kind = kind
        self._attributes = attributes
        self._parent = parent
        self._span: Span | None = None
        self._token: Token[Context] | None = None

    def __enter__(self) -> _LiveSpan:
        from opentelemetry import context, trace

        span = self._tracer.start_span(
            self._name, context=self._parent, kind=self._kind, attributes=self._attributes
        )
        self._span = span
        self._token = context.attach(trace.set_span_in_context(span, self._parent))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        from opentelemetry import context
        from opentelemetry.trace import Status, StatusCode

        span = self._span
        assert span is not None, "exit without enter"
        try:
            if exc is not None:
                span.record_exception(exc)
                span.set_attribute("error.type", type(exc).__qualname__)
                span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
            span.end()
        finally:
            if self._token is not None:
                context.detach(self._token)

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        if self._span is not None:
            self._span.set_attribute(key, value)

    def set_status_code(self, status: int) -> None:
        """Record the HTTP status; 5xx marks the span as an error (4xx is the client's fault)."""
        from opentelemetry.trace import Status, StatusCode

        if self._span is None:
            return
        self._span.set_attribute("http.response.status_code", status)
        if status >= 500:
            self._span.set_attribute("error.type", str(status))
            self._span.set_status(Status(StatusCode.ERROR))

    def set_operation(self, operation: str, bucket: str | None, key: str | None) -> None:
        """Name the S3 operation once routing knows it (rpc.* and aws.s3.* conventions)."""
        if self._span is None:
            return
        self._span.set_attribute("rpc.system", "aws-api")
        self._span.set_attribute("rpc.service", "S3")
        self._span.set_attribute("rpc.method", operation)
        if bucket is not None:
            self._span.set_attribute("aws.s3.bucket", bucket)
        if key is not None:
            self._span.set_attribute("aws.s3.key", key)


def _propagation_carrier(headers: Headers) -> dict[str, str]:
    """Only traceparent/tracestate, lower-cased: ASGI gives bytes pairs, Quart a mapping."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    carrier: dict[str, str] = {}
    for raw_name, raw_value in pairs:
        name = raw_name.decode("latin-1") if isinstance(raw_name, bytes) else raw_name
        name = name.lower()
        if name in _PROPAGATION_HEADERS:
            value = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value
            carrier[name] = value
    return carrier


class Tracing:
    """The tracer the server uses; `Tracing.from_env()` at start-up, `shutdown()` at exit."""

    def __init__(
        self,
        provider: TracerProvider | None = None,
        *,
        disabled_reason: str = "",
    ) -> None:
        """Enabled iff a provider is given; prefer `from_env` or `Tracing.disabled()`."""
        self.enabled = provider is not None
        self.disabled_reason = "" if self.enabled else (disabled_reason or "not configured")
        self._provider = provider
        self._tracer: Tracer | None = None
        self._propagator: TraceContextTextMapPropagator | None = None
        self._server_kind: Any = None
        self._internal_kind: Any = None
        if provider is not None:
            from opentelemetry.trace import SpanKind
            from opentelemetry.trace.propagation.tracecontext import (
                TraceContextTextMapPropagator,
            )

            self._tracer = provider.get_tracer("zas")
            # W3C Trace Context only: it is what the issue asks for and what every
            # OpenTelemetry client sends by default; B3/Jaeger headers are not looked at.
            self._propagator = TraceContextTextMapPropagator()
            self._server_kind = SpanKind.SERVER
            self._internal_kind = SpanKind.INTERNAL

    @classmethod
    def disabled(cls, reason: str = "disabled") -> Tracing:
        return cls(None, disabled_reason=reason)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] = os.environ,
        *,
        exporter: SpanExporter | None = None,
        version: str | None = None,
    ) -> Tracing:
        """Build from OTEL_* variables; `exporter` (tests: InMemorySpanExporter) overrides them.

        OTEL_TRACES_EXPORTER is a comma-separated list of `otlp` (HTTP/protobuf, needs
        `zas[tracing]`), `console` and `none`. Settings an exporter reads itself (headers,
        timeouts, certificates, sampler) come from the process environment, as the SDK does.
        """
        if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            return cls.disabled("OTEL_SDK_DISABLED=true")
        names = [
            name.strip().lower()
            for name in environ.get("OTEL_TRACES_EXPORTER", "").split(",")
            if name.strip() and name.strip().lower() != "none"
        ]
        if exporter is None and not names:
            return cls.disabled("OTEL_TRACES_EXPORTER is unset or none")
        try:
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import (
                BatchSpanProcessor,
                ConsoleSpanExporter,
                SimpleSpanProcessor,
            )
        except ImportError:
            log.warning("tracing requested but OpenTelemetry is not installed: zas[tracing]")
            return cls.disabled("opentelemetry-sdk is not installed")

        attributes: dict[str, AttributeValue] = {
            "service.name": environ.get("OTEL_SERVICE_NAME", "").strip() or "zas"
        }
        if version is not None:
            attributes["service.version"] = version
        provider = TracerProvider(resource=Resource.create(attributes))
        if exporter is not None:
            # Synchronous export: a test sees its spans the moment they end.
            provider.add_span_processor(SimpleSpanProcessor(exporter))
            return cls(provider)
        added = 0
        for name in names:
            if name == "console":
                provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
                added += 1
            elif name == "otlp":
                otlp = _otlp_exporter(environ)
                if otlp is not None:
                    # Batching exports from the processor's own thread, off the trio loop.
                    provider.add_span_processor(BatchSpanProcessor(otlp))
                    added += 1
            else:
                log.warning("OTEL_TRACES_EXPORTER: unknown exporter %r ignored", name)
        if not added:
            provider.shutdown()
            return cls.disabled("no usable exporter in OTEL_TRACES_EXPORTER")
        return cls(provider)

    def request_span(
        self,
        method: str,
        route: str,
        headers: Headers,
        *,
        path: str | None = None,
        scheme: str | None = None,
        server_address: str | None = None,
        server_port: int | None = None,
        client_address: str | None = None,
        user_agent: str | None = None,
        protocol_version: str | None = None,
    ) -> SpanHandle:
        """The server span for one request, child of the caller's `traceparent` if it sent one.

        `route` is the low-cardinality template ("/{bucket}/{key}") that names the span;
        `path` is the path *without* its query string.
        """
        if self._tracer is None or self._propagator is None:
            return NOOP_SPAN
        parent = self._propagator.extract(_propagation_carrier(headers))
        attributes: dict[str, AttributeValue] = {
            "http.request.method": method,
            "http.route": route,
        }
        optional = (
            ("url.path", path),
            ("url.scheme", scheme),
            ("server.address", server_address),
            ("server.port", server_port),
            ("client.address", client_address),
            ("user_agent.original", user_agent),
            ("network.protocol.version", protocol_version),
        )
        for key, value in optional:
            if value is not None:
                attributes[key] = value
        return _LiveSpan(self._tracer, f"{method} {route}", self._server_kind, attributes, parent)

    def span(self, name: str, attributes: Mapping[str, AttributeValue] | None = None) -> SpanHandle:
        """A child of the current span (see `SPAN_NAMES`); attributes by semconv name."""
        if self._tracer is None:
            return NOOP_SPAN
        return _LiveSpan(self._tracer, name, self._internal_kind, attributes, None)

    def current_trace_id(self) -> str | None:
        """The current trace id as 32 hex digits, for the access log; None when off/outside."""
        if self._tracer is None:
            return None
        from opentelemetry import trace

        span_context = trace.get_current_span().get_span_context()
        if not span_context.is_valid:
            return None
        return format(span_context.trace_id, "032x")

    def shutdown(self) -> None:
        """Flush and stop the exporters (blocks up to their timeouts: run it in a thread)."""
        if self._provider is not None:
            self._provider.shutdown()


def _otlp_exporter(environ: Mapping[str, str]) -> SpanExporter | None:
    protocol = (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol != "http/protobuf":
        log.warning("OTLP protocol %r is not supported (only http/protobuf)", protocol)
        return None
    try:
        # Imported by name: the exporter is the optional `tracing` extra, and mypy in a
        # test-only install must not need it.
        module = importlib.import_module("opentelemetry.exporter.otlp.proto.http.trace_exporter")
    except ImportError:
        log.warning("OTEL_TRACES_EXPORTER=otlp needs zas[tracing] (OTLP/HTTP exporter)")
        return None
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if not endpoint and environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        # The generic endpoint is a base URL; the signal path is appended (OTLP spec).
        endpoint = environ["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/") + "/v1/traces"
    exporter: SpanExporter = module.OTLPSpanExporter(endpoint=endpoint or None)
    return exporter


# The server's tracer, for the layers below the API (metadata writer, blob store) that would
# otherwise need it threaded through every call; `zas.server` installs it at start-up.
_installed: Tracing = Tracing.disabled()


def install(tracing: Tracing) -> None:
    global _installed
    _installed = tracing


def tracer() -> Tracing:
    return _installed
