"""``serl-bench run``: train a method and write its run directory (config, metrics, checkpoints, results)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serl_bench.errors import ConfigError
from serl_bench.methods import build_method, get_method
from serl_bench.results import ResultsRecord
from serl_bench.rundir import RunDir, new_run_path

from ._config import TrainConfig, with_profile
from ._method import TrainingMethod


@dataclass(frozen=True)
class TrainResult:
    path: Path
    record: ResultsRecord


def train(config: TrainConfig, *, out: str | Path | None = None, resume: bool = False, progress: bool = True,
          explicit: frozenset[str] = frozenset()) -> TrainResult:
    """Train ``config.method``; ``explicit`` names the fields the user set (they win over the profile)."""
    config = with_profile(config, set(explicit))
    _check(config)
    method, method_args = build_method(config.method)
    if not isinstance(method, TrainingMethod):
        raise ConfigError(f"{config.method} is not a training method: evaluate it with `serl-bench eval --method "
                          f"{config.method}`")
    if out is not None:
        RunDir(out).check_available(resume=resume)
    out = Path(out) if out else new_run_path(f"{config.method}-{config.env}-{time.strftime('%Y%m%d-%H%M%S')}")
    run = RunDir.open(out, {"command": "run", **dataclasses.asdict(config)}, resume=resume)
    from ._loop import Trainer, append_metrics, finish, trim_metrics

    started = time.time()
    trainer = Trainer(config, method, run, progress=progress)
    try:
        start = trainer.load() if resume and trainer.checkpoint_dir.exists() else 0
        trim_metrics(run, start)
        _loop(trainer, start, append_metrics)
        record = finish(trainer, out.name, method_args, started)
    finally:
        trainer.close()
    return TrainResult(path=run.path, record=record)


def _loop(trainer: Any, start: int, append_metrics: Any) -> None:
    c = trainer.config
    bar = None
    if trainer.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=c.updates, initial=start, desc=f"train {c.method} on {c.env}", unit="update")
    for k in range(start, c.updates):
        t0 = time.time()
        batch = trainer.method.collect(trainer, k)
        t1 = time.time()
        trainer.totals["rollouts"] += sum(len(g.trajectories) for g in batch.groups)
        metrics = trainer.update(batch, k)
        metrics.update({"time/rollout_s": round(t1 - t0, 2), "time/update_s": round(time.time() - t1, 2)})
        if c.eval_every and (k + 1) % c.eval_every == 0:
            evaluated = trainer.evaluate()
            metrics["eval/success_rate"] = sum(t.won for t in evaluated) / len(evaluated)
            metrics["eval/score_mean"] = sum(t.score for t in evaluated) / len(evaluated)
        append_metrics(trainer.run, metrics)
        if (c.checkpoint_every and (k + 1) % c.checkpoint_every == 0) or k == c.updates - 1:
            trainer.save(k)
        if bar is not None:
            bar.set_postfix_str(f"success {metrics['charts/success_rate']:.2f} valid "
                                f"{metrics['charts/valid_action_rate']:.2f}", refresh=False)
            bar.update(1)
    if bar is not None:
        bar.close()


def _check(config: TrainConfig) -> None:
    get_method(config.method)
    positive = ("updates", "tasks_per_update", "group_size", "max_steps", "max_new_tokens", "epochs", "minibatch",
                "micro_batch", "eval_episodes", "teacher_sync_interval")
    for name in positive:
        if getattr(config, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(config, name)}")
    if config.lr <= 0 or not 0 < config.ppo_clip < 1 or not 0 <= config.weight_clip < 1:
        raise ConfigError("--lr must be > 0, --ppo-clip in (0, 1) and --weight-clip in [0, 1)")
