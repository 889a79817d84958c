"""Conditional requests: If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since.

Implemented once and used by GET, HEAD, PUT and (later) CopyObject's x-amz-copy-source-if-*
headers, so the rules cannot drift between operations.

Precedence is RFC 9110 section 13.2.2, which is also what the S3 GetObject docs describe:
  1. If-Match present: false -> 412.             (If-Unmodified-Since is then ignored)
  2. else If-Unmodified-Since (valid date): modified since -> 412.
  3. If-None-Match present: matches -> 304 for GET/HEAD, 412 otherwise.
  4. else If-Modified-Since (GET/HEAD, valid date): not modified since -> 304.
Dates compare at one-second resolution, the resolution of HTTP dates.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from zas.protocol.errors import NoSuchKey, NotModified, PreconditionFailed
from zas.protocol.http import HttpRequest, format_http_date, parse_http_date


@attrs.frozen
class Preconditions:
    if_match: tuple[str, ...] | None = None
    if_none_match: tuple[str, ...] | None = None
    if_modified_since: datetime | None = None
    if_unmodified_since: datetime | None = None

    @classmethod
    def from_request(cls, request: HttpRequest, prefix: str = "") -> Preconditions:
        """Read the four headers, optionally prefixed (e.g. "x-amz-copy-source-")."""

        def tags(name: str) -> tuple[str, ...] | None:
            value = request.header(prefix + name)
            return None if value is None else parse_etag_list(value)

        def date(name: str) -> datetime | None:
            value = request.header(prefix + name)
            return None if value is None else parse_http_date(value)

        return cls(
            if_match=tags("if-match"),
            if_none_match=tags("if-none-match"),
            if_modified_since=date("if-modified-since"),
            if_unmodified_since=date("if-unmodified-since"),
        )

    @property
    def empty(self) -> bool:
        return self == Preconditions()


def parse_etag_list(value: str) -> tuple[str, ...]:
    """Entity tags from an If-Match/If-None-Match value, normalised without quotes or W/.

    S3 clients sometimes send unquoted ETags, so quotes are optional here.
    """
    tags = []
    for item in value.split(","):
        tag = item.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tags.append(tag.strip('"'))
    return tuple(tag for tag in tags if tag)


def _matches(tags: tuple[str, ...], etag: str) -> bool:
    bare = etag.strip('"')
    return any(tag == "*" or tag == bare for tag in tags)


def _seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def check_read(pre: Preconditions, etag: str, last_modified: datetime, *, safe: bool) -> None:
    """Raise PreconditionFailed or NotModified when the request's conditions say so.

    `safe` is True for GET and HEAD (a failed If-None-Match is 304 rather than 412).
    """
    modified = _seconds(last_modified)
    if pre.if_match is not None:
        if not _matches(pre.if_match, etag):
            raise PreconditionFailed(Condition="If-Match")
    elif pre.if_unmodified_since is not None and modified > pre.if_unmodified_since:
        raise PreconditionFailed(Condition="If-Unmodified-Since")

    not_modified_headers = {"ETag": etag, "Last-Modified": format_http_date(last_modified)}
    if pre.if_none_match is not None:
        if _matches(pre.if_none_match, etag):
            if safe:
                raise NotModified(headers=not_modified_headers)
            raise PreconditionFailed(Condition="If-None-Match")
    elif safe and pre.if_modified_since is not None and modified <= pre.if_modified_since:
        raise NotModified(headers=not_modified_headers)


def check_write(pre: Preconditions, current_etag: str | None) -> None:
    """Conditional PUT: `If-None-Match: *` and `If-Match: <etag>` against the current object.

    As AWS answers: If-Match on a missing key is 404 NoSuchKey; If-None-Match on an
    existing key (any ETag, or a matching one) is 412.
    """
    if pre.if_match is not None:
        if current_etag is None:
            raise NoSuchKey()
        if not _matches(pre.if_match, current_etag):
            raise PreconditionFailed(Condition="If-Match")
    if (
        pre.if_none_match is not None
        and current_etag is not None
        and _matches(pre.if_none_match, current_etag)
    ):
        raise PreconditionFailed(Condition="If-None-Match")


def check_copy_source(pre: Preconditions, etag: str, last_modified: datetime) -> None:
    """x-amz-copy-source-if-* on CopyObject/UploadPartCopy: evaluated as for a GET of the
    source, but every failure is 412, including the ones a GET answers with 304."""
    try:
        check_read(pre, etag, last_modified, safe=True)
    except NotModified:
        raise PreconditionFailed(Condition="x-amz-copy-source-if-*") from None
