"""``serl-bench feedback``: collect groups with a policy and write every step's hindsight context.

So a researcher can read exactly what the teacher would see under any feedback configuration::

    from serl_bench.feedback import FeedbackRunConfig, collect_feedback
    run = collect_feedback(FeedbackRunConfig(env="alfworld", feedback="successful_trajectory|immediate_feedback",
                                             granularity="anchor", group_size=4), out="contexts.jsonl")
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serl_bench.envs import env_entry
from serl_bench.envworkers import DEFAULT_TIMEOUT, check_worker_settings
from serl_bench.errors import ConfigError
from serl_bench.methods import build_method, get_method
from serl_bench.options import option
from serl_bench.rollouts import GroupPlan, collect_groups, make_envs
from serl_bench.rundir import write_atomic
from serl_bench.trajectories import Batch

from ._contexts import GroupContexts, build_contexts, teacher_prompt
from ._judge import JudgeConfig, OpenAIJudge
from ._spec import FeedbackSpec, Granularity, Source


@dataclass(frozen=True)
class FeedbackRunConfig:
    """Configuration of ``serl-bench feedback``."""

    env: str = option("environment (see `serl-bench envs`)", default="alfworld")
    split: str | None = option("task split; default: the env's test split", default=None)
    policy: str = option("method(s) playing the rollouts, comma-separated: rollout i uses the (i mod n)-th",
                       default="noisy-expert,random")
    group_size: int = option("rollouts per task (G)", default=4)
    tasks: int = option("number of tasks (groups), taken in split order", default=6)
    seed: int = option("base seed: group k, rollout i uses seed + 1000 k + i", default=0)
    max_steps: int | None = option("steps after which an episode is truncated; default: the env's", default=None)
    feedback: str = option("sources joined with + (all) or | (fallback), e.g. successful_trajectory|immediate_feedback",
                         default="successful_trajectory|immediate_feedback")
    granularity: Granularity = option("where feedback is inserted", default=Granularity.STEP)
    feedback_args: dict[str, Any] = option("options of the feedback spec, e.g. anchor_similarity=0.9, "
                                           "expert_fallback=true, layout=inline", default_factory=dict)
    judge_url: str | None = option("OpenAI-compatible endpoint condensing current_trajectory, e.g. "
                                 "http://127.0.0.1:8000/v1", default=None)
    judge_model: str | None = option("model name the judge endpoint serves", default=None)
    judge_timeout: float = option("seconds a judge request may take, connecting and the whole answer", default=30.0)
    env_args: dict[str, Any] = option("extra keyword arguments for the environment", default_factory=dict)
    env_workers: int = option("worker processes the rollouts' envs live in (0: one env in this process); the "
                              "rollouts are the same", default=0)
    env_timeout: float = option("seconds an env worker may take over one step before it is called hung",
                                default=DEFAULT_TIMEOUT)
    ray_address: str | None = option("run the env workers as Ray actors on this cluster (`auto`, HOST:PORT, or `local` "
                                     "for a Ray of this process's); needs --env-workers N", default=None)

    def spec(self) -> FeedbackSpec:
        return FeedbackSpec.parse(self.feedback, self.granularity, **self.feedback_args)


@dataclass(frozen=True)
class FeedbackRun:
    out: Path
    batch: Batch
    contexts: list[GroupContexts]
    seconds_building: float  #: time spent building contexts (rollouts excluded)
    judge: dict[str, int] | None = None  #: with a judge: trajectories sent, condensed, failed, HTTP requests

    def summary(self) -> dict[str, Any]:
        flat = [c for group in self.contexts for trajectory in group for c in trajectory]
        usage = Counter(s.value for c in flat if c is not None for s in c.sources)
        trajectories = [t for g in self.batch.groups for t in g.trajectories]
        return {"groups": len(self.batch.groups), "rollouts": len(trajectories),
                "success_rate": sum(t.won for t in trajectories) / max(1, len(trajectories)),
                "steps": len(flat), "steps_with_context": sum(c is not None for c in flat),
                "distinct_contexts": len({id(c) for c in flat if c is not None}),
                "source_usage": dict(usage), "seconds_building": round(self.seconds_building, 4),
                "judge": self.judge}


def collect_feedback(config: FeedbackRunConfig, *, out: str | Path, progress: bool = True) -> FeedbackRun:
    """Collect ``config.tasks`` groups, build every step's context, write them as JSON lines to ``out``."""
    entry = env_entry(config.env)
    spec = config.spec()
    unsupported = [s.value for s in spec.sources if s.value not in entry.feedback_sources]
    if unsupported:
        raise ConfigError(f"env {entry.name} cannot feed {', '.join(unsupported)}; it feeds "
                          f"{', '.join(entry.feedback_sources)}")
    if config.group_size < 1 or config.tasks < 1:
        raise ConfigError("--group-size and --tasks must be at least 1")
    if config.seed < 0 or (config.max_steps is not None and config.max_steps < 1):
        raise ConfigError(f"--seed must be at least 0 and --max-steps at least 1, got {config.seed} and "
                          f"{config.max_steps}")
    if Path(out).is_dir():
        raise ConfigError(f"--out {out} is a folder; name a file for the contexts, e.g. {Path(out) / 'contexts.jsonl'}")
    check_worker_settings(config.env_workers, config.env_timeout, config.ray_address)
    if bool(config.judge_url) != bool(config.judge_model):
        raise ConfigError("--judge-url and --judge-model go together")
    timeout = config.judge_timeout
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        raise ConfigError(f"--judge-timeout must be a positive number of seconds, got {timeout!r}")
    names = [n.strip() for n in config.policy.split(",") if n.strip()]
    for name in names:
        get_method(name)
    policies = [(name, build_method(name)[0]) for name in names]
    expert = build_method("expert")[0] if spec.expert_fallback else None
    judge = OpenAIJudge(JudgeConfig(base_url=config.judge_url, model=config.judge_model, timeout_s=float(timeout))) \
        if config.judge_url else None
    max_steps = config.max_steps if config.max_steps is not None else entry.max_steps
    if config.env_workers:  # one env per worker, and an agent per rollout index so that rollouts run side by side
        policies = [(policies[i % len(policies)][0], policies[i % len(policies)][1].fork())
                    for i in range(max(config.group_size, len(policies)))]
    envs = make_envs(entry, config.split or entry.default_split, max(1, config.env_workers), max_steps=max_steps,
                     env_args=config.env_args, workers=config.env_workers, timeout=config.env_timeout,
                     ray_address=config.ray_address, progress=progress)
    try:
        plan = GroupPlan(tuple(envs[0].unwrapped.task_ids[: config.tasks]), config.group_size, config.seed)
        groups = collect_groups(envs, [agent for _, agent in policies], plan, max_steps=max_steps,
                                policies=[name for name, _ in policies], expert=expert, progress=progress)
    finally:
        for env in envs:
            env.close()
    batch = Batch(groups=tuple(groups))
    start = time.perf_counter()
    contexts = [build_contexts(group, spec, judge) for group in batch.groups]
    judged = None
    if judge is not None:
        sent = sum(len(g.trajectories) for g in batch.groups) if Source.CURRENT_TRAJECTORY in spec.sources else 0
        judged = {"trajectories": sent, "condensed": sent - judge.failures, "failures": judge.failures,
                  "requests": judge.requests}
    run = FeedbackRun(out=Path(out), batch=batch, contexts=contexts, seconds_building=time.perf_counter() - start,
                      judge=judged)
    _write(run, spec)
    return run


def _write(run: FeedbackRun, spec: FeedbackSpec) -> None:
    """Every step's context as a JSON line, written whole or not at all."""
    lines = []
    for group, group_contexts in zip(run.batch.groups, run.contexts, strict=True):
        for i, (trajectory, contexts) in enumerate(zip(group.trajectories, group_contexts, strict=True)):
            returns = trajectory.returns(spec.gamma)
            for step, context in zip(trajectory.steps, contexts, strict=True):
                lines.append(json.dumps({
                    "task_id": trajectory.task_id, "rollout": i, "policy": trajectory.policy, "step": step.index,
                    "anchor": step.anchor, "action": step.action, "trajectory_won": trajectory.won,
                    "return": returns[step.index],
                    "sources": [s.value for s in context.sources] if context else [],
                    "notes": list(context.notes) if context else [],
                    "context": context.text if context else None,
                    "teacher_prompt": teacher_prompt(step, context, trajectory.task, spec) if context else None,
                }, ensure_ascii=False) + "\n")
    try:
        run.out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot write {run.out}: {exc.strerror or exc}") from None
    write_atomic(run.out, "".join(lines))
