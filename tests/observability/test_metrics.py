"""ZasMetrics through its exposition: drive the API, scrape, parse with the official parser."""

from __future__ import annotations

import subprocess
import time
import typing

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from tests.observability import promtool
from zas.observability.metrics import METRICS, OPERATIONS, ZasMetrics, promql_names
from zas.protocol import operations

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(metrics: ZasMetrics) -> Samples:
    body, _ = metrics.render()
    samples: Samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name, frozenset(labels.items())]


def full_metrics() -> ZasMetrics:
    return ZasMetrics(
        audit_pending=lambda: 7,
        audit_dropped=lambda: 2,
        uploads_in_progress=lambda: 3,
        bucket_usage=lambda: {"builds": (10, 4096), "logs": (0, 0)},
        disk_usage=lambda: (100 * 2**30, 400 * 2**30),
        identity_provider_up=lambda: True,
        database_memory=lambda: {"metadata": 5 * 2**20, "audit": 2**20},
        version="9.9.9",
    )


def test_given_requests_when_scraped_then_counts_latency_and_bytes_are_exact() -> None:
    m = ZasMetrics()
    for status, seconds in ((200, 0.01), (206, 0.2), (404, 0.003), (503, 7.0)):
        m.request_started()
        m.request_finished("GetObject", status, seconds, bytes_in=5, bytes_out=100)
    m.request_started()
    m.request_started()
    m.request_finished("PutObject", 200, 0.5, bytes_in=1000, bytes_out=0)

    s = scrape(m)
    req = "zas_http_requests_total"
    assert value(s, req, operation="GetObject", status_class="2xx") == 2
    assert value(s, req, operation="GetObject", status_class="4xx") == 1
    assert value(s, req, operation="GetObject", status_class="5xx") == 1
    assert value(s, req, operation="GetObject", status_class="3xx") == 0  # pre-zeroed for rate()
    assert value(s, req, operation="PutObject", status_class="2xx") == 1
    assert (req, frozenset({("operation", "GetObject"), ("status_class", "1xx")})) not in s

    dur = "zas_http_request_duration_seconds"
    assert value(s, dur + "_count", operation="GetObject") == 4
    assert value(s, dur + "_sum", operation="GetObject") == pytest.approx(7.213)
    assert value(s, dur + "_bucket", operation="GetObject", le="0.0025") == 0
    assert value(s, dur + "_bucket", operation="GetObject", le="0.005") == 1
    assert value(s, dur + "_bucket", operation="GetObject", le="0.01") == 2  # le is <=
    assert value(s, dur + "_bucket", operation="GetObject", le="5.0") == 3
    assert value(s, dur + "_bucket", operation="GetObject", le="+Inf") == 4

    assert value(s, "zas_http_received_bytes_total") == 1020
    assert value(s, "zas_http_sent_bytes_total") == 400
    assert value(s, "zas_http_requests_in_flight") == 1


def test_given_unknown_operations_then_they_fold_into_other_without_new_series() -> None:
    m = ZasMetrics()
    for i in range(50):
        m.request_started()
        m.request_finished(f"attacker-chosen-{i}", 400, 0.001, 0, 0)
    s = scrape(m)
    ops = {dict(labels)["operation"] for (name, labels) in s if name == "zas_http_requests_total"}
    assert ops == {"other"}
    assert value(s, "zas_http_requests_total", operation="other", status_class="4xx") == 50


def test_given_extra_operations_then_they_are_labelled_by_name() -> None:
    m = ZasMetrics(extra_operations=["supplychain"])
    m.request_started()
    m.request_finished("supplychain", 200, 0.001, 0, 0)
    s = scrape(m)
    assert value(s, "zas_http_requests_total", operation="supplychain", status_class="2xx") == 1


