"""The S3 API: parse (protocol), authenticate (auth), act (objects), render (protocol).

Each handler is a few lines because the work lives elsewhere: `authenticate` has found who is
asking, `route` has turned the request into a typed operation, the authorizer has checked
every permission the operation needs against IAM and bucket policies, and the object service
does the storage. Every request, allowed, refused or failed, leaves one audit record.
Errors anywhere become S3 XML with the right status; a traceback
never reaches the client (it is logged with the request id).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from zas.api import s3_buckets, s3_multipart, s3_objects
from zas.api.asgi import (
    ClientDisconnected,
    Receive,
    RequestBody,
    Response,
    Scope,
    Send,
    request_from_scope,
)
from zas.api.context import XML, S3Call, S3Context
from zas.api.recorder import Recorder, RequestTrail, client_ip
from zas.api.sts import assume_role_with_web_identity, is_sts_request
from zas.auth.authenticate import Authenticator
from zas.auth.authorize import (
    Authorizer,
    Permission,
    RequestFacts,
    bucket_arn,
    object_arn,
    permissions_for,
)
from zas.auth.sts import render_sts_error
from zas.protocol.errors import AccessDenied, InternalError, S3Error
from zas.protocol.http import HttpRequest
from zas.protocol.operations import (
    AbortMultipartUpload,
    CompleteMultipartUpload,
    CopyObject,
    CreateBucket,
    CreateMultipartUpload,
    DeleteBucket,
    DeleteBucketPolicy,
    DeleteObject,
    DeleteObjects,
    DeleteObjectTagging,
    GetBucketLocation,
    GetBucketPolicy,
    GetBucketVersioning,
    GetObject,
    GetObjectTagging,
    HeadBucket,
    ListBuckets,
    ListMultipartUploads,
    ListObjects,
    ListParts,
    PutBucketPolicy,
    PutObject,
    PutObjectTagging,
    UploadPart,
    UploadPartCopy,
    route,
)
from zas.protocol.xml import render_error
from zas.supplychain.enforcement import VerificationFailed
from zas.supplychain.service import SupplyChain

log = logging.getLogger("zas.s3")


def new_request_id() -> str:
    return secrets.token_hex(8).upper()


class S3Api:
    def __init__(
        self,
        context: S3Context,
        authenticator: Authenticator,
        recorder: Recorder,
        supply_chain: SupplyChain,
        *,
        virtual_host_domain: str | None = None,
    ) -> None:
        self.context = context
        self.authenticator = authenticator
        self.authorizer = Authorizer(context.iam)
        self.recorder = recorder
        self.supply_chain = supply_chain
        self.tracing = recorder.tracing
        self.virtual_host_domain = virtual_host_domain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        trail = self.recorder.begin(new_request_id())
        request = request_from_scope(scope)
        body = RequestBody(receive)
        status, sent = 499, 0
        with self.tracing.request_span(
            request.method,
            "s3",
            scope["headers"],
            path=request.raw_path,
            client_address=client_ip(scope),
            user_agent=request.header("user-agent"),
        ) as span:
            try:
                response = await self._respond(request, body, scope, trail)
                if response is None:
                    return
                response.headers.append(("x-amz-request-id", trail.request_id))
                response.headers.append(("x-amz-id-2", trail.request_id))
                status = response.status
                span.set_status_code(status)
                permission = trail.permission
                span.set_operation(
                    trail.operation,
                    permission.bucket if permission else None,
                    permission.key if permission else None,
                )
                sent = await response.send(send, head=request.method == "HEAD")
            finally:
                self.recorder.finish(trail, scope, request, status, body.received, sent)

    async def _respond(
        self, request: HttpRequest, body: RequestBody, scope: Scope, trail: RequestTrail
    ) -> Response | None:
        """The response, or None when the client went away before its body was complete."""
        try:
            return await self.handle(request, body, scope, trail)
        except S3Error as error:
            trail.error_code = error.code
            return await self._error_response(error, request, body, trail)
        except ClientDisconnected:
            log.info(
                "request %s: client disconnected before the body was complete", trail.request_id
            )
            trail.error_code = "ClientDisconnected"
            return None
        except Exception:
            log.exception("request %s failed", trail.request_id)
            trail.error_code = "InternalError"
            return await self._error_response(InternalError(), request, body, trail)

    async def _error_response(
        self, error: S3Error, request: HttpRequest, body: RequestBody, trail: RequestTrail
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
        if trail.action == ACTION_STS:
            return Response(
                error.http_status,
                [("Content-Type", "text/xml")],
                render_sts_error(error, trail.request_id),
                close_connection=not drained,
            )
        return Response(
            error.http_status,
            [*headers, XML],
            render_error(error, trail.request_id, request.path),
            close_connection=not drained,
        )

    async def handle(
        self, request: HttpRequest, body: RequestBody, scope: Scope, trail: RequestTrail
    ) -> Response:
        now = self.context.clock()
        if is_sts_request(request):
            trail.action, trail.operation = ACTION_STS, "sts"
            response, web = await assume_role_with_web_identity(
                request, body, self.authenticator, now, trail.request_id
            )
            if web is not None:
                trail.principal, trail.method = f"oidc:{web.username}", "bearer"
            trail.decision = "allow"
            return response
        with self.tracing.span("authenticate"):
            try:
                identity = await self.authenticator.authenticate(request)
            except S3Error:
                self.recorder.authentication_failed(request)
                raise
        self.recorder.authenticated(identity)
        trail.identity = identity
        op = route(request, virtual_host_domain=self.virtual_host_domain)
        trail.operation = op.name
        facts = request_facts(scope, request, now)
        with self.tracing.span("authorize"):
            for permission in permissions_for(op):
                decision = self.authorizer.decide(identity, permission, facts)
                self.recorder.decided(trail, permission, decision)
                if not decision.allowed:
                    raise AccessDenied()
        if isinstance(op, DeleteObjects):
            trail.permission = Permission("s3:DeleteObject", bucket_arn(op.bucket), op.bucket)
            trail.decision = "allow"

        def may(action: str, bucket: str, key: str) -> bool:
            permission = Permission(action, object_arn(bucket, key), bucket, key)
            return self.authorizer.decide(identity, permission, facts).allowed

        verdict = await self._verification(op) if isinstance(op, GetObject) else None
        handler = HANDLERS[type(op)]
        response = await handler(self.context, op, S3Call(request, body, identity.signature, may))
        if verdict is not None:
            response.headers.append((VERIFICATION_HEADER, verdict))
        if isinstance(op, WRITES):
            await self.supply_chain.object_changed(op.bucket, op.key)
        elif isinstance(op, DeleteObjects):
            await self.supply_chain.objects_deleted(op.bucket)
        return response

    async def _verification(self, op: GetObject) -> str | None:
        """The bucket's verification policy on a download: refuse (enforce) or flag (warn)."""
        if self.supply_chain.policy(op.bucket) is None:
            return None
        record = await self.context.objects.head_object(op.bucket, op.key)
        outcome = self.supply_chain.outcome(record)
        if outcome is None:
            return None
        if not outcome.passed:
            self.supply_chain.on_event("verify", "failure")
            if outcome.mode == "enforce":
                raise VerificationFailed(
                    "The object does not satisfy its bucket's verification policy; missing: "
                    + ", ".join(outcome.missing),
                    headers={VERIFICATION_HEADER: outcome.header()},
                )
        return outcome.header()


