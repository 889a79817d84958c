"""S3 bucket handlers: list, create, head, locate, delete, list objects, versioning."""

from __future__ import annotations

from zas.api.asgi import BodyTooLarge, Response
from zas.api.context import XML, S3Call, S3Context
from zas.protocol.errors import MalformedXML
from zas.protocol.operations import (
    CreateBucket,
    DeleteBucket,
    GetBucketLocation,
    GetBucketVersioning,
    HeadBucket,
    ListBuckets,
    ListObjects,
    encode_continuation_token,
)
from zas.protocol.xml import (
    BucketSummary,
    parse_create_bucket_configuration,
    render_list_buckets,
    render_list_objects,
    render_location,
    render_versioning_configuration,
)

_MAX_CREATE_BUCKET_BODY = 64 * 1024


async def list_buckets(ctx: S3Context, op: ListBuckets, call: S3Call) -> Response:
    buckets = [BucketSummary(b.name, b.created) for b in ctx.objects.list_buckets()]
    return Response(200, [XML], render_list_buckets(ctx.owner, buckets))


async def create_bucket(ctx: S3Context, op: CreateBucket, call: S3Call) -> Response:
    try:
        config = await call.body.read(_MAX_CREATE_BUCKET_BODY)
    except BodyTooLarge:
        raise MalformedXML("The CreateBucketConfiguration body is too large.") from None
    parse_create_bucket_configuration(config)
    await ctx.objects.create_bucket(op.bucket, ctx.clock())
    return Response(200, [("Location", f"/{op.bucket}")])


async def head_bucket(ctx: S3Context, op: HeadBucket, call: S3Call) -> Response:
    bucket = ctx.objects.head_bucket(op.bucket)
    return Response(200, [("x-amz-bucket-region", bucket.region)])


async def get_bucket_location(ctx: S3Context, op: GetBucketLocation, call: S3Call) -> Response:
    bucket = ctx.objects.head_bucket(op.bucket)
    return Response(200, [XML], render_location(bucket.region))


async def get_bucket_versioning(ctx: S3Context, op: GetBucketVersioning, call: S3Call) -> Response:
    ctx.objects.head_bucket(op.bucket)
    return Response(200, [XML], render_versioning_configuration())


async def delete_bucket(ctx: S3Context, op: DeleteBucket, call: S3Call) -> Response:
    await ctx.objects.delete_bucket(op.bucket, force=op.force)
    return Response(204)


async def list_objects(ctx: S3Context, op: ListObjects, call: S3Call) -> Response:
    page = await ctx.objects.list_objects(op.bucket, op.params)
    next_token = None
    if op.version == 2 and page.is_truncated and page.next_after is not None:
        next_token = encode_continuation_token(page.next_after)
    body = render_list_objects(
        op.bucket, op.params, page, version=op.version, owner=ctx.owner, next_token=next_token
    )
    return Response(200, [XML], body)
