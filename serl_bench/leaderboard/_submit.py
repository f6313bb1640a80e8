"""`submit`: accept a run into the board only if its record is what its episode log says.

Before a record is written under ``leaderboard/submissions/``, every figure in it is recomputed from
the run's ``episodes.jsonl`` (`serl_bench.results.summarize`, the function the harness used) and the
log's and config's hashes are recomputed from the files; any difference is refused, naming the field.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from serl_bench.results import AnyRecord, canonical_json, config_hash, file_sha256, summarize

from ._safejson import SubmissionError, read_json
from ._validate import read_episodes, validate

SUBMISSIONS = "submissions"


def submit(run_dir: str | os.PathLike, board: str | os.PathLike = "leaderboard") -> Path:
    """Check the run directory ``run_dir`` and copy its record into ``board/submissions/``; the new file's path."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise SubmissionError(f"{run_dir}: not a run directory (submit takes the directory `eval`/`run` wrote)")
    record = validate(run_dir)
    verify(run_dir, record)
    folder = Path(board) / SUBMISSIONS
    target = folder / submission_name(record)
    for existing in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        other = read_json(existing)
        if isinstance(other, dict) and (other.get("episodes_sha256"), other.get("config_hash")) == (
                record.episodes_sha256, record.config_hash):
            raise SubmissionError(f"{run_dir}: already on the board as {existing.name} (same episode log and config)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(target, "x", encoding="utf-8") as f:  # never overwrite
            f.write(record.to_json())
    except FileExistsError:
        raise SubmissionError(f"{target} already exists") from None
    except OSError as exc:
        raise SubmissionError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


def verify(run_dir: Path, record: AnyRecord) -> None:
    """Refuse ``record`` unless its figures and hashes match the run's episode log and config."""
    episodes_path, config_path = run_dir / "episodes.jsonl", run_dir / "config.json"
    differences = []
    actual_log = file_sha256(episodes_path) if episodes_path.is_file() else None
    if actual_log is None:
        raise SubmissionError(f"{run_dir}: no episodes.jsonl; the leaderboard recomputes every figure from it")
    if actual_log != record.episodes_sha256:
        differences.append(f"episodes_sha256 (record {record.episodes_sha256[:12]}…, log {actual_log[:12]}…)")
    config = read_json(config_path)
    if config_hash(config) != record.config_hash:
        differences.append("config_hash (config.json is not the configuration the record was written for)")
    summary = summarize(asdict(e) for e in read_episodes(episodes_path))
    expected: dict[str, Any] = {
        "episodes": summary.episodes,
        "success_rate": summary.success_rate,
        "success_ci95": list(summary.success_ci95),
        "score_mean": summary.score_mean,
        "mean_steps": summary.mean_steps,
        "errors": summary.errors,
        "per_task_type": {t: asdict(s) for t, s in summary.per_task_type.items()},
    }
    claimed = record.model_dump(mode="json")
    for key, value in expected.items():
        if not _same(claimed[key], value):
            differences.append(f"{key} (record {_brief(claimed[key])}, episode log {_brief(value)})")
    if differences:
        raise SubmissionError(f"{run_dir}: the record does not match the run: " + "; ".join(differences))


def submission_name(record: AnyRecord) -> str:
    """``<env>-<split>-<method>-<12 hex digits of the log and config hashes>.json``, a safe file name anywhere."""
    parts = [record.env, record.split, record.method]
    safe = [re.sub(r"[^A-Za-z0-9._-]+", "_", p).strip("._-")[:60] or "_" for p in parts]
    identity = hashlib.sha256(f"{record.episodes_sha256}:{record.config_hash}".encode()).hexdigest()[:12]
    return "-".join(safe + [identity]) + ".json"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _brief(value: Any) -> str:
    text = canonical_json(value)
    return text if len(text) <= 60 else text[:57] + "..."
