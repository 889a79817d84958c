"""The `zas` command: `zas serve` runs the server; `zas user|key|policy|authorize|audit` call
the admin API of a running one (zas.cli.admin)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import trio

from zas.cli.admin import add_admin_commands, run_admin_command
from zas.cli.client import CliError
from zas.config import load_config
from zas.observability.logs import configure_logging, register_secret
from zas.observability.tracing import tracer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zas", description="ZAS, the Zot Artifact Store")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the S3-compatible server")
    serve.add_argument("--data-dir", type=Path, help="where blobs and metadata live (./zas-data)")
    serve.add_argument("--listen", metavar="HOST:PORT", help="address to bind (127.0.0.1:8080)")
    serve.add_argument("--config", type=Path, help="YAML settings file (ZAS_* env overrides it)")
    serve.add_argument("--region", help="the region reported to clients (us-east-1)")
    add_admin_commands(commands)
    args = parser.parse_args(argv)

    if args.command == "serve":
        try:
            config = load_config(
                args.config,
                overrides={"data_dir": args.data_dir, "listen": args.listen, "region": args.region},
            )
        except (OSError, ValueError) as exc:
            print(f"zas: invalid configuration: {exc}", file=sys.stderr)
            return 2
        if config.log_format not in ("json", "text"):
            print(f"zas: invalid configuration: log_format {config.log_format!r}", file=sys.stderr)
            return 2
        configure_logging(
            config.log_level,
            "json" if config.log_format == "json" else "text",
            trace_id_source=lambda: tracer().current_trace_id(),
        )
        for secret in (config.root_secret_key, config.master_key, config.metrics_token):
            if secret:
                register_secret(secret)
        from zas.server import run

        trio.run(run, config)
        return 0
    try:
        result = run_admin_command(args)
    except CliError as exc:
        print(f"zas: {exc}", file=sys.stderr)
        return 1
    if isinstance(result, str):
        print(result)
    elif result is not None:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
