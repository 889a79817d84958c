"""What an SRE sees of a running `zas serve`: /metrics with exact deltas for a known workload,
who may scrape it, one JSON access line per request carrying the trace id, the span tree
(OTEL console exporter), and no secret anywhere in the logs."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.admin_api import AdminApi
from tests.e2e.raw import RawResponse, presign, send, sign_headers
from tests.observability import promtool
from tests.zasproc import SECRET_KEY, ZasProcess, free_port

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZasProcess]:
    """A server with a public metrics listener, JSON logs and console tracing."""
    metrics_port = free_port()
    server = ZasProcess(
        tmp_path_factory.mktemp("observed") / "data",
        env={
            "ZAS_METRICS_LISTEN": f"127.0.0.1:{metrics_port}",
            "ZAS_LOG_FORMAT": "json",
            "OTEL_TRACES_EXPORTER": "console",
            "OTEL_SERVICE_NAME": "zas-test",
        },
    )
    server.metrics_endpoint = f"http://127.0.0.1:{metrics_port}"  # type: ignore[attr-defined]
    server.start()
    yield server
    assert server.stop() == 0, server.log()


def signed(
    method: str, zas: ZasProcess, path: str, body: bytes = b"", **headers: str
) -> RawResponse:
    url = zas.endpoint + path
    return send(method, url, sign_headers(method, url, headers=headers, body=body), body)


def scrape(zas: ZasProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = send("GET", zas.metrics_endpoint + "/metrics", {}, b"")  # type: ignore[attr-defined]
    assert response.status == 200, response
    samples = {}
    for family in text_string_to_metric_families(response.body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def delta(before: dict[Any, float], after: dict[Any, float], name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_a_known_workload_moves_each_metric_by_exactly_its_size(observed: ZasProcess) -> None:
    assert signed("PUT", observed, "/metered").status == 200
    before = scrape(observed)

    bodies = [b"a" * 10, b"b" * 20, b"c" * 5000]
    for index, body in enumerate(bodies):
        assert signed("PUT", observed, f"/metered/k{index}", body).status == 200
    for index in range(2):
        assert signed("GET", observed, f"/metered/k{index}").status == 200
    assert signed("GET", observed, "/metered/missing").status == 404
    assert send("GET", f"{observed.endpoint}/metered/k0", {}, b"").status == 403  # anonymous
    assert signed("PUT", observed, "/metered/k0", b"overwrite").status == 200  # frees 10 bytes
    after = scrape(observed)

    requests = "zas_http_requests_total"
    assert delta(before, after, requests, operation="PutObject", status_class="2xx") == 4
    assert delta(before, after, requests, operation="GetObject", status_class="2xx") == 2
    assert delta(before, after, requests, operation="GetObject", status_class="4xx") == 2
    assert delta(before, after, "zas_http_received_bytes_total") == 5030 + len(b"overwrite")
    assert delta(before, after, "zas_http_sent_bytes_total") >= 30
    assert delta(before, after, "zas_object_upload_size_bytes_count") == 4
    assert delta(before, after, "zas_object_upload_size_bytes_sum") == 5039
    assert delta(before, after, "zas_object_download_size_bytes_count") == 2
    assert delta(before, after, "zas_object_download_size_bytes_sum") == 30
    latency = "zas_http_request_duration_seconds_count"
    assert delta(before, after, latency, operation="GetObject") == 4
    auth = "zas_authentication_attempts_total"
    assert delta(before, after, auth, method="sigv4", result="success") == 7
    assert delta(before, after, auth, method="anonymous", result="success") == 1
    assert delta(before, after, "zas_authorization_decisions_total", result="allow") == 7
    assert delta(before, after, "zas_authorization_decisions_total", result="deny") == 1
    assert after[("zas_bucket_objects", (("bucket", "metered"),))] == 3
    assert after[("zas_bucket_stored_bytes", (("bucket", "metered"),))] == 20 + 5000 + 9
    assert delta(before, after, "zas_gc_reclaimed_bytes_total") == 10
    assert delta(before, after, "zas_gc_runs_total") == 1
    assert delta(before, after, "zas_metadata_batch_size_count") >= 4
    assert after[("zas_http_requests_in_flight", ())] == 1  # the scrape itself
    assert after[("zas_blob_store_free_bytes", ())] > 0
    assert after[("zas_database_memory_bytes", (("database", "metadata"),))] > 0
    assert ("process_resident_memory_bytes", ()) in after


def test_the_garbage_collector_rarely_runs_under_load(
    observed: ZasProcess,
) -> None:
    """zas.server.settle_gc: with Python's defaults, these 300 PUTs ran the young
    generation ~190 times (measured by disabling it); with it, ~6."""
    assert signed("PUT", observed, "/collected").status == 200
    before = scrape(observed)
    for index in range(300):
        assert signed("PUT", observed, f"/collected/k{index:03d}", b"x").status == 200
    after = scrape(observed)
    young = delta(before, after, "python_gc_collections_total", generation="0")
    assert young <= 20, young


def test_bad_signatures_count_as_failed_authentication(observed: ZasProcess) -> None:
    before = scrape(observed)
    url = observed.endpoint + "/metered/x"
    headers = sign_headers("GET", url, secret_key="not-the-secret")
    assert send("GET", url, headers, b"").status == 403

    after = scrape(observed)

    auth = "zas_authentication_attempts_total"
    assert delta(before, after, auth, method="sigv4", result="failure") == 1
    assert delta(before, after, auth, method="sigv4", result="success") == 0


def test_multipart_uploads_in_progress_follow_create_and_abort(observed: ZasProcess) -> None:
    client: Any = observed.client()
    client.create_bucket(Bucket="uploads-gauge")
    start = scrape(observed)[("zas_multipart_uploads_in_progress", ())]

    upload = client.create_multipart_upload(Bucket="uploads-gauge", Key="big")
    during = scrape(observed)[("zas_multipart_uploads_in_progress", ())]
    client.abort_multipart_upload(Bucket="uploads-gauge", Key="big", UploadId=upload["UploadId"])
    end = scrape(observed)[("zas_multipart_uploads_in_progress", ())]

    assert (during - start, end - start) == (1, 0)


def test_main_listener_metrics_need_permission_and_the_metrics_listener_serves_nothing_else(
    observed: ZasProcess,
) -> None:
    reader = AdminApi(observed).create_user("metrics-reader", "readonly")

    assert send("GET", observed.endpoint + "/metrics", {}, b"").status == 403
    as_reader = observed.endpoint + "/metrics"
    reader_headers = sign_headers(
        "GET", as_reader, access_key=reader.access_key, secret_key=reader.secret_key
    )
    assert send("GET", as_reader, reader_headers, b"").status == 403
    assert signed("GET", observed, "/metrics").status == 200  # root
    metrics_listener = observed.metrics_endpoint  # type: ignore[attr-defined]
    assert send("GET", metrics_listener + "/metered/k1", {}, b"").status == 404
    assert send("GET", metrics_listener + "/health/ready", {}, b"").status == 200
    assert send("GET", metrics_listener + "/admin/users", {}, b"").status == 404


def test_metrics_token_protects_the_main_listener(fresh_zas: ZasProcess) -> None:
    fresh_zas.extra_env["ZAS_METRICS_TOKEN"] = "scrape-token-123"
    fresh_zas.start()

    with_token = send(
        "GET", fresh_zas.endpoint + "/metrics", {"Authorization": "Bearer scrape-token-123"}, b""
    )
    wrong = send("GET", fresh_zas.endpoint + "/metrics", {"Authorization": "Bearer nope"}, b"")

    assert with_token.status == 200 and b"zas_http_requests_total" in with_token.body
    assert wrong.status == 403


def test_the_live_exposition_passes_promtool(observed: ZasProcess) -> None:
    tool = promtool()  # skips on a machine without it, fails in CI
    signed("PUT", observed, "/promtool-bucket")
    body = send("GET", observed.metrics_endpoint + "/metrics", {}, b"").body  # type: ignore[attr-defined]

    done = subprocess.run(
        [tool, "check", "metrics"], input=body, capture_output=True, timeout=60, check=False
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == b"" and done.stderr.strip() == b"", done


def access_lines(zas: ZasProcess) -> list[dict[str, Any]]:
    lines = []
    for line in zas.log().splitlines():
        if line.startswith('{"') and '"logger": "zas.access"' in line.replace('":"', '": "'):
            lines.append(json.loads(line))
    return lines


def spans(zas: ZasProcess) -> list[dict[str, Any]]:
    """The console exporter's span objects, pretty-printed JSON one after another."""
    decoder = json.JSONDecoder()
    text = zas.log()
    found: list[dict[str, Any]] = []
    position = text.find('{\n    "name"')
    while position != -1:
        span, end = decoder.raw_decode(text, position)
        found.append(span)
        position = text.find('{\n    "name"', end)
    return found


