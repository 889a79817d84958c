"""The S3 API: parse (protocol), authenticate (auth), act (objects), render (protocol).

Each handler is a few lines because the work lives elsewhere: `route` has already turned the
request into a typed operation, `authenticate` has checked the signature, and the object
service does the storage. Errors anywhere become S3 XML with the right status; a traceback
never reaches the client (it is logged with the request id).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from zas.api import s3_buckets, s3_multipart, s3_objects
from zas.api.asgi import ClientDisconnected, Receive, RequestBody, Response, Scope, Send
from zas.api.context import XML, S3Call, S3Context
from zas.auth.authenticate import authenticate
from zas.auth.credentials import KeyRing
from zas.protocol.errors import InternalError, S3Error, ServiceUnavailable
from zas.protocol.http import HttpRequest
from zas.protocol.operations import (
    AbortMultipartUpload,
    CompleteMultipartUpload,
    CopyObject,
    CreateBucket,
    CreateMultipartUpload,
    DeleteBucket,
    DeleteObject,
    DeleteObjects,
    DeleteObjectTagging,
    GetBucketLocation,
    GetBucketVersioning,
    GetObject,
    GetObjectTagging,
    HeadBucket,
    ListBuckets,
    ListMultipartUploads,
    ListObjects,
    ListParts,
    PutObject,
    PutObjectTagging,
    UploadPart,
    UploadPartCopy,
    route,
)
from zas.protocol.xml import render_error

log = logging.getLogger("zas.s3")


def new_request_id() -> str:
    return secrets.token_hex(8).upper()


class S3Api:
    def __init__(
        self,
        context: S3Context,
        keys: KeyRing,
        *,
        is_draining: Callable[[], bool] = lambda: False,
        virtual_host_domain: str | None = None,
    ) -> None:
        self.context = context
        self.keys = keys
        self.is_draining = is_draining
        self.virtual_host_domain = virtual_host_domain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        request = HttpRequest.from_wire(
            scope["method"],
            scope.get("raw_path", b"").decode("latin-1") or scope["path"],
            scope.get("query_string", b"").decode("latin-1"),
            [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]],
        )
        body = RequestBody(receive)
        try:
            response = await self.handle(request, body)
        except S3Error as error:
            response = await self._error_response(error, request, body, request_id)
        except ClientDisconnected:
            log.info("request %s: client disconnected before the body was complete", request_id)
            return
        except Exception:
            log.exception("request %s failed", request_id)
            response = await self._error_response(InternalError(), request, body, request_id)
        response.headers.append(("x-amz-request-id", request_id))
        response.headers.append(("x-amz-id-2", request_id))
        await response.send(send, head=request.method == "HEAD")

    async def _error_response(
        self, error: S3Error, request: HttpRequest, body: RequestBody, request_id: str
    ) -> Response:
        # Read what is left of the body so the client can read our answer, but do not
        # swallow a multi-gigabyte upload: past the limit, answer and close the connection.
        drained = body.complete or await body.drain()
        headers = list(error.headers.items())
        if error.http_status == 304:
            return Response(304, headers)
        if request.method == "HEAD":
            # HEAD responses carry no body; S3 puts the code nowhere, but we add a header.
            return Response(error.http_status, [*headers, ("x-zas-error-code", error.code)])
        return Response(
            error.http_status,
            [*headers, XML],
            render_error(error, request_id, request.path),
            close_connection=not drained,
        )

    async def handle(self, request: HttpRequest, body: RequestBody) -> Response:
        if self.is_draining():
            raise ServiceUnavailable()
        identity = authenticate(request, self.keys, self.context.clock())
        op = route(request, virtual_host_domain=self.virtual_host_domain)
        handler = HANDLERS[type(op)]
        return await handler(self.context, op, S3Call(request, body, identity.signature))


Handler = Callable[[S3Context, Any, S3Call], Awaitable[Response]]

# One handler per S3 operation; `route` decides which.
HANDLERS: dict[type, Handler] = {
    ListBuckets: s3_buckets.list_buckets,
    CreateBucket: s3_buckets.create_bucket,
    HeadBucket: s3_buckets.head_bucket,
    GetBucketLocation: s3_buckets.get_bucket_location,
    GetBucketVersioning: s3_buckets.get_bucket_versioning,
    DeleteBucket: s3_buckets.delete_bucket,
    ListObjects: s3_buckets.list_objects,
    PutObject: s3_objects.put_object,
    GetObject: s3_objects.get_object,
    DeleteObject: s3_objects.delete_object,
    CopyObject: s3_objects.copy_object,
    DeleteObjects: s3_objects.delete_objects,
    PutObjectTagging: s3_objects.put_object_tagging,
    GetObjectTagging: s3_objects.get_object_tagging,
    DeleteObjectTagging: s3_objects.delete_object_tagging,
    CreateMultipartUpload: s3_multipart.create_multipart_upload,
    UploadPart: s3_multipart.upload_part,
    UploadPartCopy: s3_multipart.upload_part_copy,
    CompleteMultipartUpload: s3_multipart.complete_multipart_upload,
    AbortMultipartUpload: s3_multipart.abort_multipart_upload,
    ListParts: s3_multipart.list_parts,
    ListMultipartUploads: s3_multipart.list_multipart_uploads,
}
