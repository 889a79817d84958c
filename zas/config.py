"""Server configuration: defaults, then a YAML file, then ZAS_* environment variables, then flags.

Each layer overrides the one before, so a container can ship a file and tweak it with env.
YAML keys and environment names match the field names (`data_dir` / `ZAS_DATA_DIR`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml


@attrs.frozen(repr=False)
class Config:
    data_dir: Path = Path("zas-data")
    listen: str = "127.0.0.1:8080"
    region: str = "us-east-1"
    root_access_key: str | None = None
    root_secret_key: str | None = None
    # fsync blobs and directories before answering. Only turn off for throwaway test data.
    fsync: bool = True
    # A plain PUT's metadata row is durable in a journal file (one fdatasync per group of
    # requests) and reaches DuckDB within a second; off: every PUT waits for its
    # DuckDB transaction (BENCHMARKS.md, session 8).
    metadata_journal: bool = True
    # Small blobs are stored, and blobs deleted, by a helper process (zas.storage.blob_process):
    # its system calls then do not compete for the server's GIL. Off: worker threads do it.
    blob_process: bool = True
    # After SIGINT/SIGTERM: seconds /health/ready answers 503 while requests are still served
    # (so a load balancer or Kubernetes can take the instance out first), then seconds
    # in-flight requests get to finish once no new connection is accepted.
    shutdown_delay: float = 0.0
    shutdown_grace: float = 30.0
    log_level: str = "INFO"
    # "json" (one object per line, for log pipelines) or "text".
    log_format: str = "json"
    # One line per request on the zas.access logger.
    access_log: bool = True
    # /metrics: on the main listener it needs the zas:GetMetrics permission, or this bearer
    # token when set; `metrics_listen` adds a second listener serving only /metrics and
    # /health*, without authentication (bind it where only Prometheus can reach it).
    metrics_token: str | None = None
    # Count requests for /metrics (off only to measure what counting costs: bench/).
    metrics: bool = True
    metrics_listen: str | None = None
    # Incomplete multipart uploads are aborted (and their parts collected) after this many days.
    multipart_expiry_days: float = 7.0
    # Virtual-hosted-style requests: with "s3.example.com", Host "b.s3.example.com" means
    # bucket "b". Unset: path style only.
    domain: str | None = None
    # Base64 of 32 random bytes sealing stored secrets; unset: `master.key` in the data dir.
    master_key: str | None = None
    # OIDC (Keycloak): bearer tokens and STS AssumeRoleWithWebIdentity. Unset: no SSO.
    # e.g. http://keycloak:8080/realms/zas ; discovery at <issuer>/.well-known/openid-configuration
    oidc_issuer: str | None = None
    # Accepted `aud` values (comma-separated), and the client whose resource_access roles count.
    oidc_audience: str = "zas"
    oidc_client_id: str = "zas"
    # Where roles and groups are in the token (comma-separated dotted paths; {client_id} is
    # replaced by oidc_client_id). Keycloak's defaults.
    oidc_role_claims: str = "realm_access.roles,resource_access.{client_id}.roles"
    oidc_group_claims: str = "groups"
    # A token signed by an unknown key makes ZAS refetch the issuer's keys (rotation), at most
    # once per this many seconds.
    oidc_jwks_refresh_seconds: float = 30.0
    # Clock skew allowed between ZAS and the identity provider for exp/nbf/iat.
    oidc_leeway_seconds: float = 60.0
    # Which policies a token's roles (realm or client roles) and groups grant:
    # YAML mappings, or JSON in the environment: {"zas-writer": ["readwrite"]}.
    role_policies: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    group_policies: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    # Audit records older than this many days are deleted (hourly). Unset: kept forever.
    audit_retention_days: float | None = None

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]") or "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    def __repr__(self) -> str:
        return f"Config(data_dir={self.data_dir}, listen={self.listen}, region={self.region})"


_FIELDS = {field.name: field for field in attrs.fields(Config)}


def _coerce(name: str, value: Any) -> Any:
    if value is None:
        return None
    field_type = str(_FIELDS[name].type)
    if name == "data_dir":
        return Path(value)
    if field_type == "bool":
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("1", "true", "yes", "on")
    if field_type.startswith("float"):
        return float(value)
    if field_type.startswith("dict"):
        return _policy_mapping(name, value)
    return str(value)


def _policy_mapping(name: str, value: Any) -> dict[str, tuple[str, ...]]:
    """{"role": ["policy", ...]} from YAML or from JSON text (environment variables)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{name}: expected a JSON object ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{name}: expected a mapping of role or group to policy names")
    mapping: dict[str, tuple[str, ...]] = {}
    for key, policies in value.items():
        if isinstance(policies, str):
            policies = [policies]
        if not isinstance(policies, list) or not all(isinstance(p, str) for p in policies):
            raise ValueError(f"{name}: {key!r} must map to a list of policy names")
        mapping[str(key)] = tuple(policies)
    return mapping


def load_config(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    values: dict[str, Any] = {}
    if config_file is not None:
        loaded = yaml.safe_load(config_file.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{config_file}: expected a mapping of settings")
        unknown = set(loaded) - set(_FIELDS)
        if unknown:
            raise ValueError(f"{config_file}: unknown settings {sorted(unknown)}")
        values.update(loaded)
    env = os.environ if environ is None else environ
    for name in _FIELDS:
        env_value = env.get(f"ZAS_{name.upper()}")
        if env_value is not None:
            values[name] = env_value
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
    config = Config(**{name: _coerce(name, value) for name, value in values.items()})
    config.port  # noqa: B018 - validates the listen address early
    return config
