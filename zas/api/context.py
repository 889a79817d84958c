"""What every S3 handler receives: the services (context) and the request (call)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime

import attrs

from zas.api.asgi import RequestBody
from zas.auth.iam import IamDirectory
from zas.objects.multipart import MultipartUploads
from zas.objects.service import ObjectService
from zas.protocol.http import HttpRequest
from zas.protocol.sigv4 import VerifiedSignature
from zas.protocol.xml import Owner

XML = ("Content-Type", "application/xml")


@attrs.frozen
class S3Context:
    objects: ObjectService
    uploads: MultipartUploads
    owner: Owner
    clock: Callable[[], datetime]
    iam: IamDirectory


@attrs.frozen
class S3Call:
    request: HttpRequest
    body: RequestBody
    signature: VerifiedSignature | None  # None: an unsigned (anonymous or bearer) request
    # For operations decided per key (DeleteObjects): may the caller do `action` on the key?
    may: Callable[[str, str, str], bool]


def b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")
