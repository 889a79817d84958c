"""The audit log as an operator and an analyst see it: every request recorded, searchable
through /rbac/audit, queryable in SQL (API and `zas audit query`), exportable to Parquet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import duckdb
import pytest
from botocore.exceptions import ClientError

from tests.e2e.admin_api import AdminApi, error_of, s3_client
from tests.e2e.raw import presign, send
from tests.zasproc import ACCESS_KEY, SECRET_KEY, ZasProcess


def audit_path(**filters: str) -> str:
    # Values are percent-encoded as SDKs send them (SigV4 canonicalises the encoded form).
    return "/rbac/audit?" + urlencode(filters, quote_via=quote, safe="")


def records(admin: AdminApi, **filters: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = admin.ok("GET", audit_path(**filters))["records"]
    return found


def test_allowed_denied_and_unauthenticated_requests_are_all_recorded(
    zas: ZasProcess, s3: Any, bucket: str
) -> None:
    admin = AdminApi(zas)
    reader_name = f"audited-{bucket}"[:60]
    reader = s3_client(zas, admin.create_user(reader_name, "readonly"))
    s3.put_object(Bucket=bucket, Key="a", Body=b"12345")
    reader.get_object(Bucket=bucket, Key="a")["Body"].read()
    with pytest.raises(ClientError):
        reader.put_object(Bucket=bucket, Key="b", Body=b"x")
    send("GET", f"{zas.endpoint}/{bucket}/a", {}, b"")  # anonymous

    mine = records(admin, resource_prefix=f"arn:aws:s3:::{bucket}/")
    by_principal = {(r["principal"], r["action"], r["decision"], r["status"]) for r in mine}

    assert ("root", "s3:PutObject", "allow", 200) in by_principal
    assert (reader_name, "s3:GetObject", "allow", 200) in by_principal
    assert (reader_name, "s3:PutObject", "deny", 403) in by_principal
    assert ("anonymous", "s3:GetObject", "deny", 403) in by_principal
    get = next(r for r in mine if r["principal"] == reader_name and r["action"] == "s3:GetObject")
    assert get["bytes_out"] == 5
    assert get["auth_method"] == "sigv4"
    assert get["source_ip"] == "127.0.0.1"
    assert get["statement"] == "readonly#ReadObjectsAndEvidence"
    assert "Boto3" in get["user_agent"] or "Botocore" in get["user_agent"]
    put = next(r for r in mine if r["principal"] == "root" and r["action"] == "s3:PutObject")
    assert put["bytes_in"] == 5


def test_a_bad_signature_is_recorded_as_an_error_without_a_decision(
    zas: ZasProcess, bucket: str
) -> None:
    bogus = s3_client(zas, type("K", (), {"access_key": ACCESS_KEY, "secret_key": "wrong"})())  # type: ignore[arg-type]
    with pytest.raises(ClientError):
        bogus.get_object(Bucket=bucket, Key="x")

    failed = [r for r in records(AdminApi(zas), decision="error") if r["path"] == f"/{bucket}/x"]
    assert [(r["status"], r["error_code"]) for r in failed] == [(403, "SignatureDoesNotMatch")]


def test_presigned_urls_are_recorded_without_their_signature(
    zas: ZasProcess, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="p", Body=b"x")
    url = presign("GET", f"{zas.endpoint}/{bucket}/p")
    assert send("GET", url, {}, b"").status == 200
    signature = url.rpartition("X-Amz-Signature=")[2]

    found = records(AdminApi(zas), resource_prefix=f"arn:aws:s3:::{bucket}/p")
    presigned = [r for r in found if r["auth_method"] == "presigned"]
    assert len(presigned) == 1
    assert presigned[0]["path"] == f"/{bucket}/p"
    assert signature not in json.dumps(found)


def test_search_filters_and_pages_without_gaps_or_duplicates(
    zas: ZasProcess, s3: Any, bucket: str
) -> None:
    for index in range(7):
        s3.put_object(Bucket=bucket, Key=f"k{index}", Body=b"x")
    admin = AdminApi(zas)
    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        filters = {"action": "s3:PutObject", "resource_prefix": f"arn:aws:s3:::{bucket}/"}
        page = admin.ok(
            "GET", audit_path(**filters, limit="3", **({"cursor": cursor} if cursor else {}))
        )
        seen += [r["resource"] for r in page["records"]]
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert sorted(seen) == sorted(f"arn:aws:s3:::{bucket}/k{i}" for i in range(7))


def test_analysts_query_the_audit_views_in_sql_and_nothing_else(
    zas: ZasProcess, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="q", Body=b"x")
    admin = AdminApi(zas)

    result = admin.ok(
        "POST",
        "/rbac/audit/query",
        {
            "sql": "SELECT action, decision, count(*) AS n FROM audit_log "
            f"WHERE resource LIKE 'arn:aws:s3:::{bucket}/%' GROUP BY ALL ORDER BY action"
        },
    )
    refused = [
        admin.call("POST", "/rbac/audit/query", {"sql": sql})
        for sql in (
            "SELECT * FROM read_csv('/etc/passwd')",
            "SELECT * FROM '/etc/passwd'",
            "COPY audit_log TO '/tmp/stolen.csv'",
            "SELECT 1; DROP VIEW audit_log",
            "SELECT * FROM buckets",
        )
    ]

    assert result["columns"] == ["action", "decision", "n"]
    assert ["s3:PutObject", "allow", 1] in result["rows"]
    assert [error_of(response)[0] for response in refused] == [400] * len(refused)
    assert not Path("/tmp/stolen.csv").exists()


def test_a_reader_may_not_query_the_audit_log(zas: ZasProcess) -> None:
    admin = AdminApi(zas)
    reader = AdminApi(zas, keys=admin.create_user("audit-outsider", "readonly"))

    assert error_of(reader.call("POST", "/rbac/audit/query", {"sql": "SELECT 1"})) == (
        403,
        "AccessDenied",
    )
    assert error_of(reader.call("GET", "/rbac/audit")) == (403, "AccessDenied")


def test_export_writes_parquet_that_duckdb_reads_back(
    zas: ZasProcess, s3: Any, bucket: str, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="e", Body=b"x")
    response = AdminApi(zas).call("GET", "/rbac/audit/export")
    assert response.status == 200, response
    path = tmp_path / "audit.parquet"
    path.write_bytes(response.body)

    rows = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{path}') WHERE resource = 'arn:aws:s3:::{bucket}/e'"
    ).fetchall()

    assert rows == [(1,)]
    assert int(response.headers["x-zas-rows"]) >= 1


def test_zas_audit_query_cli_prints_a_table(zas: ZasProcess, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="cli", Body=b"x")
    env = {**os.environ, "ZAS_ACCESS_KEY": ACCESS_KEY, "ZAS_SECRET_KEY": SECRET_KEY}

    done = subprocess.run(
        [
            sys.executable, "-m", "zas.cli.main", "audit", "query", "--endpoint", zas.endpoint,
            f"SELECT principal, action FROM audit_log WHERE resource = 'arn:aws:s3:::{bucket}/cli'",
        ],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["principal\taction", "root\ts3:PutObject"]


def test_records_pending_at_shutdown_are_kept(fresh_zas: ZasProcess) -> None:
    fresh_zas.start()
    client = fresh_zas.client()
    client.create_bucket(Bucket="before-restart")  # type: ignore[attr-defined]
    assert fresh_zas.stop() == 0

    fresh_zas.start()
    found = records(AdminApi(fresh_zas), action="s3:CreateBucket")

    assert [r["resource"] for r in found] == ["arn:aws:s3:::before-restart"]
