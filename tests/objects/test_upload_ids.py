"""Multipart upload ids: unguessable, and safe to pass on a command line."""

from __future__ import annotations

import re

from zas.objects.multipart import new_upload_id


def test_upload_ids_are_256_random_bits_that_no_command_line_reads_as_an_option() -> None:
    ids = [new_upload_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    # base64url ids began with "-" once in 64 and broke `s3cmd listmp <uri> <upload-id>`.
    assert all(re.fullmatch(r"[0-9a-f]{64}", upload_id) for upload_id in ids)
