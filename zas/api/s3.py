"""The S3 API: parse (protocol), authenticate (auth), act (objects), render (protocol).

Each handler is a few lines because the work lives elsewhere: `route` has already turned the
request into a typed operation, `authenticate` has checked the signature, and the object
service does the storage. Errors anywhere become S3 XML with the right status; a traceback
never reaches the client (it is logged with the request id).
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from zas.api.asgi import (
    BodyTooLarge,
    ClientDisconnected,
    Receive,
    RequestBody,
    Response,
    Scope,
    Send,
)
from zas.auth.authenticate import authenticate
from zas.auth.credentials import KeyRing
from zas.objects.service import MAX_PUT_SIZE, ObjectService
from zas.protocol import sigv4
from zas.protocol.conditions import check_read
from zas.protocol.errors import (
    EntityTooLarge,
    InternalError,
    MalformedXML,
    S3Error,
    ServiceUnavailable,
)
from zas.protocol.http import HttpRequest, format_http_date
from zas.protocol.operations import (
    CreateBucket,
    DeleteBucket,
    DeleteObject,
    GetBucketLocation,
    GetObject,
    HeadBucket,
    ListBuckets,
    ListObjects,
    Operation,
    PutObject,
    encode_continuation_token,
    route,
)
from zas.protocol.ranges import resolve_range
from zas.protocol.xml import (
    BucketSummary,
    Owner,
    parse_create_bucket_configuration,
    render_error,
    render_list_buckets,
    render_list_objects,
    render_location,
)

log = logging.getLogger("zas.s3")
_XML = ("Content-Type", "application/xml")
_MAX_CREATE_BUCKET_BODY = 64 * 1024


def new_request_id() -> str:
    return secrets.token_hex(8).upper()


class S3Api:
    def __init__(
        self,
        service: ObjectService,
        keys: KeyRing,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        is_draining: Callable[[], bool] = lambda: False,
    ) -> None:
        self.service = service
        self.keys = keys
        self.clock = clock
        self.is_draining = is_draining
        self.owner = Owner(service.owner, service.owner)

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
            [*headers, _XML],
            render_error(error, request_id, request.path),
            close_connection=not drained,
        )

    async def handle(self, request: HttpRequest, body: RequestBody) -> Response:
        if self.is_draining():
            raise ServiceUnavailable()
        identity = authenticate(request, self.keys, self.clock())
        sigv4.reject_streaming(identity.signature.payload)
        op = route(request)
        return await self._dispatch(op, request, body, identity.signature.payload)

    async def _dispatch(
        self, op: Operation, request: HttpRequest, body: RequestBody, payload: sigv4.PayloadHash
    ) -> Response:
        match op:
            case GetObject():
                return await self.get_object(op)
            case PutObject():
                return await self.put_object(op, body, payload)
            case ListObjects():
                return await self.list_objects(op)
            case DeleteObject():
                await self.service.delete_object(op.bucket, op.key)
                return Response(204)
            case HeadBucket():
                bucket = self.service.head_bucket(op.bucket)
                return Response(200, [("x-amz-bucket-region", bucket.region)])
            case ListBuckets():
                buckets = [BucketSummary(b.name, b.created) for b in self.service.list_buckets()]
                return Response(200, [_XML], render_list_buckets(self.owner, buckets))
            case CreateBucket():
                return await self.create_bucket(op, body)
            case DeleteBucket():
                await self.service.delete_bucket(op.bucket, force=op.force)
                return Response(204)
            case GetBucketLocation():
                bucket = self.service.head_bucket(op.bucket)
                return Response(200, [_XML], render_location(bucket.region))
        raise InternalError(f"no handler for {op!r}")  # pragma: no cover - exhaustive match

    async def create_bucket(self, op: CreateBucket, body: RequestBody) -> Response:
        try:
            config = await body.read(_MAX_CREATE_BUCKET_BODY)
        except BodyTooLarge:
            raise MalformedXML("The CreateBucketConfiguration body is too large.") from None
        parse_create_bucket_configuration(config)
        await self.service.create_bucket(op.bucket, self.clock())
        return Response(200, [("Location", f"/{op.bucket}")])

    async def put_object(
        self, op: PutObject, body: RequestBody, payload: sigv4.PayloadHash
    ) -> Response:
        if op.content_length is not None and op.content_length > MAX_PUT_SIZE:
            raise EntityTooLarge(
                ProposedSize=str(op.content_length), MaxSizeAllowed=str(MAX_PUT_SIZE)
            )
        # Without a Content-Length (chunked transfer), stop reading at the size limit.
        body.limit = MAX_PUT_SIZE
        try:
            record = await self.service.put_object(op, body.chunks(), payload)
        except BodyTooLarge:
            raise EntityTooLarge(MaxSizeAllowed=str(MAX_PUT_SIZE)) from None
        headers = [("ETag", record.quoted_etag)]
        # Echo the checksums the client declared (all verified by now), as S3 does.
        headers.extend((checksum.header, checksum.base64) for checksum in op.checksums)
        return Response(200, headers)

    async def get_object(self, op: GetObject) -> Response:
        record = await self.service.head_object(op.bucket, op.key)
        check_read(op.preconditions, record.quoted_etag, record.last_modified, safe=True)
        byte_range = resolve_range(op.range, record.size) if op.range is not None else None
        headers = [
            ("ETag", record.quoted_etag),
            ("Last-Modified", format_http_date(record.last_modified)),
            ("Accept-Ranges", "bytes"),
            *record.metadata.headers(),
        ]
        if op.response_overrides:
            overridden = {name.lower() for name, _ in op.response_overrides}
            headers = [h for h in headers if h[0].lower() not in overridden]
            headers.extend(op.response_overrides)
        # A checksum describes the whole object: sending it with a range would make SDKs that
        # validate it fail, so S3 (and we) send it only for full reads.
        if op.checksum_mode and byte_range is None:
            headers.append(("x-amz-checksum-sha256", _b64(record.sha256)))
            headers.append(("x-amz-checksum-type", "FULL_OBJECT"))
        status, length = 200, record.size
        if byte_range is not None:
            status, length = 206, byte_range.length
            headers.append(("Content-Range", byte_range.content_range()))
        if op.head:
            return Response(status, headers, length=length)
        return Response(
            status, headers, stream=self.service.read_object(record, byte_range), length=length
        )

    async def list_objects(self, op: ListObjects) -> Response:
        page = await self.service.list_objects(op.bucket, op.params)
        next_token = None
        if op.version == 2 and page.is_truncated and page.next_after is not None:
            next_token = encode_continuation_token(page.next_after)
        return Response(
            200,
            [_XML],
            render_list_objects(
                op.bucket,
                op.params,
                page,
                version=op.version,
                owner=self.owner,
                next_token=next_token,
            ),
        )


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")