ACTION_STS = "sts:AssumeRoleWithWebIdentity"
VERIFICATION_HEADER = "x-zas-verification"
# Writes after which an object's evidence may no longer apply to its bytes.
WRITES = (PutObject, CopyObject, CompleteMultipartUpload, DeleteObject)


def request_facts(scope: Scope, request: HttpRequest, now: datetime) -> RequestFacts:
    return RequestFacts(
        now=now,
        source_ip=client_ip(scope),
        secure_transport=scope.get("scheme") == "https",
        user_agent=request.header("user-agent"),
    )


Handler = Callable[[S3Context, Any, S3Call], Awaitable[Response]]

# One handler per S3 operation; `route` decides which.
HANDLERS: dict[type, Handler] = {
    ListBuckets: s3_buckets.list_buckets,
    CreateBucket: s3_buckets.create_bucket,
    HeadBucket: s3_buckets.head_bucket,
    GetBucketLocation: s3_buckets.get_bucket_location,
    GetBucketVersioning: s3_buckets.get_bucket_versioning,
    DeleteBucket: s3_buckets.delete_bucket,
    GetBucketPolicy: s3_buckets.get_bucket_policy,
    PutBucketPolicy: s3_buckets.put_bucket_policy,
    DeleteBucketPolicy: s3_buckets.delete_bucket_policy,
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
