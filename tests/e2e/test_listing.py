"""ListObjectsV2 and ListObjects (v1) through boto3: prefixes, delimiters, pagination."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_objects import error_of

KEYS = [
    "a.txt",
    "docs/guide.md",
    "docs/img/logo.png",
    "docs/intro.md",
    "logs/2026/01/x.log",
    "logs/2026/02/y.log",
    "logs/readme",
    "z",
]


@pytest.fixture
def filled(s3: Any, bucket: str) -> str:
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    return bucket


def test_v2_lists_all_keys_in_order_with_sizes_and_etags(s3: Any, filled: str) -> None:
    result = s3.list_objects_v2(Bucket=filled)
    assert [o["Key"] for o in result["Contents"]] == KEYS
    assert result["KeyCount"] == len(KEYS)
    assert result["IsTruncated"] is False
    first = result["Contents"][0]
    assert first["Size"] == len(b"a.txt")
    assert first["ETag"].startswith('"') and len(first["ETag"]) == 34
    assert first["StorageClass"] == "STANDARD"
    assert "Owner" not in first


def test_v2_prefix_and_delimiter_roll_up_common_prefixes(s3: Any, filled: str) -> None:
    top = s3.list_objects_v2(Bucket=filled, Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["a.txt", "z"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["docs/", "logs/"]
    nested = s3.list_objects_v2(Bucket=filled, Prefix="logs/", Delimiter="/")
    assert [o["Key"] for o in nested["Contents"]] == ["logs/readme"]
    assert [p["Prefix"] for p in nested["CommonPrefixes"]] == ["logs/2026/"]


def test_v2_pagination_with_continuation_tokens_visits_every_key_once(s3: Any, filled: str) -> None:
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kwargs = {"Bucket": filled, "MaxKeys": 3}
        if token:
            kwargs["ContinuationToken"] = token
        page = s3.list_objects_v2(**kwargs)
        pages += 1
        seen.extend(o["Key"] for o in page.get("Contents", []))
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == KEYS
    assert pages == 3


def test_v2_pagination_with_delimiter_never_repeats_a_common_prefix(s3: Any, filled: str) -> None:
    paginator = s3.get_paginator("list_objects_v2")
    keys, prefixes = [], []
    for page in paginator.paginate(Bucket=filled, Delimiter="/", PaginationConfig={"PageSize": 1}):
        keys.extend(o["Key"] for o in page.get("Contents", []))
        prefixes.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
    assert keys == ["a.txt", "z"]
    assert prefixes == ["docs/", "logs/"]


def test_v2_start_after_and_fetch_owner(s3: Any, filled: str) -> None:
    result = s3.list_objects_v2(Bucket=filled, StartAfter="logs/readme", FetchOwner=True)
    assert [o["Key"] for o in result["Contents"]] == ["z"]
    assert result["StartAfter"] == "logs/readme"
    assert result["Contents"][0]["Owner"]["ID"]


def test_v2_max_keys_zero_returns_nothing(s3: Any, filled: str) -> None:
    result = s3.list_objects_v2(Bucket=filled, MaxKeys=0)
    assert result["KeyCount"] == 0
    assert "Contents" not in result


def test_v2_encoding_type_url_round_trips_odd_keys(s3: Any, bucket: str) -> None:
    odd = ["sp ace", "plus+sign", "amp&er", "pct%25", "uni/ü"]
    for key in odd:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    # boto3 asks for encoding-type=url by default and decodes the keys again.
    result = s3.list_objects_v2(Bucket=bucket)
    assert sorted(o["Key"] for o in result["Contents"]) == sorted(odd)


def test_v2_invalid_encoding_type_is_invalid_argument(s3: Any, filled: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.list_objects_v2(Bucket=filled, EncodingType="base64")
    assert error_of(excinfo) == (400, "InvalidArgument")


def test_v1_marker_pagination(s3: Any, filled: str) -> None:
    paginator = s3.get_paginator("list_objects")
    seen = []
    for page in paginator.paginate(Bucket=filled, PaginationConfig={"PageSize": 3}):
        seen.extend(o["Key"] for o in page.get("Contents", []))
    assert seen == KEYS
    first = s3.list_objects(Bucket=filled, MaxKeys=2, Delimiter="/")
    assert first["IsTruncated"] is True
    assert first["NextMarker"] == "docs/"
    assert first["Contents"][0]["Owner"]["ID"]
    second = s3.list_objects(Bucket=filled, Marker=first["NextMarker"], Delimiter="/")
    assert [p["Prefix"] for p in second["CommonPrefixes"]] == ["logs/"]
    assert [o["Key"] for o in second["Contents"]] == ["z"]


def test_listing_an_empty_bucket(s3: Any, bucket: str) -> None:
    result = s3.list_objects_v2(Bucket=bucket, Prefix="nothing/")
    assert result["KeyCount"] == 0
    assert result["IsTruncated"] is False
