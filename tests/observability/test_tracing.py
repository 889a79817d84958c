"""Tracing with the SDK's in-memory exporter: the span tree, W3C parents, attributes, trio tasks."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pytest
import trio
import trio.lowlevel
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from zas.observability.tracing import NOOP_SPAN, Tracing

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracing(exporter: InMemorySpanExporter) -> Iterator[Tracing]:
    tracing = Tracing.from_env({}, exporter=exporter, version="9.9.9")
    yield tracing
    tracing.shutdown()


def by_name(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {span.name: span for span in exporter.get_finished_spans()}


def parent_id(span: ReadableSpan) -> int:
    assert span.parent is not None, f"{span.name} has no parent"
    return span.parent.span_id


def attributes(span: ReadableSpan) -> dict[str, object]:
    return dict(span.attributes or {})


def test_request_span_and_children_form_a_tree_under_the_callers_traceparent(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    assert tracing.enabled
    headers = [(b"host", b"localhost:9000"), (b"traceparent", TRACEPARENT.encode())]
    with tracing.request_span(
        "GET",
        "/{bucket}/{key}",
        headers,
        path="/builds/app.tar.gz",
        scheme="http",
        server_address="localhost",
        server_port=9000,
        client_address="127.0.0.1",
        user_agent="Boto3/1.35",
        protocol_version="1.1",
    ) as request:
        assert tracing.current_trace_id() == TRACE_ID
        with tracing.span("authenticate", {"zas.auth.method": "sigv4"}):
            pass
        with tracing.span("authorize"):
            pass
        with tracing.span("storage.read"), tracing.span("metadata.read"):
            pass
        request.set_operation("GetObject", "builds", "app.tar.gz")
        request.set_status_code(200)
    assert tracing.current_trace_id() is None

    spans = by_name(exporter)
    assert set(spans) == {
        "GET /{bucket}/{key}",
        "authenticate",
        "authorize",
        "storage.read",
        "metadata.read",
    }
    server = spans["GET /{bucket}/{key}"]
    assert server.kind is SpanKind.SERVER
    assert format(server.context.trace_id, "032x") == TRACE_ID
    assert server.parent is not None and server.parent.is_remote
    assert format(server.parent.span_id, "016x") == PARENT_ID
    for name in ("authenticate", "authorize", "storage.read"):
        assert parent_id(spans[name]) == server.context.span_id, name
        assert spans[name].context.trace_id == server.context.trace_id
        assert spans[name].kind is SpanKind.INTERNAL
    assert parent_id(spans["metadata.read"]) == spans["storage.read"].context.span_id
    assert spans["authenticate"].attributes == {"zas.auth.method": "sigv4"}

    assert attributes(server) == {
        "http.request.method": "GET",
        "http.route": "/{bucket}/{key}",
        "url.path": "/builds/app.tar.gz",
        "url.scheme": "http",
        "server.address": "localhost",
        "server.port": 9000,
        "client.address": "127.0.0.1",
        "user_agent.original": "Boto3/1.35",
        "network.protocol.version": "1.1",
        "http.response.status_code": 200,
        "rpc.system": "aws-api",
        "rpc.service": "S3",
        "rpc.method": "GetObject",
        "aws.s3.bucket": "builds",
        "aws.s3.key": "app.tar.gz",
    }
    assert server.status.status_code is StatusCode.UNSET
    assert server.resource.attributes["service.name"] == "zas"
    assert server.resource.attributes["service.version"] == "9.9.9"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"traceparent": "not-a-traceparent"},
        {"Traceparent": "00-00000000000000000000000000000000-b7ad6b7169203331-01"},
    ],
)
def test_given_no_valid_traceparent_then_the_request_starts_a_new_trace(
    tracing: Tracing, exporter: InMemorySpanExporter, headers: dict[str, str]
) -> None:
    with tracing.request_span("PUT", "/{bucket}/{key}", headers):
        pass
    [span] = exporter.get_finished_spans()
    assert span.parent is None
    assert format(span.context.trace_id, "032x") != TRACE_ID


def test_given_a_mapping_with_any_case_then_traceparent_is_found(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    with tracing.request_span("GET", "/", {"TraceParent": TRACEPARENT}):
        pass
    [span] = exporter.get_finished_spans()
    assert format(span.context.trace_id, "032x") == TRACE_ID


def test_5xx_and_exceptions_mark_the_span_as_error_but_4xx_does_not(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    with tracing.request_span("GET", "/a", {}) as span:
        span.set_status_code(404)
    with tracing.request_span("GET", "/b", {}) as span:
        span.set_status_code(503)
    with (
        pytest.raises(RuntimeError),
        tracing.request_span("GET", "/c", {}),
        tracing.span("storage.write"),
    ):
        raise RuntimeError("disk on fire")
    spans = by_name(exporter)
    assert spans["GET /a"].status.status_code is StatusCode.UNSET
    assert spans["GET /b"].status.status_code is StatusCode.ERROR
    assert attributes(spans["GET /b"])["error.type"] == "503"
    for name in ("GET /c", "storage.write"):
        assert spans[name].status.status_code is StatusCode.ERROR
        assert attributes(spans[name])["error.type"] == "RuntimeError"
    assert [event.name for event in spans["storage.write"].events] == ["exception"]


def test_under_trio_interleaved_requests_keep_their_own_children(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    """Given two requests whose steps interleave at checkpoints, each child has its own parent."""

    async def request(name: str) -> None:
        with tracing.request_span("GET", f"/{name}", {}):
            with tracing.span(f"authenticate-{name}"):
                await trio.lowlevel.checkpoint()
            async with trio.open_nursery() as nursery:
                # A task spawned inside the request inherits the request's context.
                nursery.start_soon(child, f"storage.read-{name}")
            await trio.lowlevel.checkpoint()
            with tracing.span(f"metadata.commit-{name}"):
                await trio.lowlevel.checkpoint()

    async def child(name: str) -> None:
        await trio.lowlevel.checkpoint()
        with tracing.span(name):
            await trio.lowlevel.checkpoint()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for name in ("one", "two", "three"):
                nursery.start_soon(request, name)

    trio.run(main)
    spans = by_name(exporter)
    assert len(spans) == 12
    for name in ("one", "two", "three"):
        server = spans[f"GET /{name}"]
        assert server.parent is None
        for step in ("authenticate", "storage.read", "metadata.commit"):
            span = spans[f"{step}-{name}"]
            assert parent_id(span) == server.context.span_id, (step, name)


def test_given_no_exporter_configured_then_tracing_is_off_and_free() -> None:
    tracing = Tracing.from_env({})
    assert not tracing.enabled
    assert "OTEL_TRACES_EXPORTER" in tracing.disabled_reason
    assert tracing.request_span("GET", "/", {"traceparent": TRACEPARENT}) is NOOP_SPAN
    assert tracing.span("authenticate") is NOOP_SPAN
    with tracing.request_span("GET", "/", []) as span:
        span.set_status_code(500)
        span.set_operation("GetObject", "b", "k")
        span.set_attribute("x", 1)
    assert tracing.current_trace_id() is None

    rounds = 100_000
    start = time.perf_counter()
    for _ in range(rounds):
        pass
    empty = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(rounds):
        with tracing.request_span("GET", "/{bucket}/{key}", ()) as request:
            with tracing.span("authenticate"):
                pass
            with tracing.span("authorize"):
                pass
            with tracing.span("storage.read"):
                pass
            request.set_status_code(200)
        tracing.current_trace_id()
    per_request = (time.perf_counter() - start - empty) / rounds * 1e6
    print(f"disabled tracing per request (1 request span + 3 children): {per_request:.2f} us")


@pytest.mark.parametrize(
    "environ",
    [
        {"OTEL_TRACES_EXPORTER": "none"},
        {"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"},
        {"OTEL_TRACES_EXPORTER": "zipkin"},
        {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
    ],
)
def test_environments_that_turn_tracing_off(environ: dict[str, str]) -> None:
    tracing = Tracing.from_env(environ)
    assert not tracing.enabled
    assert tracing.disabled_reason


def test_sdk_disabled_wins_over_an_injected_exporter(exporter: InMemorySpanExporter) -> None:
    assert not Tracing.from_env({"OTEL_SDK_DISABLED": "true"}, exporter=exporter).enabled


def test_console_and_otlp_exporters_are_built_from_the_environment() -> None:
    for environ in (
        {"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "zas-test"},
        {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9/"},
    ):
        tracing = Tracing.from_env(environ)
        try:
            if environ["OTEL_TRACES_EXPORTER"] == "otlp":
                pytest.importorskip("opentelemetry.exporter.otlp.proto.http.trace_exporter")
            assert tracing.enabled, tracing.disabled_reason
        finally:
            tracing.shutdown()  # no spans were made: nothing is sent anywhere


def test_given_opentelemetry_absent_then_tracing_is_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    tracing = Tracing.from_env({"OTEL_TRACES_EXPORTER": "console"})
    assert not tracing.enabled
    assert "not installed" in tracing.disabled_reason
