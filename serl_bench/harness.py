"""The harness: run a registered method on an environment's tasks and write a run directory.

``serl-bench eval`` is a thin layer over `evaluate`::

    from serl_bench.harness import EvalConfig, evaluate
    run = evaluate(EvalConfig(method="expert", env="alfworld", split="procgen-test", episodes=12))
    print(run.record.success_rate, run.path)

Episode ``i`` plays task ``i mod len(split)`` with seed ``seed + i``, so every episode is reproducible on
its own: a resumed run and an uninterrupted one write the same episode log.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import gymnasium as gym
from pydantic import Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass as pydantic_dataclass

from .envs import env_entry
from .envworkers import DEFAULT_TIMEOUT, check_worker_settings
from .errors import ConfigError, RunDirError
from .methods import Agent, build_method, get_method
from .options import option
from .results import (
    ResultsRecord,
    config_hash,
    file_sha256,
    hardware_description,
    software_versions,
    summarize,
)
from .rollouts import EpisodeSpec, make_envs, play_batch
from .rundir import RunDir, new_run_path
from .trajectories import Trajectory
from .transcripts import episode_transcript


@dataclass(frozen=True)
class EvalConfig:
    """Configuration of one evaluation run (``serl-bench eval``)."""

    method: str = option("registered method to evaluate (see `serl-bench methods`)")
    env: str = option("environment (see `serl-bench envs`)", default="alfworld")
    split: str | None = option("task split; default: the env's test split", default=None)
    episodes: int | None = option("number of episodes; default: one per task of the split", default=None)
    seed: int = option("base seed: episode i uses seed + i", default=0)
    model: str | None = option("model for LLM methods: `default`, a warm start (default-sft-webshop), a training "
                               "run's directory, a model folder, a hub id or an endpoint URL", default=None)
    max_steps: int | None = option("steps after which an episode is truncated; default: the env's (ALFWorld 50, "
                                   "WebShop 15)", default=None)
    method_args: dict[str, Any] = option("extra keyword arguments for the method", default_factory=dict)
    env_args: dict[str, Any] = option("extra keyword arguments for the environment", default_factory=dict)
    batch: int = option("episodes played at once, each on its own env (LLM agents generate for them in one batch); "
                        "the episodes are the same whatever the batch", default=1)
    env_workers: int = option("worker processes the batch's envs live in (0: this process); the episodes are the "
                              "same, a worker that dies or hangs is restarted and its episodes replayed", default=0)
    env_timeout: float = option("seconds an env worker may take over one step before it is called hung",
                                default=DEFAULT_TIMEOUT)
    ray_address: str | None = option("run the env workers as Ray actors on this cluster (`auto`, HOST:PORT, or `local` "
                                     "for a Ray of this process's); needs --env-workers N", default=None)

    def check(self) -> None:
        """Every value in range, or a one-line `ConfigError` (before anything is built or written)."""
        for name, low in (("episodes", 1), ("max_steps", 1), ("batch", 1), ("seed", 0)):
            value = getattr(self, name)
            if value is None and name in ("episodes", "max_steps"):
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least {low} (a whole number), got {value!r}")
        check_worker_settings(self.env_workers, self.env_timeout, self.ray_address)
        for name in ("method_args", "env_args"):
            if not isinstance(getattr(self, name), dict):
                raise ConfigError(f"{name} must be a dict of keyword arguments, got {getattr(self, name)!r}")


@pydantic_dataclass(frozen=True)
class EpisodeRecord:
    """One line of ``episodes.jsonl``; validated when built, and again when a run is submitted."""

    episode: Annotated[int, Field(ge=0)]
    task_id: str
    task_type: str | None
    seed: int
    steps: Annotated[int, Field(ge=0)]
    won: bool
    score: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
    total_reward: Annotated[float, Field(allow_inf_nan=False)]
    truncated: bool
    actions: list[str]  #: every action, of every trial
    error: str | None
    trials: Annotated[int, Field(ge=1)] = 1  #: attempts made (methods such as Reflexion try a task several times)
    env_retries: Annotated[int, Field(ge=0)] = 0  #: times the episode was replayed after its env worker was lost


_EPISODE = TypeAdapter(EpisodeRecord)


@dataclass(frozen=True)
class RunResult:
    path: Path
    record: ResultsRecord


def evaluate(config: EvalConfig, *, out: str | Path | None = None, resume: bool = False,
             progress: bool = True) -> RunResult:
    """Evaluate ``config.method`` and write the run directory (``out``, default ``runs/<run_id>``)."""
    entry = env_entry(config.env)
    get_method(config.method)  # unknown names fail before any work
    config.check()
    if config.max_steps is None:
        config = replace(config, max_steps=entry.max_steps)
    if out is not None:
        RunDir(out).check_available(resume=resume)
    split = config.split or entry.default_split
    method_args = dict(config.method_args)
    if config.model is not None:
        method_args["model"] = config.model
    agent, built_args = build_method(config.method, **method_args)
    if not isinstance(agent, Agent):
        raise ConfigError(f"{config.method} is a training method: train it with `serl-bench run --method "
                          f"{config.method}`, then evaluate the checkpoint with --method react --model "
                          "<run>/checkpoints/last/model")
    envs = make_envs(entry, split, min(config.batch, config.episodes or config.batch), max_steps=config.max_steps,
                     env_args=config.env_args, workers=config.env_workers, timeout=config.env_timeout,
                     ray_address=config.ray_address, progress=progress)
    try:
        agents = [agent] + [agent.fork() for _ in envs[1:]]
        return _run(config, entry.name, split, envs, agents, built_args, out, resume, progress)
    finally:
        for env in envs:
            env.close()


def _run(config: EvalConfig, env_name: str, split: str, envs: list[gym.Env], agents: list[Agent], method_args: dict,
         out: str | Path | None, resume: bool, progress: bool) -> RunResult:
    env, agent = envs[0], agents[0]
    task_ids = env.unwrapped.task_ids
    n_episodes = config.episodes or len(task_ids)
    resolved = {"command": "eval", **asdict(config), "split": split, "episodes": n_episodes,
                "method_args": method_args}
    out = Path(out) if out else new_run_path(f"{config.method}-{env_name}-{time.strftime('%Y%m%d-%H%M%S')}")
    run_id = out.name
    protocol = protocol_of(agent, episodes=n_episodes, seed=config.seed, max_steps=config.max_steps)
    with RunDir.open(out, resolved, resume=resume) as run:
        play_into(run, envs, agents, eval_episodes(task_ids, n_episodes, config.seed), max_steps=config.max_steps,
                  progress=progress, desc=f"eval {config.method} on {env_name}/{split}")
        record = results_record(run, run_id, method=config.method, method_args=method_args, env=env_name,
                                split=split, split_source=env.unwrapped.split.source,
                                split_fingerprint=env.unwrapped.split.fingerprint, seeds=[config.seed],
                                protocol=protocol, model=model_record(getattr(agent, "model_info", None)))
        run.write_results(record.to_json())
    return RunResult(path=run.path, record=record)


def eval_episodes(task_ids: list[str], episodes: int, seed: int) -> list[EpisodeSpec]:
    """The evaluation protocol: episode ``i`` plays task ``i mod len(task_ids)`` with seed ``seed + i``."""
    return [EpisodeSpec(task_ids[i % len(task_ids)], seed + i) for i in range(episodes)]


def play_into(run: RunDir, envs: list[gym.Env], agents: list[Agent], episodes: list[EpisodeSpec], *,
              max_steps: int, progress: bool, desc: str, policy: str | None = None) -> None:
    """Play the episodes the run's log lacks (``agents[i % len(agents)]`` plays episode ``i``) and append each
    one's record as it finishes, in episode order, so a resumed run writes the log an uninterrupted one does."""
    done: set[int] = set()
    for number, record in enumerate(logged_episodes(run), 1):
        if record.episode in done or record.episode >= len(episodes):
            why = "repeats an episode" if record.episode in done else f"is beyond the run's {len(episodes)} episodes"
            raise RunDirError(f"{run.episodes_path}:{number} {why} (episode {record.episode}); the log is damaged, "
                              "so this run cannot be resumed (choose a new --out, or delete that line)")
        done.add(record.episode)
    run.keep_transcripts(episodes=done)  # a kill between an episode's two lines: its transcript is written again
    todo = [i for i in range(len(episodes)) if i not in done]
    bar = _episode_bar(progress, len(episodes), len(done), desc)
    finished: dict[int, tuple[EpisodeRecord, dict[str, Any]]] = {}
    wins, ran, steps = 0, 0, 0

    unwritten = list(todo)

    def on_done(k: int, trials: tuple) -> None:
        nonlocal wins, ran
        i = todo[k]
        finished[i] = (episode_record(i, episodes[i], trials), episode_transcript("episode", i, trials))
        while unwritten and unwritten[0] in finished:  # in episode order; the transcript first, so that a kill
            record, transcript = finished.pop(unwritten.pop(0))  # between the two lines leaves an episode that
            run.append_transcript(transcript)  # is not logged: its transcript is dropped, and it is played again
            run.append_episode(asdict(record))
        wins, ran = wins + trials[-1].won, ran + 1
        if bar is not None:
            bar.set_postfix_str(f"success {wins}/{ran}, {steps} steps", refresh=False)
            bar.update(1)

    def on_steps(n: int) -> None:  # long episodes: the bar shows the steps played so far
        nonlocal steps
        steps += n
        if bar is not None:
            bar.set_postfix_str(f"success {wins}/{ran}, {steps} steps", refresh=False)
            bar.update(0)  # redrawn at tqdm's own pace (mininterval), not once per round

    try:
        play_batch(envs, [agents[i % len(agents)] for i in todo], [episodes[i] for i in todo], max_steps=max_steps,
                   policy=policy, on_done=on_done, on_steps=on_steps)
    finally:
        if bar is not None:
            bar.close()


