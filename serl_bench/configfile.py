"""Settings files for ``run``, ``eval`` and ``experiment`` (``--config FILE``): TOML, YAML or JSON.

A file holds the same settings as the command's flags, by field name (``max_steps = 15``, ``[method_args]``
tables for the KEY=VALUE flags). Flags given on the command line win over the file; the file wins over a
profile's defaults. A run's own ``config.json`` is such a file, so ``serl-bench run --config
runs/x/config.json --out runs/y`` runs it again (its ``command`` must match the subcommand).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from .errors import ConfigError

SUFFIXES = (".toml", ".yaml", ".yml", ".json")


def read_config_file(path: str | Path, command: str, fields: list[str]) -> dict[str, Any]:
    """The settings of ``path`` for ``command``: a mapping of field names (checked) to values."""
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise ConfigError(f"--config {path}: use a .toml, .yaml or .json file (the suffix says which)")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--config {path}: cannot read it ({exc.strerror or exc})") from None
    try:
        data = _parse(text, path.suffix)
    except (ValueError, TypeError) as exc:  # tomllib, json and yaml errors are ValueErrors or YAMLErrors
        reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"--config {path} is not valid {path.suffix[1:].upper()}: {reason}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"--config {path} holds a {type(data).__name__}, not a table of settings")
    data = dict(data)
    stored = data.pop("command", command)
    if stored != command:
        raise ConfigError(f"--config {path} is the configuration of `serl-bench {stored}`, not of `serl-bench "
                          f"{command}`: use it with `serl-bench {stored} --config {path}`")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"--config {path}: {unknown[0]!r} is not a setting of `serl-bench {command}`; its settings: "
                          f"{', '.join(sorted(fields))}")
    return data


def _parse(text: str, suffix: str) -> Any:
    if suffix == ".toml":
        return tomllib.loads(text)
    if suffix == ".json":
        return json.loads(text)
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc).replace("\n", " ")) from None
