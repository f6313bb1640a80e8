"""``serl-bench run``: train a method and write its run directory (config, metrics, checkpoints, results).

`train` resolves the config (profile, method and its arguments), opens the run directory, and runs the
loop: per update ``method.begin_update`` -> ``method.collect`` -> `Trainer.update` -> metrics ->
periodic evaluation -> checkpoint; at the end the harness evaluates the policy into ``episodes.jsonl`` and
the run gets its results record.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serl_bench.errors import ConfigError
from serl_bench.harness import protocol_of, results_record
from serl_bench.methods import build_method, get_method
from serl_bench.models import resolve_model, weights_sha256
from serl_bench.results import ResultsRecord
from serl_bench.rundir import RunDir, new_run_path
from serl_bench.transcripts import group_transcripts

from ._config import TrainConfig, resolve_device, with_profile
from ._distributed import Ranks, barrier, broadcast, ranks_from_env
from ._distributed import start as start_ranks
from ._loggers import MetricsLogger, check_logger
from ._method import TrainingMethod


@dataclass(frozen=True)
class TrainResult:
    path: Path
    record: ResultsRecord | None  #: None on a rank other than 0 (rank 0 writes and evaluates)


def train(config: TrainConfig, *, out: str | Path | None = None, resume: bool = False, progress: bool = True,
          explicit: frozenset[str] = frozenset()) -> TrainResult:
    """Train ``config.method``; ``explicit`` names the fields the user set (they win over the profile)."""
    config = with_profile(config, set(explicit))
    if config.model == "auto":  # the env's warm start, built once; else the bundled model
        from serl_bench.envs import env_entry
        from serl_bench.warmstart import is_warm_start

        name = f"default-sft-{env_entry(config.env).name}"
        config = dataclasses.replace(config, model=name if is_warm_start(name) else "default")
    get_method(config.method)
    config.check()
    method, method_args = build_method(config.method, **config.method_args)
    if not isinstance(method, TrainingMethod):
        raise ConfigError(f"{config.method} is not a training method: evaluate it with `serl-bench eval --method "
                          f"{config.method}`")
    check_before_work(config, method)
    ranks = ranks_from_env()
    start_ranks(ranks, resolve_device(config.device))
    if out is not None and ranks.main:
        RunDir(out).check_available(resume=resume)
    resolve_model(config.model)  # a model that cannot be loaded fails before the run directory is written
    out = Path(out) if out else new_run_path(f"{config.method}-{config.env}-{time.strftime('%Y%m%d-%H%M%S')}")
    out = broadcast(out, ranks)  # every rank works on rank 0's run
    if not ranks.main:
        return _follow(config, method, out, resume, ranks)
    resolved = {"command": "run", **dataclasses.asdict(config), "method_args": method_args}
    with RunDir.open(out, resolved, resume=resume) as run:
        from ._trainer import Trainer, recover_checkpoints

        recover_checkpoints(run.path / "checkpoints")
        if config.eval_before:
            evaluate_start(config, run.path / "start", progress=progress)
        barrier(ranks)  # the other ranks wait for the run directory (and the starting model's evaluation)
        started = time.time()  # the segment's clock starts before the model loads
        trainer = Trainer(config, method, run, progress=progress, ranks=ranks)
        trainer.segment_started = started
        logger = None
        try:
            start = trainer.load() if resume and trainer.checkpoint_dir.exists() else 0
            run.trim_metrics(start)
            run.keep_transcripts(before_update=start)
            logger = MetricsLogger(config.logger, run.path, name=run.path.name, config=resolved)
            _loop(trainer, start, logger)
            record = _finish(trainer, out.name, method_args)
        finally:
            if logger is not None:
                logger.close()
            trainer.close()
    return TrainResult(path=run.path, record=record)


def _follow(config: TrainConfig, method: TrainingMethod, out: Path, resume: bool, ranks: Ranks) -> TrainResult:
    """A rank other than 0: the same loop on its share of the rollouts and minibatches, writing nothing. It
    reads the checkpoint it resumes from in rank 0's run directory once rank 0 has opened (and repaired) it."""
    from ._trainer import Trainer

    barrier(ranks)
    trainer = Trainer(config, method, RunDir(out), progress=False, ranks=ranks)
    try:
        start = trainer.load() if resume and trainer.checkpoint_dir.exists() else 0
        _loop(trainer, start, None)
    finally:
        trainer.close()
    return TrainResult(path=out, record=None)