def logged_episodes(run: RunDir) -> list[EpisodeRecord]:
    """The run's episode log, each line checked as an `EpisodeRecord`: a damaged line is named, never adopted."""
    records = []
    for number, value in enumerate(run.read_episodes(), 1):
        try:
            records.append(_EPISODE.validate_json(json.dumps(value), strict=True))
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            field = ".".join(str(p) for p in error["loc"]) or "(record)"
            raise RunDirError(f"{run.episodes_path}:{number} is not an episode record ({field}: {error['msg']}); the "
                              "log is damaged, so this run cannot be resumed (choose a new --out, or delete that "
                              "line)") from None
    return records


def _episode_bar(progress: bool, total: int, initial: int, desc: str):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="ep")


def episode_record(episode: int, spec: EpisodeSpec, attempts: tuple[Trajectory, ...]) -> EpisodeRecord:
    """One line of the episode log: an episode's trials, summarized."""
    last = attempts[-1]
    return EpisodeRecord(episode=episode, task_id=str(spec.task_id), task_type=last.task_type, seed=spec.seed,
                         steps=sum(t.length for t in attempts), won=last.won, score=last.score,
                         total_reward=sum(t.total_reward for t in attempts), truncated=last.truncated,
                         actions=[s.action for t in attempts for s in t.steps], error=last.error,
                         trials=len(attempts), env_retries=int(last.extra.get("env_retries", 0)))


