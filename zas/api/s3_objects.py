"""S3 object handlers: Put/Get/Head/Delete/Copy, DeleteObjects and object tagging."""

from __future__ import annotations

from zas.api.asgi import Response
from zas.api.context import XML, S3Call, S3Context, b64
from zas.api.payload import payload_of, read_xml_body
from zas.meta.records import ObjectRecord
from zas.objects.ingest import Expected
from zas.objects.service import MAX_PUT_SIZE
from zas.protocol.conditions import check_read
from zas.protocol.errors import AccessDenied, InvalidArgument, InvalidPartNumber, S3Error
from zas.protocol.http import format_http_date
from zas.protocol.names import MAX_KEY_BYTES
from zas.protocol.operations import (
    CopyObject,
    DeleteObject,
    DeleteObjects,
    DeleteObjectTagging,
    GetObject,
    GetObjectTagging,
    PutObject,
    PutObjectTagging,
)
from zas.protocol.ranges import ByteRange, resolve_range
from zas.protocol.xml import (
    DeleteOutcome,
    render_copy_object_result,
    render_delete_result,
    render_tagging,
)
from zas.protocol.xml_requests import (
    MAX_DELETE_BODY,
    MAX_TAGGING_BODY,
    parse_delete,
    parse_tagging,
)


async def put_object(ctx: S3Context, op: PutObject, call: S3Call) -> Response:
    body, expected = payload_of(op, call.request, call.body, call.signature, max_size=MAX_PUT_SIZE)
    record = await ctx.objects.put_object(
        op.bucket,
        op.key,
        body,
        expected,
        metadata=op.metadata,
        preconditions=op.preconditions,
        tags=op.tagging,
    )
    headers = [("ETag", record.quoted_etag)]
    # Echo the verified checksum the client declared (header or trailer), as S3 does.
    headers.extend((checksum.header, checksum.base64) for checksum in expected.checksums)
    return Response(200, headers)


async def get_object(ctx: S3Context, op: GetObject, call: S3Call) -> Response:
    record = await ctx.objects.head_object(op.bucket, op.key)
    check_read(op.preconditions, record.quoted_etag, record.last_modified, safe=True)
    headers = [
        ("ETag", record.quoted_etag),
        ("Last-Modified", format_http_date(record.last_modified)),
        ("Accept-Ranges", "bytes"),
        *record.metadata.headers(),
    ]
    if record.tags:
        headers.append(("x-amz-tagging-count", str(len(record.tags))))
    if op.response_overrides:
        overridden = {name.lower() for name, _ in op.response_overrides}
        headers = [h for h in headers if h[0].lower() not in overridden]
        headers.extend(op.response_overrides)
    byte_range = _part_range(record, op.part_number, headers)
    if byte_range is None and op.range is not None:
        byte_range = resolve_range(op.range, record.size)
    # A checksum describes the whole object: sent with a range it would make SDKs that
    # validate it fail, so S3 (and ZAS) sends it only for full reads.
    if op.checksum_mode and byte_range is None:
        headers.extend(checksum_headers(record))
    status, length = 200, record.size
    if byte_range is not None:
        status, length = 206, byte_range.length
        headers.append(("Content-Range", byte_range.content_range()))
    if op.head:
        return Response(status, headers, length=length)
    return Response(
        status, headers, stream=ctx.objects.read_object(record, byte_range), length=length
    )


def _part_range(
    record: ObjectRecord, part_number: int | None, headers: list[tuple[str, str]]
) -> ByteRange | None:
    """?partNumber=N: the bytes of part N (S3 answers 206 for it, even for part 1 of 1)."""
    if part_number is None:
        return None
    blobs = record.blobs
    if part_number > len(blobs):
        raise InvalidPartNumber()
    start = sum(blob.size for blob in blobs[: part_number - 1])
    size = blobs[part_number - 1].size
    headers.append(("x-amz-mp-parts-count", str(len(blobs))))
    if size == 0:
        return None
    return ByteRange(start, start + size - 1, record.size)