def test_operations_label_set_covers_every_routed_s3_operation() -> None:
    routed = {
        cls.__dict__["name"]
        for cls in typing.get_args(operations.Operation)
        if isinstance(cls.__dict__.get("name"), str)
    }
    # Operations whose name depends on the request (a property, not a class attribute).
    routed |= {"ListObjects", "ListObjectsV2", "GetObject", "HeadObject"}
    assert len(routed) > 20
    assert routed <= OPERATIONS


def test_connections_sizes_auth_and_authorization() -> None:
    open_connections = 1  # what the server's socket count reports at scrape time
    m = ZasMetrics(open_connections=lambda: open_connections)
    m.object_uploaded(1024)
    m.object_uploaded(5 * 2**30 + 1)
    m.object_downloaded(10)
    m.authentication("sigv4", "success")
    m.authentication("sigv4", "success")
    m.authentication("bearer", "failure")
    m.authentication("kerberos", "success")  # not a method ZAS has: folded
    m.authorization("allow")
    m.authorization("deny")
    m.authorization("maybe")  # anything but allow counts as deny

    s = scrape(m)
    assert value(s, "zas_http_open_connections") == 1
    up = "zas_object_upload_size_bytes_bucket"
    assert value(s, up, le="1024.0") == 1
    assert value(s, up, le="5.36870912e+09") == 1
    assert value(s, up, le="+Inf") == 2
    assert value(s, "zas_object_download_size_bytes_count") == 1
    authn = "zas_authentication_attempts_total"
    assert value(s, authn, method="sigv4", result="success") == 2
    assert value(s, authn, method="bearer", result="failure") == 1
    assert value(s, authn, method="presigned", result="failure") == 0
    assert value(s, authn, method="other", result="success") == 1
    assert value(s, "zas_authorization_decisions_total", result="allow") == 1
    assert value(s, "zas_authorization_decisions_total", result="deny") == 2


def test_batches_gc_and_supply_chain() -> None:
    m = ZasMetrics()
    m.batch_committed(0.004, 12)
    m.batch_committed(0.02, 1)
    m.gc_run(blobs=3, bytes_reclaimed=3000)
    m.gc_run(blobs=0, bytes_reclaimed=0)
    m.supply_chain("verify", "failure")
    m.supply_chain("sign", "success")
    with pytest.raises(ValueError):
        m.supply_chain("notarize", "success")

    s = scrape(m)
    assert value(s, "zas_metadata_batch_commit_duration_seconds_count") == 2
    assert value(s, "zas_metadata_batch_commit_duration_seconds_bucket", le="0.005") == 1
    assert value(s, "zas_metadata_batch_size_bucket", le="1.0") == 1
    assert value(s, "zas_metadata_batch_size_sum") == 13
    assert value(s, "zas_gc_runs_total") == 2
    assert value(s, "zas_gc_reclaimed_blobs_total") == 3
    assert value(s, "zas_gc_reclaimed_bytes_total") == 3000
    sc = "zas_supply_chain_operations_total"
    assert value(s, sc, operation="verify", result="failure") == 1
    assert value(s, sc, operation="sign", result="success") == 1
    assert value(s, sc, operation="attestation", result="failure") == 0


def test_callbacks_are_read_at_scrape_time() -> None:
    pending = [1]
    m = ZasMetrics(audit_pending=lambda: pending[0])
    assert value(scrape(m), "zas_audit_queue_length") == 1
    pending[0] = 42
    assert value(scrape(m), "zas_audit_queue_length") == 42

    s = scrape(full_metrics())
    assert value(s, "zas_audit_dropped_total") == 2
    assert value(s, "zas_multipart_uploads_in_progress") == 3
    assert value(s, "zas_bucket_objects", bucket="builds") == 10
    assert value(s, "zas_bucket_stored_bytes", bucket="builds") == 4096
    assert value(s, "zas_bucket_objects", bucket="logs") == 0
    assert value(s, "zas_blob_store_free_bytes") == 100 * 2**30
    assert value(s, "zas_blob_store_total_bytes") == 400 * 2**30
    assert value(s, "zas_identity_provider_up") == 1
    assert value(s, "zas_database_memory_bytes", database="metadata") == 5 * 2**20
    assert value(s, "zas_database_memory_bytes", database="audit") == 2**20
    assert value(s, "zas_build_info", version="9.9.9") == 1


