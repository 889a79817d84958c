"""Structured logs: the JSON line's fields, the access line, and that no credential gets out."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from zas.observability import logs
from zas.observability.logs import AccessLogger, configure_logging, redact, register_secret

SIGV4_SIGNATURE = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEBYaDHqa0AP1Bk7SESSIONTOKEN"
JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsImF1ZCI6InphcyJ9.c2lnbmF0dXJlLXBhcnQ"
PRESIGNED_SIGNATURE = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
MASTER_KEY = "zas-master-key-0123456789abcdef"
SECRETS = (SIGV4_SIGNATURE, SECRET_KEY, SESSION_TOKEN, JWT, PRESIGNED_SIGNATURE, MASTER_KEY)
AUTHORIZATION = (
    f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20130524/us-east-1/s3/aws4_request, "
    f"SignedHeaders=host;range;x-amz-date, Signature={SIGV4_SIGNATURE}"
)
PRESIGNED_PATH = (
    "/bucket/key.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    f"&X-Amz-Credential={ACCESS_KEY}%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
    f"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
    f"&X-Amz-Security-Token={SESSION_TOKEN}&X-Amz-Signature={PRESIGNED_SIGNATURE}"
)


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """configure_logging into a buffer; the root logger is restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("DEBUG", "json", stream=stream)
    yield stream
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    logs._known_secrets.discard(MASTER_KEY)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def access_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "request_id": "4442587FB7D0A2F9",
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
        "principal": "alice",
        "operation": "GetObject",
        "bucket": "builds",
        "key": "app/1.0/app.tar.gz",
        "status": 200,
        "bytes_in": 0,
        "bytes_out": 4096,
        "duration_ms": 1.23456,
        "error_code": None,
        "method": "GET",
        "path": "/builds/app/1.0/app.tar.gz",
        "source_ip": "127.0.0.1",
        "user_agent": "Boto3/1.35.0",
    }
    fields.update(overrides)
    return fields


def test_given_a_record_with_extra_fields_then_one_json_line_carries_them(
    output: io.StringIO,
) -> None:
    logging.getLogger("zas.test").warning("started %s", "serving", extra={"port": 9000})
    [line] = lines(output)
    assert line["level"] == "WARNING"
    assert line["logger"] == "zas.test"
    assert line["message"] == "started serving"
    assert line["port"] == 9000
    assert line["time"].endswith("Z") and "T" in line["time"]


def test_access_line_has_every_field(output: io.StringIO) -> None:
    AccessLogger().request(**access_fields())
    [line] = lines(output)
    assert line["logger"] == "zas.access"
    assert line["message"] == "request"
    expected = access_fields(duration_ms=1.235)
    assert {key: line[key] for key in expected} == expected


def test_given_access_logging_disabled_then_nothing_is_written(output: io.StringIO) -> None:
    logging.getLogger("zas.access").setLevel(logging.WARNING)
    try:
        AccessLogger().request(**access_fields())
    finally:
        logging.getLogger("zas.access").setLevel(logging.NOTSET)
    assert output.getvalue() == ""


def test_trace_id_is_added_from_the_tracer_when_the_record_has_none() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    handlers = list(root.handlers)
    configure_logging("INFO", "json", stream=stream, trace_id_source=lambda: "ab" * 16)
    try:
        logging.getLogger("zas.x").error("boom")
        AccessLogger().request(**access_fields())
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
    first, second = lines(stream)
    assert first["trace_id"] == "ab" * 16
    assert second["trace_id"] == "0af7651916cd43dd8448eb211c80319c"  # the record's own wins


def test_text_format_and_reconfiguration_replace_the_handler() -> None:
    root = logging.getLogger()
    handlers = list(root.handlers)
    first, second = io.StringIO(), io.StringIO()
    try:
        configure_logging("INFO", "json", stream=first)
        configure_logging("info", "text", stream=second)
        assert len(root.handlers) == len(handlers) + 1
        AccessLogger().request(**access_fields(status=404, error_code="NoSuchKey"))
        logging.getLogger("zas.x").debug("not shown at INFO")
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
    assert first.getvalue() == ""
    [line] = second.getvalue().splitlines()
    assert " INFO zas.access: request " in line
    assert "status=404" in line and "error_code=NoSuchKey" in line
    with pytest.raises(ValueError):
        configure_logging("LOUD", "json")


def test_no_credential_reaches_the_output_in_any_form(output: io.StringIO) -> None:
    """Feed every way a secret can reach a log; grep the output for each secret."""
    register_secret(MASTER_KEY)
    log = logging.getLogger("zas.s3")
    log.info("request headers: %s", {"authorization": AUTHORIZATION, "host": "localhost"})
    log.info("raw ASGI headers %r", [(b"authorization", AUTHORIZATION.encode())])
    log.info("Authorization: %s", AUTHORIZATION)
    log.warning("signature mismatch for %s", AUTHORIZATION)
    log.info("GET %s", PRESIGNED_PATH)
    log.info("bearer token rejected: Authorization: Bearer %s", JWT)
    log.info("token in a message %s here", JWT)
    log.info(
        "created key",
        extra={"credentials": {"AccessKeyId": ACCESS_KEY, "SecretAccessKey": SECRET_KEY}},
    )
    log.info("config: aws_secret_access_key=%s session_token=%s", SECRET_KEY, SESSION_TOKEN)
    log.info(
        'sts answer {"SessionToken": "%s", "SecretAccessKey": "%s"}', SESSION_TOKEN, SECRET_KEY
    )
    log.info("unsealed with %s", MASTER_KEY)
    try:
        raise ValueError(f"could not parse Authorization: {AUTHORIZATION} token={SESSION_TOKEN}")
    except ValueError:
        log.exception("handler failed")
    AccessLogger().request(**access_fields(path=PRESIGNED_PATH, user_agent=f"curl Bearer {JWT}"))

    text = output.getvalue()
    assert len(text.splitlines()) == 13
    for secret in SECRETS:
        assert secret not in text, secret
    assert "[REDACTED]" in text
    # Redaction keeps what operators need: the path, the access key id, the operation.
    assert "/bucket/key.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256" in text
    assert "GetObject" in text
    assert "handler failed" in text and "ValueError" in text


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("GET /builds/app.tar.gz 200", "GET /builds/app.tar.gz 200"),
        ("NoSuchKey: The specified key does not exist.", "NoSuchKey"),
        ("tokens issued: 3", "tokens issued: 3"),
    ],
)
def test_redaction_leaves_ordinary_text_alone(text: str, kept: str) -> None:
    assert kept in redact(text)


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: {AUTHORIZATION}",
        f"authorization={AUTHORIZATION}",
        f"X-Amz-Signature={PRESIGNED_SIGNATURE}",
        f"x-amz-security-token: {SESSION_TOKEN}",
        f"Bearer {JWT}",
        JWT,
        f"password={SECRET_KEY}",
        f"client_secret: {SECRET_KEY}",
        f"'SecretAccessKey': '{SECRET_KEY}'",
    ],
)
def test_redact_removes_each_secret_form(text: str) -> None:
    redacted = redact(text)
    for secret in SECRETS:
        assert secret not in redacted
    assert "[REDACTED]" in redacted
