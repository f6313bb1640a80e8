"""`submit`: accept a run into the board only if its record is what its episode log says, and its episode
log is what its actions give.

Before a record is written under ``leaderboard/submissions/``, every figure in it is recomputed from
the run's ``episodes.jsonl`` (`serl_bench.results.summarize`, the function the harness used) and the
log's and config's hashes are recomputed from the files; any difference is refused, naming the field.
Every episode's ``steps`` must be the number of its actions. Then every episode is replayed on the env of
the record (`serl_bench.leaderboard._replay`) and must give the outcome its log line says; the first
episode that does not is named. ``replay=False`` skips the replay and marks the row unverified.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from serl_bench.results import AnyRecord, canonical_json, config_hash, file_sha256, summarize

from ._replay import ReplayReport, replay_target
from ._replay import replay as _replay
from ._safejson import SubmissionError, read_json
from ._validate import SUBMISSIONS, VERIFICATION, Verification, read_episodes, validate

__all__ = ["SUBMISSIONS", "submission_name", "submit", "verify"]


def submit(run_dir: str | os.PathLike, board: str | os.PathLike = "leaderboard", *, replay: bool = True,
           workers: int | None = None) -> Path:
    """Check the run directory ``run_dir`` and copy its record into ``board/submissions/``; the new file's path.

    ``replay=False`` skips replaying the episodes (for runs whose env cannot be rebuilt here, or to save the
    time on a large board): the row is accepted marked unverified. ``workers``: processes that replay
    (default: one per CPU for large runs, this process alone for small ones)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise SubmissionError(f"{run_dir}: not a run directory (submit takes the directory `eval`/`run` wrote)")
    record = validate(run_dir)
    folder = Path(board) / SUBMISSIONS
    target = folder / submission_name(record)
    for existing in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        other = read_json(existing)
        if isinstance(other, dict) and (other.get("episodes_sha256"), other.get("config_hash")) == (
                record.episodes_sha256, record.config_hash):
            raise SubmissionError(f"{run_dir}: already on the board as {existing.name} (same episode log and config)")
    report = verify(run_dir, record, replay=replay, workers=workers)
    if report is None:
        verification = Verification(replayed=False, episodes=0, steps=0,
                                    note="not replayed (submitted with --no-replay): figures recomputed from the "
                                         "episode log only")
    else:
        verification = Verification(replayed=True, episodes=report.episodes, steps=report.steps,
                                    note=f"replayed: all {report.episodes} episodes ({report.steps} steps) give "
                                         "the outcomes their log lines say")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(target, "x", encoding="utf-8") as f:  # never overwrite
            f.write(json.dumps({**record.model_dump(mode="json"), VERIFICATION: verification.model_dump()},
                               indent=2, sort_keys=True) + "\n")
    except FileExistsError:
        raise SubmissionError(f"{target} already exists") from None
    except OSError as exc:
        raise SubmissionError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


def verify(run_dir: Path, record: AnyRecord, *, replay: bool = True, workers: int | None = None
           ) -> ReplayReport | None:
    """Refuse ``record`` unless its figures and hashes match the run's episode log and config, every episode's
    ``steps`` is its number of actions, and (with ``replay``) every episode replays to its logged outcome.
    The replay's report, or None without ``replay``."""
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
    episodes = read_episodes(episodes_path)
    summary = summarize(asdict(e) for e in episodes)
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
    for e in sorted(episodes, key=lambda e: e.episode):
        if e.steps != len(e.actions):
            raise SubmissionError(f"{episodes_path}: episode {e.episode} says {e.steps} steps but lists "
                                  f"{len(e.actions)} actions (one action a step)")
    if not replay:
        return None
    return _replay(replay_target(record, config, str(run_dir)), episodes, str(run_dir), workers=workers)


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