def check_before_work(config: TrainConfig, method: TrainingMethod) -> None:
    """Everything a run needs that can be checked without loading a model: the feedback spec, the env's
    arguments, the device and the rollout backend. A one-line `ConfigError`, before any directory is written."""
    import importlib.util

    import torch

    from serl_bench.envs import env_entry
    from serl_bench.feedback import FeedbackSpec

    from ._config import Device, RolloutBackend

    if method.uses_feedback:
        FeedbackSpec.parse(config.feedback, config.granularity, **config.feedback_args)
    entry = env_entry(config.env)
    entry.check_args({**config.env_args, **config.eval_env_args})  # the training envs' and the evaluation's
    if config.device == Device.CUDA and not torch.cuda.is_available():
        via = f" (the {config.profile} profile's)" if config.profile != "cpu-small" else ""
        raise ConfigError(f"--device cuda{via} needs a CUDA GPU and this machine has none visible: use --device cpu, "
                          "or --profile cpu-small")
    check_logger(config.logger)
    if config.backend == RolloutBackend.VLLM and importlib.util.find_spec("vllm") is None:
        raise ConfigError("--backend vllm needs vLLM, which is not installed: pip install vllm (GPU machines), or "
                          "--backend hf")


def _loop(trainer: Any, start: int, logger: MetricsLogger | None) -> None:
    """The updates from ``start`` on. ``logger`` None: a rank other than 0, which logs and evaluates nothing."""
    c, method, main = trainer.config, trainer.method, logger is not None
    bar = None
    if trainer.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=c.updates, initial=start, desc=f"train {c.method} on {c.env}", unit="update")
    for k in range(start, c.updates):
        t0 = time.time()
        method.begin_update(k)
        batch = method.collect(trainer, k)
        t1 = time.time()
        trainer.totals["rollouts"] += sum(len(g.trajectories) for g in batch.groups)
        for g in range(c.train_transcripts.count(len(batch.groups)) if main else 0):
            for line in group_transcripts(k, batch.groups[g].trajectories, g):
                trainer.run.append_transcript(line, train=True)
        metrics = trainer.update(batch, k)
        metrics.update({"time/rollout_s": round(t1 - t0, 2), "time/update_s": round(time.time() - t1, 2)})
        if main:
            if c.eval_every and (k + 1) % c.eval_every == 0:
                evaluated = trainer.evaluate()
                metrics["eval/success_rate"] = sum(t.won for t in evaluated) / len(evaluated)
                metrics["eval/score_mean"] = sum(t.score for t in evaluated) / len(evaluated)
            trainer.run.append_metrics(metrics)
            logger.log(metrics, k)
            (bar.write if bar is not None else print)(_update_line(metrics, c.updates))
        if (c.checkpoint_every and (k + 1) % c.checkpoint_every == 0) or k == c.updates - 1:
            trainer.save(k)
        if bar is not None:
            bar.set_postfix_str(f"success {metrics['charts/success_rate']:.2f} valid "
                                f"{metrics['charts/valid_action_rate']:.2f}", refresh=False)
            bar.update(1)
    if bar is not None:
        bar.close()


def _update_line(m: dict[str, Any], updates: int) -> str:
    """One console line per update: what the rollouts did, what the update did, and how long each took."""
    did = m["skipped"] if "skipped" in m else (
        f"loss {m.get('losses/policy_loss', 0.0):.4f}  clip {m.get('losses/clip_fraction', 0.0):.2f}"
        f"  samples {m.get('samples', 0)}")
    return (f"update {m['update'] + 1}/{updates}  success {m.get('charts/success_rate', 0.0):.2f}  score "
            f"{m.get('charts/score_mean', 0.0):.2f}  valid {m.get('charts/valid_action_rate', 0.0):.2f}  {did}  "
            f"rollout {m.get('time/rollout_s', 0.0):.0f} s  update {m.get('time/update_s', 0.0):.0f} s")


