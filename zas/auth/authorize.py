"""What each request asks permission for, and the decision.

`permissions_for(op)` maps an S3 operation to IAM actions and resource ARNs, as AWS documents
them (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html):
HEAD is GetObject, HeadBucket is ListBucket, multipart parts are PutObject, a copy needs
GetObject on the source and PutObject on the destination. DeleteObjects is decided per key
by its handler, as S3 does (each refused key is an AccessDenied entry in the result).

`Authorizer.decide` adds the request's condition keys (time, source IP, transport, the
identity's own keys) and asks the policy engine. The root account is always allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs

from zas.auth.authenticate import Identity
from zas.auth.iam import IamDirectory
from zas.auth.policy import AuthzRequest, Decision, authorize
from zas.protocol import operations as ops

S3_ARN = "arn:aws:s3:::"


def bucket_arn(bucket: str) -> str:
    return f"{S3_ARN}{bucket}"


def object_arn(bucket: str, key: str) -> str:
    return f"{S3_ARN}{bucket}/{key}"


@attrs.frozen
class Permission:
    action: str
    resource: str
    bucket: str | None = None
    key: str | None = None
    context: tuple[tuple[str, str], ...] = ()


def _on_bucket(action: str, bucket: str, **context: str) -> Permission:
    return Permission(action, bucket_arn(bucket), bucket, None, tuple(context.items()))


def _on_object(action: str, bucket: str, key: str) -> Permission:
    return Permission(action, object_arn(bucket, key), bucket, key)


def permissions_for(op: ops.Operation) -> tuple[Permission, ...]:
    match op:
        case ops.ListBuckets():
            return (Permission("s3:ListAllMyBuckets", f"{S3_ARN}*"),)
        case ops.CreateBucket(bucket=b):
            return (_on_bucket("s3:CreateBucket", b),)
        case ops.DeleteBucket(bucket=b):
            return (_on_bucket("s3:DeleteBucket", b),)
        case ops.HeadBucket(bucket=b):
            return (_on_bucket("s3:ListBucket", b),)
        case ops.GetBucketLocation(bucket=b):
            return (_on_bucket("s3:GetBucketLocation", b),)
        case ops.GetBucketVersioning(bucket=b):
            return (_on_bucket("s3:GetBucketVersioning", b),)
        case ops.GetBucketPolicy(bucket=b):
            return (_on_bucket("s3:GetBucketPolicy", b),)
        case ops.PutBucketPolicy(bucket=b):
            return (_on_bucket("s3:PutBucketPolicy", b),)
        case ops.DeleteBucketPolicy(bucket=b):
            return (_on_bucket("s3:DeleteBucketPolicy", b),)
        case ops.ListObjects(bucket=b, params=params):
            # s3:prefix, s3:delimiter and s3:max-keys are condition keys of ListBucket.
            context = {"s3:prefix": params.prefix, "s3:max-keys": str(params.max_keys)}
            if params.delimiter:
                context["s3:delimiter"] = params.delimiter
            return (_on_bucket("s3:ListBucket", b, **context),)
        case ops.ListMultipartUploads(bucket=b):
            return (_on_bucket("s3:ListBucketMultipartUploads", b),)
        case ops.DeleteObjects():
            return ()  # per key, in the handler
        case ops.GetObject(bucket=b, key=k):
            return (_on_object("s3:GetObject", b, k),)
        case (
            ops.PutObject(bucket=b, key=k)
            | ops.CreateMultipartUpload(bucket=b, key=k)
            | ops.UploadPart(bucket=b, key=k)
            | ops.CompleteMultipartUpload(bucket=b, key=k)
        ):
            return (_on_object("s3:PutObject", b, k),)
        case (
            ops.CopyObject(bucket=b, key=k, source=source)
            | ops.UploadPartCopy(bucket=b, key=k, source=source)
        ):
            return (
                _on_object("s3:GetObject", source.bucket, source.key),
                _on_object("s3:PutObject", b, k),
            )
        case ops.DeleteObject(bucket=b, key=k):
            return (_on_object("s3:DeleteObject", b, k),)
        case ops.PutObjectTagging(bucket=b, key=k):
            return (_on_object("s3:PutObjectTagging", b, k),)
        case ops.GetObjectTagging(bucket=b, key=k):
            return (_on_object("s3:GetObjectTagging", b, k),)
        case ops.DeleteObjectTagging(bucket=b, key=k):
            return (_on_object("s3:DeleteObjectTagging", b, k),)
        case ops.AbortMultipartUpload(bucket=b, key=k):
            return (_on_object("s3:AbortMultipartUpload", b, k),)
        case ops.ListParts(bucket=b, key=k):
            return (_on_object("s3:ListMultipartUploadParts", b, k),)
    raise AssertionError(f"no permission mapping for {type(op).__name__}")


@attrs.define
class RequestFacts:
    """What the request itself contributes to conditions, turned into condition keys only
    when a decision needs them (never for root) and then once per request."""

    now: datetime
    source_ip: str | None
    secure_transport: bool
    user_agent: str | None = None
    # Condition keys given as they are (the dry run's "context"), over the derived ones.
    extra: Mapping[str, str] = attrs.field(factory=dict)
    _context: dict[str, str] | None = attrs.field(default=None, init=False, repr=False)

    def context(self) -> dict[str, str]:
        if self._context is None:
            self._context = self._derive() | dict(self.extra)
        return self._context

    def _derive(self) -> dict[str, str]:
        facts = {
            "aws:currenttime": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "aws:epochtime": str(int(self.now.timestamp())),
            "aws:securetransport": "true" if self.secure_transport else "false",
        }
        if self.source_ip:
            facts["aws:sourceip"] = self.source_ip
        if self.user_agent:
            facts["aws:useragent"] = self.user_agent
        return facts


ROOT_DECISION = Decision(
    effect="Allow", explicit=True, statement=None, reason="the root account may do anything"
)


class Authorizer:
    def __init__(self, iam: IamDirectory) -> None:
        self.iam = iam

    def decide(
        self,
        identity: Identity,
        permission: Permission,
        facts: RequestFacts,
    ) -> Decision:
        if identity.is_root:
            return ROOT_DECISION
        context = {**facts.context(), **identity.context, **dict(permission.context)}
        request = AuthzRequest(
            action=permission.action,
            resource=permission.resource,
            principals=identity.arns,
            anonymous=identity.anonymous,
            context=context,
        )
        bucket_policy = self.iam.bucket_policy(permission.bucket) if permission.bucket else None
        return authorize(request, identity.policies, bucket_policy)
