"""Server configuration: defaults, then a YAML file, then ZAS_* environment variables, then flags.

Each layer overrides the one before, so a container can ship a file and tweak it with env.
YAML keys and environment names match the field names (`data_dir` / `ZAS_DATA_DIR`).
"""

from __future__ import annotations

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
    # Seconds in-flight requests get to finish after SIGINT/SIGTERM.
    shutdown_grace: float = 30.0
    log_level: str = "INFO"
    # Incomplete multipart uploads are aborted (and their parts collected) after this many days.
    multipart_expiry_days: float = 7.0
    # Virtual-hosted-style requests: with "s3.example.com", Host "b.s3.example.com" means
    # bucket "b". Unset: path style only.
    domain: str | None = None

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
    if field_type == "float":
        return float(value)
    return str(value)


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
