"""S3 multipart upload handlers."""

from __future__ import annotations

from zas.api.asgi import Response
from zas.api.context import XML, S3Call, S3Context
from zas.api.payload import payload_of, read_xml_body
from zas.objects.ingest import Expected
from zas.objects.multipart import MAX_PART_SIZE
from zas.protocol.operations import (
    AbortMultipartUpload,
    CompleteMultipartUpload,
    CreateMultipartUpload,
    ListMultipartUploads,
    ListParts,
    UploadPart,
    UploadPartCopy,
)
from zas.protocol.xml import (
    PartSummary,
    render_complete_multipart_upload,
    render_copy_part_result,
    render_initiate_multipart_upload,
    render_list_multipart_uploads,
    render_list_parts,
)
from zas.protocol.xml_requests import (
    MAX_COMPLETE_MULTIPART_BODY,
    parse_complete_multipart_upload,
)


async def create_multipart_upload(
    ctx: S3Context, op: CreateMultipartUpload, call: S3Call
) -> Response:
    upload = await ctx.uploads.create(
        op.bucket,
        op.key,
        metadata=op.metadata,
        tags=op.tagging,
        checksum_algorithm=op.checksum_algorithm,
        checksum_type=op.checksum_type,
    )
    headers = [XML]
    if upload.checksum_algorithm:
        headers.append(("x-amz-checksum-algorithm", upload.checksum_algorithm.upper()))
    if upload.checksum_type:
        headers.append(("x-amz-checksum-type", upload.checksum_type))
    return Response(
        200, headers, render_initiate_multipart_upload(op.bucket, op.key, upload.upload_id)
    )


async def upload_part(ctx: S3Context, op: UploadPart, call: S3Call) -> Response:
    upload = await ctx.uploads.require(op.bucket, op.key, op.upload_id)  # before the body
    body, expected = payload_of(op, call.request, call.body, call.signature, max_size=MAX_PART_SIZE)
    part = await ctx.uploads.upload_part(upload, op.part_number, body, expected)
    headers = [("ETag", part.quoted_etag)]
    headers.extend((checksum.header, checksum.base64) for checksum in expected.checksums)
    return Response(200, headers)


async def upload_part_copy(ctx: S3Context, op: UploadPartCopy, call: S3Call) -> Response:
    upload = await ctx.uploads.require(op.bucket, op.key, op.upload_id)
    part = await ctx.uploads.upload_part_copy(
        upload,
        op.part_number,
        op.source,
        source_range=op.source_range,
        source_preconditions=op.source_preconditions,
    )
    checksums = []
    if upload.checksum_algorithm and part.checksum:
        checksums.append((upload.checksum_algorithm, part.checksum))
    return Response(
        200, [XML], render_copy_part_result(part.quoted_etag, part.last_modified, checksums)
    )


async def complete_multipart_upload(
    ctx: S3Context, op: CompleteMultipartUpload, call: S3Call
) -> Response:
    upload = await ctx.uploads.require(op.bucket, op.key, op.upload_id)  # before the body
    data = await read_xml_body(call.body, Expected(), MAX_COMPLETE_MULTIPART_BODY)
    parts = parse_complete_multipart_upload(data)
    record = await ctx.uploads.complete(upload, parts, preconditions=op.preconditions)
    checksums = []
    checksum_type = None
    if record.checksum is not None:
        checksums.append((record.checksum.algorithm, record.checksum.value))
        checksum_type = record.checksum.type
    return Response(
        200,
        [XML],
        render_complete_multipart_upload(
            f"/{op.bucket}/{op.key}",
            op.bucket,
            op.key,
            record.quoted_etag,
            checksums,
            checksum_type,
        ),
    )


async def abort_multipart_upload(
    ctx: S3Context, op: AbortMultipartUpload, call: S3Call
) -> Response:
    await ctx.uploads.abort(op.bucket, op.key, op.upload_id)
    return Response(204)


async def list_parts(ctx: S3Context, op: ListParts, call: S3Call) -> Response:
    upload = await ctx.uploads.require(op.bucket, op.key, op.upload_id)
    parts = await ctx.objects.meta.list_parts(
        op.upload_id, after=op.part_number_marker, limit=op.max_parts + 1
    )
    truncated = len(parts) > op.max_parts
    parts = parts[: op.max_parts]
    summaries = [
        PartSummary(
            part.part_number,
            part.last_modified,
            part.quoted_etag,
            part.size,
            ((upload.checksum_algorithm, part.checksum),)
            if upload.checksum_algorithm and part.checksum
            else (),
        )
        for part in parts
    ]
    return Response(
        200,
        [XML],
        render_list_parts(
            op.bucket,
            op.key,
            op.upload_id,
            summaries,
            part_number_marker=op.part_number_marker,
            max_parts=op.max_parts,
            is_truncated=truncated,
            owner=ctx.owner,
            checksum_algorithm=upload.checksum_algorithm,
            checksum_type=upload.checksum_type,
        ),
    )


async def list_multipart_uploads(
    ctx: S3Context, op: ListMultipartUploads, call: S3Call
) -> Response:
    page = await ctx.uploads.list_uploads(
        op.bucket,
        prefix=op.prefix,
        delimiter=op.delimiter,
        max_uploads=op.max_uploads,
        key_marker=op.key_marker,
        upload_id_marker=op.upload_id_marker,
    )
    return Response(200, [XML], render_list_multipart_uploads(op, page, owner=ctx.owner))