def protocol_of(agent: Agent, *, episodes: int, seed: int, max_steps: int) -> dict[str, Any]:
    """The evaluation protocol of ``agent``'s episodes, for the results record."""
    sampling = agent.sampling
    return {"episodes": episodes, "seed": seed, "max_steps": max_steps,
            "decoding": None if sampling is None else ("greedy" if sampling.temperature == 0 else "sampled"),
            "temperature": None if sampling is None else sampling.temperature,
            "top_p": None if sampling is None else sampling.top_p,
            "max_new_tokens": None if sampling is None else sampling.max_new_tokens, "history": agent.history,
            "prompt": None if agent.prompt is None else str(agent.prompt),
            "stop": None if sampling is None else list(sampling.stop)}


def model_record(info: Any) -> dict[str, Any] | None:
    """The results record's ``model`` from an agent's `ModelInfo` (None for agents without a model)."""
    return asdict(info) if info is not None else None


def results_record(run: RunDir, run_id: str, *, method: str, method_args: dict, env: str, split: str,
                   split_source: str, split_fingerprint: str, seeds: list[int], protocol: dict[str, Any],
                   model: dict | None = None, feedback: dict | None = None,
                   training: dict | None = None) -> ResultsRecord:
    """The results record of a run directory, its figures computed from the episode log."""
    summary = summarize(run.read_episodes())
    return ResultsRecord(
        protocol=protocol,
        run_id=run_id,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        method=method,
        method_args=method_args,
        env=env,
        split=split,
        split_source=split_source,
        split_fingerprint=split_fingerprint,
        episodes=summary.episodes,
        seeds=seeds,
        success_rate=summary.success_rate,
        success_ci95=list(summary.success_ci95),
        score_mean=summary.score_mean,
        per_task_type={t: asdict(s) for t, s in summary.per_task_type.items()},
        mean_steps=summary.mean_steps,
        model=model,
        feedback=feedback,
        training=training,
        hardware=hardware_description(),
        software=software_versions(),
        config_hash=config_hash(run.read_config()),
        episodes_sha256=file_sha256(run.episodes_path),
        errors=summary.errors,
    )