def test_each_request_logs_one_json_line_with_its_trace_id(observed: ZasProcess) -> None:
    response = signed("PUT", observed, "/metered/traced", b"hello", traceparent=TRACEPARENT)
    request_id = response.headers["x-amz-request-id"]

    mine: list[dict[str, Any]] = []
    for _ in range(50):  # the line is written once the response has gone out
        mine = [line for line in access_lines(observed) if line.get("request_id") == request_id]
        if mine:
            break
        time.sleep(0.1)

    assert len(mine) == 1
    line = mine[0]
    assert line["trace_id"] == TRACE_ID
    assert (line["operation"], line["bucket"], line["key"]) == ("PutObject", "metered", "traced")
    assert (line["status"], line["bytes_in"], line["principal"]) == (200, 5, "root")
    assert line["error_code"] is None
    assert line["duration_ms"] > 0


def test_spans_form_the_request_tree_under_the_callers_trace(observed: ZasProcess) -> None:
    signed("PUT", observed, "/metered/tree", b"tree", traceparent=TRACEPARENT)

    def wait_for_server_span() -> list[dict[str, Any]]:
        for _ in range(50):  # the console exporter prints when a span ends
            found = [
                s for s in spans(observed)
                if s["context"]["trace_id"] == f"0x{TRACE_ID}"
                and s.get("attributes", {}).get("aws.s3.key") == "tree"
            ]  # fmt: skip
            if found:
                return found
            time.sleep(0.1)
        return []

    server_spans = wait_for_server_span()
    assert len(server_spans) == 1
    root = server_spans[0]
    assert root["parent_id"] == "0x00f067aa0ba902b7"  # the caller's span
    assert root["kind"] == "SpanKind.SERVER"
    assert root["attributes"]["http.request.method"] == "PUT"
    assert root["attributes"]["http.response.status_code"] == 200
    children = [s for s in spans(observed) if s.get("parent_id") == root["context"]["span_id"]]
    names = {child["name"] for child in children}
    expected = {"authenticate", "authorize", "storage.write", "storage.commit", "metadata.commit"}
    assert expected <= names


def test_no_secret_signature_or_token_reaches_the_logs(observed: ZasProcess) -> None:
    admin = AdminApi(observed)
    user = admin.create_user("log-watcher", "readonly")
    url = presign("GET", f"{observed.endpoint}/metered/k1")
    signature = url.rpartition("X-Amz-Signature=")[2]
    assert send("GET", url, {}, b"").status == 200
    fake_jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0." + hashlib.sha256(b"sig").hexdigest()
    send("GET", observed.endpoint + "/metered/k1", {"Authorization": f"Bearer {fake_jwt}"}, b"")
    send("GET", url + "&extra=1", {}, b"")  # a broken presigned URL gets logged as an error

    log = observed.log()

    assert log  # the server did log
    for secret in (SECRET_KEY, user.secret_key, signature, fake_jwt):
        assert secret not in log, secret
    master_key = (Path(observed.data_dir) / "master.key").read_text().strip()
    assert master_key not in log
