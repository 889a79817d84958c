"""What every S3 handler receives: the services (context) and the request (call)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime

import attrs

from zas.api.asgi import RequestBody
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


@attrs.frozen
class S3Call:
    request: HttpRequest
    body: RequestBody
    signature: VerifiedSignature


def b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")
