"""Requests exactly as botocore serializes them, captured before they are sent (no network).

Routing and body-parsing tests feed these to `route` and the XML parsers, so what is tested is
what boto3 (and the AWS CLI, which is botocore) really sends, not our reading of the docs.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import urlsplit

from zas.protocol.http import HttpRequest

ENDPOINT = "http://zas.test:9000"


class _Captured(Exception):
    def __init__(self, request: Any) -> None:
        self.request = request


def _capture(request: Any, **_: Any) -> None:
    raise _Captured(request)


@cache
def _client(addressing: str, checksums: str) -> Any:
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    client = boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": addressing},
            request_checksum_calculation=checksums,
            retries={"max_attempts": 1},
        ),
    )
    client.meta.events.register("before-send", _capture)
    return client


def botocore_request(
    operation: str,
    *,
    addressing: str = "path",
    checksums: str = "when_supported",
    **params: Any,
) -> tuple[HttpRequest, bytes]:
    """The request (as the ASGI adapter would build it) and body of one client call."""
    try:
        getattr(_client(addressing, checksums), operation)(**params)
    except _Captured as captured:
        request = captured.request
    else:  # pragma: no cover - the hook always raises
        raise AssertionError("botocore sent nothing")
    url = urlsplit(request.url)
    headers = [
        (name, value.decode("latin-1") if isinstance(value, bytes) else str(value))
        for name, value in request.headers.items()
    ]
    if not any(name.lower() == "host" for name, _ in headers):
        headers.append(("host", url.netloc))
    body = request.body
    if body is None:
        data = b""
    elif isinstance(body, bytes):
        data = body
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = body.read()
    return HttpRequest.from_wire(request.method, url.path, url.query, headers), data
