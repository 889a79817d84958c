"""S3 bucket handlers: list, create, head, locate, delete, list objects, versioning, policy."""

from __future__ import annotations

from zas.api.asgi import BodyTooLarge, Response
from zas.api.context import XML, S3Call, S3Context
from zas.protocol.errors import MalformedPolicy, MalformedXML, NoSuchBucketPolicy
from zas.protocol.operations import (
    CreateBucket,
    DeleteBucket,
    DeleteBucketPolicy,
    GetBucketLocation,
    GetBucketPolicy,
    GetBucketVersioning,
    HeadBucket,
    ListBuckets,
    ListObjects,
    PutBucketPolicy,
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
# S3's limit on a bucket policy document.
MAX_BUCKET_POLICY_BYTES = 20 * 1024


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
    await ctx.iam.forget_bucket(op.bucket)
    return Response(204)


async def get_bucket_policy(ctx: S3Context, op: GetBucketPolicy, call: S3Call) -> Response:
    ctx.objects.meta.require_bucket(op.bucket)
    document = ctx.iam.bucket_policy_document(op.bucket)
    if document is None:
        raise NoSuchBucketPolicy(resource=f"/{op.bucket}", BucketName=op.bucket)
    return Response(200, [("Content-Type", "application/json")], document.encode())


async def put_bucket_policy(ctx: S3Context, op: PutBucketPolicy, call: S3Call) -> Response:
    ctx.objects.meta.require_bucket(op.bucket)
    try:
        data = await call.body.read(MAX_BUCKET_POLICY_BYTES)
    except BodyTooLarge:
        raise MalformedPolicy(f"Policies are limited to {MAX_BUCKET_POLICY_BYTES} bytes") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedPolicy("The policy is not UTF-8 text") from None
    await ctx.iam.put_bucket_policy(op.bucket, text)
    return Response(204)


async def delete_bucket_policy(ctx: S3Context, op: DeleteBucketPolicy, call: S3Call) -> Response:
    await ctx.iam.delete_bucket_policy(op.bucket)
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