def _finish(trainer: Any, run_id: str, method_args: dict[str, Any]) -> ResultsRecord:
    """Evaluate the trained policy into the episode log and write the results record."""
    c, run = trainer.config, trainer.run
    if run.results_path.exists() and run.episodes_path.exists():  # a finished run, resumed: evaluate afresh
        run.episodes_path.unlink()  # (a final evaluation that was cut short continues where it stopped)
    trainer.evaluate_into(run)
    split = trainer.eval_envs[0].unwrapped.split
    record = results_record(
        run, run_id, method=c.method, method_args=method_args, env=trainer.entry.name, split=trainer.eval_split,
        split_source=split.source, split_fingerprint=split.fingerprint, seeds=[c.eval_seed],
        protocol=protocol_of(trainer.eval_agents[0], episodes=c.eval_episodes, seed=c.eval_seed,
                             max_steps=c.max_steps),
        model=_trained_model(trainer), feedback=trainer.spec.as_record() if trainer.spec else None,
        training={"updates": c.updates, "rollouts": trainer.totals["rollouts"], "tokens": trainer.totals["tokens"],
                  "wall_clock_s": round(trainer.elapsed(), 1), "device": trainer.device,
                  "start_model": trainer.start_origin, "settings": _loop_settings(c)})
    run.write_results(record.to_json())
    return record


def _trained_model(trainer: Any) -> dict[str, Any]:
    """The evaluated policy: this run's last checkpoint, trained from the starting model."""
    origin = {k: v for k, v in trainer.origin_record().items() if k != "agent"}
    origin["sha256"] = weights_sha256(trainer.checkpoint_dir / "model")
    return {"name": trainer.run.path.name, "source": "run", "origin": origin,
            "parameters": sum(p.numel() for p in trainer.model.parameters()),
            "dtype": str(trainer.model.dtype).removeprefix("torch.")}


def _loop_settings(config: TrainConfig) -> dict[str, Any]:
    """The loop's settings worth seeing beside the budget (config.json holds all of them)."""
    keep = ("split", "tasks_per_update", "group_size", "max_steps", "max_new_tokens", "temperature", "history",
            "lr", "weight_decay", "epochs", "train_layers", "drop_zero_advantage", "minibatch", "ppo_clip", "dual_clip",
            "entropy_coef", "max_grad_norm", "seed", "profile")
    return {k: getattr(config, k) for k in keep}


def evaluate_start(config: TrainConfig, out: Path, *, progress: bool = True) -> ResultsRecord:
    """The starting model on the run's evaluation panel, with the protocol of the run's final evaluation,
    through the harness: the run directory ``serl-bench eval --method react --model <start>`` would write."""
    from serl_bench.envs import env_entry
    from serl_bench.harness import EvalConfig, evaluate

    if (out / "results.json").is_file():
        from serl_bench.leaderboard import validate

        return validate(out)
    entry = env_entry(config.env)
    dtype = config.dtype if config.dtype != "auto" else "float32"  # the trainer's policy weights on a CPU
    eval_config = EvalConfig(
        method="react", env=config.env, split=config.eval_split or entry.default_split, episodes=config.eval_episodes,
        seed=config.eval_seed, model=config.model, max_steps=config.max_steps,
        env_args={**config.env_args, **config.eval_env_args}, batch=config.eval_batch,
        env_workers=config.env_workers, env_timeout=config.env_timeout, ray_address=config.ray_address,
        method_args={"temperature": config.eval_temperature, "history": config.history, "prompt": str(config.prompt),
                     "max_new_tokens": config.max_new_tokens, "dtype": dtype})
    return evaluate(eval_config, out=out, resume=out.exists(), progress=progress).record
