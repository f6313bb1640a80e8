"""A run directory: ``config.json``, ``episodes.jsonl`` (append-only), ``results.json``.

Episodes are appended and flushed to disk one by one, so a killed run keeps every finished episode;
resuming re-reads the log and continues where it stopped, never duplicating an episode.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import RunDirError
from .results import canonical_json, config_hash


class RunDir:
    """Reads and writes one run's files."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.config_path = self.path / "config.json"
        self.episodes_path = self.path / "episodes.jsonl"
        self.results_path = self.path / "results.json"

    @classmethod
    def open(cls, path: str | os.PathLike, config: Mapping[str, Any], *, resume: bool) -> RunDir:
        """Create a run directory for ``config``, or reopen one with the same config when resuming."""
        run = cls(path)
        run.check_available(resume=resume)
        if run.config_path.exists():
            stored = run.read_config()
            if config_hash(stored) != config_hash(config):
                changed = sorted(k for k in set(stored) | set(config) if stored.get(k) != config.get(k))
                raise RunDirError(f"{run.path} holds a run with a different configuration ({', '.join(changed)}); "
                                  "choose another --out")
            return run
        try:
            run.path.mkdir(parents=True, exist_ok=True)
            _write_atomic(run.config_path, json.dumps(config, indent=2, sort_keys=True) + "\n")
        except OSError as exc:
            raise RunDirError(f"cannot write run directory {run.path}: {exc.strerror or exc}") from None
        return run

    def check_available(self, *, resume: bool) -> None:
        """Refuse to start a new run over an existing one (a cheap check before any work)."""
        if self.config_path.exists() and not resume:
            raise RunDirError(f"{self.path} already holds a run; pass --resume to continue it or choose another --out")

    def read_config(self) -> dict[str, Any]:
        try:
            return json.loads(self.config_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise RunDirError(f"cannot read {self.config_path}: {exc}") from None

    def read_episodes(self) -> list[dict[str, Any]]:
        """All complete episode records. A torn last line (the run was killed mid-write) is cut off."""
        if not self.episodes_path.exists():
            return []
        data = self.episodes_path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) != len(data):
            with open(self.episodes_path, "r+b") as f:
                f.truncate(len(complete))
        records = []
        for number, line in enumerate(complete.decode("utf-8", errors="replace").splitlines(), 1):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise RunDirError(f"{self.episodes_path}:{number} is not a JSON line; the log is damaged, "
                                  "so this run cannot be resumed") from None
        return records

    def append_episode(self, record: Mapping[str, Any]) -> None:
        with open(self.episodes_path, "a", encoding="utf-8") as f:
            f.write(canonical_json(record) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def write_results(self, text: str) -> None:
        _write_atomic(self.results_path, text)

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    def append_metrics(self, metrics: Mapping[str, Any]) -> None:
        """One update's metrics as a line of ``metrics.jsonl``."""
        with open(self.metrics_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(dict(metrics), sort_keys=True) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_path.exists():
            return []
        return [json.loads(line) for line in self.metrics_path.read_text().splitlines() if line.strip()]

    def trim_metrics(self, before: int) -> None:
        """Drop metric lines of updates that the checkpoint being resumed does not include."""
        if self.metrics_path.exists():
            kept = [m for m in self.read_metrics() if m.get("update", -1) < before]
            self.metrics_path.write_text("".join(json.dumps(m, sort_keys=True) + "\n" for m in kept))


def new_run_path(name: str) -> Path:
    """``runs/<name>``, or ``runs/<name>-2``, ``-3``... where that is taken."""
    path, n = Path("runs") / name, 1
    while path.exists():
        n += 1
        path = Path("runs") / f"{name}-{n}"
    return path


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
