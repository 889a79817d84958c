"""The one error hierarchy of ZAS: S3 error codes with their HTTP status.

Every layer raises these (or has its own errors mapped to them at one boundary), and
`zas.protocol.xml.render_error` turns any of them into the S3 XML body a client expects.
The tree is flat on purpose: clients branch on the code string, not on Python classes,
so each class exists to pin a code to a status and a default message.

    S3Error
     ├── AccessDenied, SignatureDoesNotMatch, InvalidAccessKeyId, RequestTimeTooSkewed, ... (403)
     ├── NoSuchBucket, NoSuchKey, NoSuchUpload (404)
     ├── BucketAlreadyOwnedByYou, BucketNotEmpty (409)
     ├── PreconditionFailed (412), InvalidRange, InvalidPartNumber (416), NotModified (304)
     └── InvalidArgument, InvalidBucketName, BadDigest, InvalidPart, InvalidTag, ... (400)

Codes and statuses: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
"""

from __future__ import annotations


class S3Error(Exception):
    """An error answered to the client as S3 XML (or JSON on non-S3 routes)."""

    code: str = "InternalError"
    http_status: int = 500
    default_message: str = "We encountered an internal error. Please try again."

    def __init__(
        self,
        message: str | None = None,
        *,
        resource: str | None = None,
        headers: dict[str, str] | None = None,
        **details: str,
    ) -> None:
        self.message = message or self.default_message
        self.resource = resource
        # Extra response headers (e.g. ETag/Last-Modified on 304).
        self.headers = headers or {}
        # Extra XML elements S3 adds for some codes (e.g. ArgumentName, ExpectedDigest).
        self.details = details
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class InternalError(S3Error):
    pass


# 400
class InvalidArgument(S3Error):
    code = "InvalidArgument"
    http_status = 400
    default_message = "Invalid Argument"


class InvalidRequest(S3Error):
    code = "InvalidRequest"
    http_status = 400
    default_message = "Invalid Request"


class InvalidBucketName(S3Error):
    code = "InvalidBucketName"
    http_status = 400
    default_message = "The specified bucket is not valid."


class InvalidDigest(S3Error):
    code = "InvalidDigest"
    http_status = 400
    default_message = "The Content-MD5 you specified was invalid."


class BadDigest(S3Error):
    code = "BadDigest"
    http_status = 400
    default_message = "The Content-MD5 you specified did not match what we received."


class XAmzContentSHA256Mismatch(S3Error):
    code = "XAmzContentSHA256Mismatch"
    http_status = 400
    default_message = "The provided 'x-amz-content-sha256' header does not match what was computed."


class IncompleteBody(S3Error):
    code = "IncompleteBody"
    http_status = 400
    default_message = "You did not provide the number of bytes specified by the Content-Length"


class MalformedXML(S3Error):
    code = "MalformedXML"
    http_status = 400
    default_message = "The XML you provided was not well-formed or did not validate."


class MissingContentLength(S3Error):
    code = "MissingContentLength"
    http_status = 411
    default_message = "You must provide the Content-Length HTTP header."


class EntityTooLarge(S3Error):
    code = "EntityTooLarge"
    http_status = 400
    default_message = "Your proposed upload exceeds the maximum allowed object size."


class AuthorizationHeaderMalformed(S3Error):
    code = "AuthorizationHeaderMalformed"
    http_status = 400
    default_message = "The authorization header is malformed."


class AuthorizationQueryParametersError(S3Error):
    code = "AuthorizationQueryParametersError"
    http_status = 400
    default_message = "Error parsing the X-Amz-Credential parameter."


class InvalidLocationConstraint(S3Error):
    code = "InvalidLocationConstraint"
    http_status = 400
    default_message = "The specified location-constraint is not valid."


class KeyTooLongError(S3Error):
    code = "KeyTooLongError"
    http_status = 400
    default_message = "Your key is too long."


class MetadataTooLarge(S3Error):
    code = "MetadataTooLarge"
    http_status = 400
    default_message = "Your metadata headers exceed the maximum allowed metadata size."


class UnexpectedContent(S3Error):
    code = "UnexpectedContent"
    http_status = 400
    default_message = "This request does not support content."


class MissingRequestBodyError(S3Error):
    code = "MissingRequestBodyError"
    http_status = 400
    default_message = "Request Body is empty"


class BadRequest(S3Error):
    # S3 answers more than 10 object tags with this generic code, not InvalidTag.
    code = "BadRequest"
    http_status = 400
    default_message = "Bad Request"


class InvalidTag(S3Error):
    code = "InvalidTag"
    http_status = 400
    default_message = (
        "The tag provided was not a valid tag. This error can occur if the tag did not pass "
        "input validation."
    )


# Multipart upload: https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
class InvalidPart(S3Error):
    code = "InvalidPart"
    http_status = 400
    default_message = (
        "One or more of the specified parts could not be found. The part may not have been "
        "uploaded, or the specified entity tag may not match the part's entity tag."
    )


