"""`zas user|key|policy|authorize|audit` and the supply-chain commands (`signing-key`,
`trust`, `sign`, `verify`, `evidence`, `verification-policy`): the admin APIs from the
command line.

Each subcommand is one HTTP call to a running server (see zas.cli.client for endpoint and
credentials). Output is JSON, except `zas audit query`, which prints a tab-separated table
with a header row (pass --json for JSON).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from zas.cli.client import DEFAULT_ENDPOINT, Client, find_credentials

Command = Callable[[Client, argparse.Namespace], Any]


def _user(name: str) -> str:
    return f"/admin/users/{quote(name, safe='')}"


def _read_document(path: str) -> Any:
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"zas: {path} is not JSON: {exc}") from None


def _audit_query(client: Client, args: argparse.Namespace) -> None:
    result = client.call(
        "POST", "/rbac/audit/query", body={"sql": args.sql, "max_rows": args.max_rows}
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print("\t".join(result["columns"]))
    for row in result["rows"]:
        print("\t".join("" if value is None else str(value) for value in row))
    if result["truncated"]:
        print(f"(truncated at {args.max_rows} rows)", file=sys.stderr)


def _audit_export(client: Client, args: argparse.Namespace) -> str:
    query = {name: value for name in ("since", "until") if (value := getattr(args, name))}
    data = client.call("GET", "/rbac/audit/export", query=query, raw=True)
    Path(args.file).write_bytes(data)
    return f"wrote {len(data)} bytes to {args.file}"


def _object(target: str) -> str:
    bucket, _, key = target.partition("/")
    if not bucket or not key:
        raise SystemExit(f"zas: {target!r} is not BUCKET/KEY")
    return f"{quote(bucket, safe='')}/{quote(key, safe='/')}"


def _file(path: str) -> bytes:
    return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()


def _export_key(client: Client, args: argparse.Namespace) -> str:
    pem: bytes = client.call(
        "GET", f"/supplychain/keys/{quote(args.key_id, safe='')}", query={"format": "pem"},
        raw=True,
    )  # fmt: skip
    return pem.decode().rstrip("\n")


COMMANDS: dict[tuple[str, str], Command] = {
    ("user", "create"): lambda c, a: c.call(
        "POST", "/admin/users", body={"name": a.name, "policies": a.policy}
    ),
    ("user", "list"): lambda c, a: c.call("GET", "/admin/users"),
    ("user", "get"): lambda c, a: c.call("GET", _user(a.name)),
    ("user", "delete"): lambda c, a: c.call("DELETE", _user(a.name)),
    ("user", "attach"): lambda c, a: c.call(
        "POST", _user(a.name) + "/policies", body={"policy": a.policy}
    ),
    ("user", "detach"): lambda c, a: c.call(
        "DELETE", _user(a.name) + f"/policies/{quote(a.policy, safe='')}"
    ),
    ("key", "create"): lambda c, a: c.call("POST", _user(a.user) + "/keys"),
    ("key", "list"): lambda c, a: c.call("GET", _user(a.user) + "/keys"),
    ("key", "disable"): lambda c, a: c.call(
        "PATCH", _user(a.user) + f"/keys/{a.access_key_id}", body={"status": "Inactive"}
    ),
    ("key", "enable"): lambda c, a: c.call(
        "PATCH", _user(a.user) + f"/keys/{a.access_key_id}", body={"status": "Active"}
    ),
    ("key", "delete"): lambda c, a: c.call("DELETE", _user(a.user) + f"/keys/{a.access_key_id}"),
    ("policy", "list"): lambda c, a: c.call("GET", "/rbac/policies"),
    ("policy", "get"): lambda c, a: c.call("GET", f"/rbac/policies/{quote(a.id, safe='')}"),
    ("policy", "create"): lambda c, a: c.call(
        "POST",
        "/rbac/policies",
        body={"id": a.id, "document": _read_document(a.file), "description": a.description},
    ),
    ("policy", "update"): lambda c, a: c.call(
        "PUT",
        f"/rbac/policies/{quote(a.id, safe='')}",
        body={"document": _read_document(a.file), "description": a.description},
    ),
    ("policy", "delete"): lambda c, a: c.call("DELETE", f"/rbac/policies/{quote(a.id, safe='')}"),
    ("authorize", ""): lambda c, a: c.call(
        "POST",
        "/rbac/authorize",
        body={
            "principal": {"user": a.user} if a.user else None,
            "action": a.action,
            "resource": a.resource,
        },
    ),
    ("audit", "query"): _audit_query,
    ("audit", "search"): lambda c, a: c.call(
        "GET",
        "/rbac/audit",
        query={
            name: str(value)
            for name in ("principal", "action", "resource_prefix", "decision", "since", "until")
            if (value := getattr(a, name))
        }
        | {"limit": str(a.limit)},
    ),
    ("audit", "export"): _audit_export,
    ("signing-key", "create"): lambda c, a: c.call(
        "POST", "/supplychain/keys", body={"algorithm": a.algorithm, "description": a.description}
    ),
    ("signing-key", "list"): lambda c, a: c.call("GET", "/supplychain/keys"),
    ("signing-key", "export"): _export_key,
    ("signing-key", "rotate"): lambda c, a: c.call(
        "POST", f"/supplychain/keys/{quote(a.key_id, safe='')}/rotate"
    ),
    ("signing-key", "disable"): lambda c, a: c.call(
        "PATCH", f"/supplychain/keys/{quote(a.key_id, safe='')}", body={"status": "disabled"}
    ),
    ("trust", "add"): lambda c, a: c.call(
        "POST",
        "/supplychain/trusted-keys",
        body={
            "key_id": a.key_id,
            "public_key_pem": _file(a.file).decode(),
            "bucket": a.bucket,
            "rsa_scheme": a.rsa_scheme,
        },
    ),
    ("trust", "list"): lambda c, a: c.call("GET", "/supplychain/trusted-keys"),
    ("trust", "remove"): lambda c, a: c.call(
        "DELETE", f"/supplychain/trusted-keys/{quote(a.key_id, safe='')}"
    ),
    ("sign", ""): lambda c, a: c.call(
        "POST",
        f"/supplychain/sign/{_object(a.object)}",
        query={"form": a.form, **({"key_id": a.key_id} if a.key_id else {})},
    ),
    ("verify", ""): lambda c, a: c.call("POST", f"/supplychain/verify/{_object(a.object)}"),
    ("evidence", "signature"): lambda c, a: c.call(
        "POST",
        f"/supplychain/signatures/{_object(a.object)}",
        query={"key_id": a.key_id} if a.key_id else {},
        data=_file(a.file),
    ),
    ("evidence", "sbom"): lambda c, a: c.call(
        "POST", f"/supplychain/sbom/{_object(a.object)}", data=_file(a.file)
    ),
    ("evidence", "attestation"): lambda c, a: c.call(
        "POST", f"/supplychain/attestations/{_object(a.object)}", data=_file(a.file)
    ),
    ("verification-policy", "set"): lambda c, a: c.call(
        "PUT", f"/supplychain/policy/{quote(a.bucket, safe='')}", data=_file(a.file)
    ),
    ("verification-policy", "get"): lambda c, a: c.call(
        "GET", f"/supplychain/policy/{quote(a.bucket, safe='')}"
    ),
}


def add_admin_commands(commands: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--endpoint", default=DEFAULT_ENDPOINT, help=f"({DEFAULT_ENDPOINT})")
    common.add_argument("--access-key")
    common.add_argument("--secret-key")
    common.add_argument("--token", help="an OIDC bearer token instead of keys")
    common.add_argument("--region", default="us-east-1")
    common.add_argument(
        "--data-dir", type=Path, default=Path("zas-data"), help="for the root credentials file"
    )

    user = commands.add_parser("user", help="users (admin API)").add_subparsers(
        dest="subcommand", required=True
    )
    create = user.add_parser("create", parents=[common])
    create.add_argument("name")
    create.add_argument("--policy", action="append", default=[], help="attach (repeatable)")
    for name in ("list",):
        user.add_parser(name, parents=[common])
    for name in ("get", "delete"):
        user.add_parser(name, parents=[common]).add_argument("name")
    for name in ("attach", "detach"):
        sub = user.add_parser(name, parents=[common])
        sub.add_argument("name")
        sub.add_argument("policy")

    key = commands.add_parser("key", help="access keys (admin API)").add_subparsers(
        dest="subcommand", required=True
    )
    for name in ("create", "list"):
        key.add_parser(name, parents=[common]).add_argument("user")
    for name in ("disable", "enable", "delete"):
        sub = key.add_parser(name, parents=[common])
        sub.add_argument("user")
        sub.add_argument("access_key_id")

    policy = commands.add_parser("policy", help="named IAM policies").add_subparsers(
        dest="subcommand", required=True
    )
    policy.add_parser("list", parents=[common])
    for name in ("get", "delete"):
        policy.add_parser(name, parents=[common]).add_argument("id")
    for name in ("create", "update"):
        sub = policy.add_parser(name, parents=[common])
        sub.add_argument("id")
        sub.add_argument("file", help="the policy JSON (- for stdin)")
        sub.add_argument("--description", default="")

    authorize = commands.add_parser(
        "authorize", parents=[common], help="dry-run a decision for a user (or yourself)"
    )
    authorize.add_argument("--user")
    authorize.add_argument("--action", required=True)
    authorize.add_argument("--resource", required=True)
    authorize.set_defaults(subcommand="")

    audit = commands.add_parser("audit", help="the audit log").add_subparsers(
        dest="subcommand", required=True
    )
    query = audit.add_parser("query", parents=[common], help="SQL over the audit_log view")
    query.add_argument("sql")
    query.add_argument("--max-rows", type=int, default=1000)
    query.add_argument("--json", action="store_true")
    search = audit.add_parser("search", parents=[common])
    for name in ("principal", "action", "resource-prefix", "decision", "since", "until"):
        search.add_argument(f"--{name}", dest=name.replace("-", "_"))
    search.add_argument("--limit", type=int, default=100)
    export = audit.add_parser("export", parents=[common], help="write a Parquet file")
    export.add_argument("file")
    export.add_argument("--since")
    export.add_argument("--until")

    add_supplychain_commands(commands, common)


def add_supplychain_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    signing = commands.add_parser("signing-key", help="server signing keys").add_subparsers(
        dest="subcommand", required=True
    )
    create = signing.add_parser("create", parents=[common])
    create.add_argument("--algorithm", default="ecdsa-p256",
                        choices=["ed25519", "ecdsa-p256", "rsa-3072-pss"])  # fmt: skip
    create.add_argument("--description", default="")
    signing.add_parser("list", parents=[common])
    for name in ("export", "rotate", "disable"):
        signing.add_parser(name, parents=[common]).add_argument("key_id")

    trust = commands.add_parser("trust", help="trusted public keys").add_subparsers(
        dest="subcommand", required=True
    )
    add = trust.add_parser("add", parents=[common])
    add.add_argument("key_id")
    add.add_argument("file", help="PEM public key (- for stdin)")
    add.add_argument("--bucket", help="trusted for this bucket only")
    add.add_argument("--rsa-scheme", default="rsa-pss", choices=["rsa-pss", "rsa-pkcs1v15"])
    trust.add_parser("list", parents=[common])
    trust.add_parser("remove", parents=[common]).add_argument("key_id")

    sign = commands.add_parser("sign", parents=[common], help="server-side signing")
    sign.add_argument("object", metavar="BUCKET/KEY")
    sign.add_argument("--form", default="raw", choices=["raw", "dsse"])
    sign.add_argument("--key-id")
    sign.set_defaults(subcommand="")
    verify = commands.add_parser("verify", parents=[common], help="re-check an artifact")
    verify.add_argument("object", metavar="BUCKET/KEY")
    verify.set_defaults(subcommand="")

    evidence = commands.add_parser("evidence", help="attach evidence").add_subparsers(
        dest="subcommand", required=True
    )
    for name in ("signature", "sbom", "attestation"):
        sub = evidence.add_parser(name, parents=[common])
        sub.add_argument("object", metavar="BUCKET/KEY")
        sub.add_argument("file", help="the document (- for stdin)")
        if name == "signature":
            sub.add_argument("--key-id", help="the trusted key of a raw signature")
    vpolicy = commands.add_parser(
        "verification-policy", help="what downloads from a bucket require"
    ).add_subparsers(dest="subcommand", required=True)
    setp = vpolicy.add_parser("set", parents=[common])
    setp.add_argument("bucket")
    setp.add_argument("file")
    vpolicy.add_parser("get", parents=[common]).add_argument("bucket")


def run_admin_command(args: argparse.Namespace) -> Any:
    client = Client(
        args.endpoint,
        find_credentials(args.access_key, args.secret_key, args.token, args.data_dir),
        args.region,
    )
    return COMMANDS[(args.command, args.subcommand)](client, args)
