"""Authentication of S3 requests: SigV4 (header or presigned) against the key ring.

Anonymous requests are refused with AccessDenied until the RBAC work adds policies that can
grant them (bucket policies with "Principal": "*").
"""

from __future__ import annotations

from datetime import datetime

import attrs

from zas.auth.credentials import KeyRing
from zas.protocol import sigv4
from zas.protocol.errors import AccessDenied, InvalidRequest
from zas.protocol.http import HttpRequest


@attrs.frozen
class Identity:
    principal: str
    access_key_id: str
    signature: sigv4.VerifiedSignature


def authenticate(request: HttpRequest, keys: KeyRing, now: datetime) -> Identity:
    if not sigv4.is_signed(request):
        if request.has_query("AWSAccessKeyId") and request.has_query("Signature"):
            # boto3's generate_presigned_url still defaults to SigV2 for custom endpoints.
            raise InvalidRequest(
                "Signature Version 2 presigned URLs are not supported; sign with SigV4 "
                "(boto3: Config(signature_version='s3v4'))."
            )
        raise AccessDenied("Anonymous access is not allowed.")
    verified = sigv4.verify(request, keys.secret_for, now)
    return Identity(keys.principal_for(verified.access_key), verified.access_key, verified)