def checksum_headers(record: ObjectRecord) -> list[tuple[str, str]]:
    """The stored flexible checksum, else the whole-object SHA-256 once known (for a
    multipart object, after the post-completion pass)."""
    if record.checksum is not None:
        return [
            (f"x-amz-checksum-{record.checksum.algorithm}", record.checksum.value),
            ("x-amz-checksum-type", record.checksum.type),
        ]
    if record.sha256 is not None:
        return [
            ("x-amz-checksum-sha256", b64(record.sha256)),
            ("x-amz-checksum-type", "FULL_OBJECT"),
        ]
    return []


async def delete_object(ctx: S3Context, op: DeleteObject, call: S3Call) -> Response:
    await ctx.objects.delete_object(op.bucket, op.key)
    return Response(204)


async def copy_object(ctx: S3Context, op: CopyObject, call: S3Call) -> Response:
    record = await ctx.objects.copy_object(
        op.source,
        op.bucket,
        op.key,
        source_preconditions=op.source_preconditions,
        preconditions=op.preconditions,
        metadata=op.metadata if op.metadata_directive == "REPLACE" else None,
        tags=op.tagging if op.tagging_directive == "REPLACE" else None,
    )
    checksums = []
    if record.checksum is not None:
        checksums.append((record.checksum.algorithm, record.checksum.value))
    return Response(
        200, [XML], render_copy_object_result(record.quoted_etag, record.last_modified, checksums)
    )


async def delete_objects(ctx: S3Context, op: DeleteObjects, call: S3Call) -> Response:
    ctx.objects.meta.require_bucket(op.bucket)
    data = await read_xml_body(
        call.body,
        Expected(content_md5=op.content_md5, checksums=list(op.checksums)),
        MAX_DELETE_BODY,
    )
    request = parse_delete(data)
    # A key that cannot exist is a per-key error, not a failed request; the rest are deleted.
    # So is a key the caller may not delete (S3 decides s3:DeleteObject key by key).
    invalid: dict[int, S3Error] = {}
    for index, item in enumerate(request.objects):
        if not item.key or len(item.key.encode()) > MAX_KEY_BYTES:
            invalid[index] = InvalidArgument("Invalid key")
        elif not call.may("s3:DeleteObject", op.bucket, item.key):
            invalid[index] = AccessDenied()
    valid = [item for index, item in enumerate(request.objects) if index not in invalid]
    results = iter(await ctx.objects.delete_objects(op.bucket, [item.key for item in valid]))
    outcomes = []
    for index, item in enumerate(request.objects):  # in request order
        error = invalid[index] if index in invalid else next(results).error
        if error is None:
            outcomes.append(DeleteOutcome(item.key, item.version_id))
        else:
            outcomes.append(DeleteOutcome.failed(item.key, error, item.version_id))
    return Response(200, [XML], render_delete_result(outcomes, quiet=request.quiet))


async def put_object_tagging(ctx: S3Context, op: PutObjectTagging, call: S3Call) -> Response:
    await ctx.objects.head_object(op.bucket, op.key)  # NoSuchKey before reading the body
    data = await read_xml_body(
        call.body,
        Expected(content_md5=op.content_md5, checksums=list(op.checksums)),
        MAX_TAGGING_BODY,
    )
    await ctx.objects.set_tags(op.bucket, op.key, parse_tagging(data))
    return Response(200)


async def get_object_tagging(ctx: S3Context, op: GetObjectTagging, call: S3Call) -> Response:
    return Response(200, [XML], render_tagging(await ctx.objects.get_tags(op.bucket, op.key)))


async def delete_object_tagging(ctx: S3Context, op: DeleteObjectTagging, call: S3Call) -> Response:
    await ctx.objects.set_tags(op.bucket, op.key, ())
    return Response(204)