class InvalidPartOrder(S3Error):
    code = "InvalidPartOrder"
    http_status = 400
    default_message = (
        "The list of parts was not in ascending order. Parts must be ordered by part number."
    )


class EntityTooSmall(S3Error):
    code = "EntityTooSmall"
    http_status = 400
    default_message = "Your proposed upload is smaller than the minimum allowed object size."


# 403
class MalformedPolicy(S3Error):
    """A policy document that is not valid JSON or not valid IAM policy language."""

    code = "MalformedPolicy"
    http_status = 400
    default_message = "Policies must be valid JSON and the first byte must be '{'"


class InvalidIdentityToken(S3Error):
    """STS: the web identity token was rejected (signature, issuer, audience, expiry...)."""

    code = "InvalidIdentityToken"
    http_status = 400
    default_message = "The web identity token that was passed could not be validated."


class ExpiredToken(S3Error):
    """A bearer token or STS session token past its expiry."""

    code = "ExpiredToken"
    http_status = 400
    default_message = "The provided token has expired."


class InvalidToken(S3Error):
    """A bearer token or STS session token that is malformed or fails validation."""

    code = "InvalidToken"
    http_status = 400
    default_message = "The provided token is malformed or otherwise invalid."


class AccessDenied(S3Error):
    code = "AccessDenied"
    http_status = 403
    default_message = "Access Denied"


class SignatureDoesNotMatch(S3Error):
    code = "SignatureDoesNotMatch"
    http_status = 403
    default_message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )


class InvalidAccessKeyId(S3Error):
    code = "InvalidAccessKeyId"
    http_status = 403
    default_message = "The AWS Access Key Id you provided does not exist in our records."


class RequestTimeTooSkewed(S3Error):
    code = "RequestTimeTooSkewed"
    http_status = 403
    default_message = "The difference between the request time and the current time is too large."


# 404
class NoSuchBucket(S3Error):
    code = "NoSuchBucket"
    http_status = 404
    default_message = "The specified bucket does not exist"


class NoSuchKey(S3Error):
    code = "NoSuchKey"
    http_status = 404
    default_message = "The specified key does not exist."


class NoSuchBucketPolicy(S3Error):
    code = "NoSuchBucketPolicy"
    http_status = 404
    default_message = "The bucket policy does not exist"


class NoSuchEntity(S3Error):
    """A user, access key or policy named in a management call does not exist."""

    code = "NoSuchEntity"
    http_status = 404
    default_message = "The requested entity does not exist."


class EntityAlreadyExists(S3Error):
    code = "EntityAlreadyExists"
    http_status = 409
    default_message = "The entity already exists."


class DeleteConflict(S3Error):
    """A policy still attached to users, or a user who still owns something, cannot go."""

    code = "DeleteConflict"
    http_status = 409
    default_message = "The entity is still in use."


class NoSuchUpload(S3Error):
    code = "NoSuchUpload"
    http_status = 404
    default_message = "The specified upload does not exist."


# 405 / 409 / 411 / 412 / 416 / 501 / 503
class MethodNotAllowed(S3Error):
    code = "MethodNotAllowed"
    http_status = 405
    default_message = "The specified method is not allowed against this resource."


class BucketAlreadyOwnedByYou(S3Error):
    code = "BucketAlreadyOwnedByYou"
    http_status = 409
    default_message = (
        "Your previous request to create the named bucket succeeded and you already own it."
    )


class BucketNotEmpty(S3Error):
    code = "BucketNotEmpty"
    http_status = 409
    default_message = "The bucket you tried to delete is not empty."


class OperationAborted(S3Error):
    code = "OperationAborted"
    http_status = 409
    default_message = (
        "A conflicting conditional operation is currently in progress against this resource."
    )


class PreconditionFailed(S3Error):
    code = "PreconditionFailed"
    http_status = 412
    default_message = "At least one of the preconditions you specified did not hold."


class InvalidRange(S3Error):
    code = "InvalidRange"
    http_status = 416
    default_message = "The requested range is not satisfiable"


class MalformedTrailerError(S3Error):
    code = "MalformedTrailerError"
    http_status = 400
    default_message = (
        "The request contained trailing data that was not well-formed or did not conform "
        "to our published schema."
    )


class InvalidPartNumber(S3Error):
    """GET/HEAD ?partNumber=N beyond the object's part count."""

    code = "InvalidPartNumber"
    http_status = 416
    default_message = "The requested partnumber is not satisfiable"


class NotImplementedOperation(S3Error):
    code = "NotImplemented"
    http_status = 501
    default_message = (
        "A header or operation you provided implies functionality that is not implemented."
    )


class SlowDown(S3Error):
    code = "SlowDown"
    http_status = 503
    default_message = "Please reduce your request rate."


class ServiceUnavailable(S3Error):
    code = "ServiceUnavailable"
    http_status = 503
    default_message = "The server is shutting down."


class NotModified(S3Error):
    """304: not an error to the client, but it short-circuits a GET/HEAD like one."""

    code = "NotModified"
    http_status = 304
    default_message = "Not Modified"
