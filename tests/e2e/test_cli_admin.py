"""The `zas` admin commands against a running server: a newcomer creates a user, a policy and
a key from the shell, and the key works with boto3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.admin_api import Keys, s3_client
from tests.zasproc import ACCESS_KEY, SECRET_KEY, ZasProcess


def zas_cli(zas: ZasProcess, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ZAS_ACCESS_KEY": ACCESS_KEY, "ZAS_SECRET_KEY": SECRET_KEY}
    done = subprocess.run(
        [sys.executable, "-m", "zas.cli.main", *args, "--endpoint", zas.endpoint],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_user_policy_and_key_created_from_the_shell_work_with_boto3(
    zas: ZasProcess, s3: Any, bucket: str, tmp_path: Path
) -> None:
    document = tmp_path / "uploads.json"
    document.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "s3:PutObject",
                        "Resource": f"arn:aws:s3:::{bucket}/incoming/*",
                    }
                ],
            }
        )
    )
    zas_cli(zas, "policy", "create", "cli-uploads", str(document))
    zas_cli(zas, "user", "create", "cli-ci", "--policy", "cli-uploads")
    created = json.loads(zas_cli(zas, "key", "create", "cli-ci").stdout)
    ci = s3_client(zas, Keys(created["access_key_id"], created["secret_access_key"]))

    ci.put_object(Bucket=bucket, Key="incoming/build.tar", Body=b"b")
    with pytest.raises(ClientError):
        ci.put_object(Bucket=bucket, Key="released/build.tar", Body=b"b")
    verdict = json.loads(
        zas_cli(
            zas, "authorize", "--user", "cli-ci", "--action", "s3:PutObject",
            "--resource", f"arn:aws:s3:::{bucket}/released/x",
        ).stdout
    )  # fmt: skip
    listed = json.loads(zas_cli(zas, "key", "list", "cli-ci").stdout)["access_keys"]

    assert s3.get_object(Bucket=bucket, Key="incoming/build.tar")["Body"].read() == b"b"
    assert (verdict["decision"], verdict["explicit"]) == ("Deny", False)
    assert [key["access_key_id"] for key in listed] == [created["access_key_id"]]
    assert "secret_access_key" not in listed[0]


def test_cli_errors_are_one_line_and_exit_non_zero(zas: ZasProcess) -> None:
    done = zas_cli(zas, "user", "get", "nobody-by-that-name", check=False)

    assert done.returncode == 1
    assert done.stderr.strip() == (
        "zas: 404 NoSuchEntity: The user with name nobody-by-that-name cannot be found."
    )