def test_given_failing_or_absent_callbacks_then_the_scrape_still_succeeds() -> None:
    def broken() -> int:
        raise OSError("disk gone")

    m = ZasMetrics(audit_pending=broken, identity_provider_up=lambda: None)
    for _ in range(2):
        s = scrape(m)
    names = {name for name, _ in s}
    assert "zas_audit_queue_length" not in names
    assert "zas_identity_provider_up" not in names  # None: no IdP configured
    assert "zas_bucket_objects" not in names  # no callback given
    assert value(s, "zas_metrics_callback_errors_total", callback="audit_pending") == 2
    assert "process_cpu_seconds_total" in names


def test_metric_names_follow_prometheus_conventions() -> None:
    m = full_metrics()
    m.request_started()
    m.request_finished("GetObject", 200, 0.01, 0, 0)
    m.batch_committed(0.01, 1)
    body, content_type = m.render()
    assert content_type.startswith("text/plain; version=0.0.4")
    families = list(text_string_to_metric_families(body.decode()))
    assert families
    for family in families:
        assert family.name.startswith(("zas_", "process_", "python_")), family.name
        assert family.documentation, family.name
        for sample in family.samples:
            assert not {"key", "user", "principal", "access_key"} & set(sample.labels)
            if family.type == "counter":
                assert sample.name.endswith("_total"), sample.name
            else:
                assert not sample.name.endswith("_total"), sample.name
        if family.name.startswith("zas_"):
            stem = family.name
            if "seconds" in stem or "duration" in stem:
                assert stem.endswith("_seconds"), stem
            if "bytes" in stem:
                assert stem.endswith("_bytes"), stem
            assert not stem.endswith(("_ms", "_milliseconds", "_kb", "_mb")), stem


def test_metrics_table_matches_what_is_rendered() -> None:
    m = full_metrics()
    m.request_started()
    m.request_finished("GetObject", 200, 0.01, 0, 0)
    body, _ = m.render()
    rendered = {}
    for family in text_string_to_metric_families(body.decode()):
        if family.name.startswith("zas_"):
            name = family.name + "_total" if family.type == "counter" else family.name
            rendered[name] = family.type
    assert rendered == dict(METRICS)
    assert "zas_http_request_duration_seconds_bucket" in promql_names()
    assert "zas_http_requests_total" in promql_names()


def test_given_an_openmetrics_accept_header_then_openmetrics_is_served() -> None:
    m = full_metrics()
    body, content_type = m.render("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    names = {f.name for f in openmetrics_families(body.decode())}  # type: ignore[no-untyped-call]
    assert "zas_http_received_bytes" in names


def test_promtool_accepts_the_exposition() -> None:
    tool = promtool()
    m = full_metrics()
    m.request_started()
    m.request_finished("GetObject", 200, 0.01, 0, 0)
    body, _ = m.render()
    result = subprocess.run(
        [tool, "check", "metrics"], input=body, capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert result.stdout.decode().strip() == "", result.stdout.decode()  # no lint warnings


def test_per_request_cost_is_printed() -> None:
    """Not a timing assertion (see bench/): prints the figure the design budget is checked with."""
    m = ZasMetrics()
    rounds = 20_000
    start = time.perf_counter()
    for _ in range(rounds):
        m.request_started()
        m.authentication("sigv4", "success")
        m.authorization("allow")
        m.object_downloaded(4096)
        m.request_finished("GetObject", 200, 0.002, 0, 4096)
    per_request = (time.perf_counter() - start) / rounds * 1e6
    print(f"metrics per small GET: {per_request:.2f} us")
    assert value(scrape(m), "zas_http_requests_total", operation="GetObject", status_class="2xx")
