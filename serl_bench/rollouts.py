"""Playing episodes: one (`play`), a group of one task (`collect_group`), and making envs for it.

Everything that runs a policy in an env goes through `play`, so the harness's episode log and the
feedback engine's step records come from the same loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym

from .envs import EnvEntry
from .errors import ConfigError, SerlBenchError
from .methods import Agent, AgentStep
from .trajectories import Group, StepRecord, Trajectory


def make_env(entry: EnvEntry, split: str, *, max_steps: int, env_args: dict[str, Any] | None = None,
             progress: bool = True) -> gym.Env:
    """``entry``'s env on ``split``, with a progress bar while it prepares its games."""
    bar = None

    def on_progress(done: int, total: int) -> None:
        nonlocal bar
        if progress and bar is None:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, desc=f"generating {entry.name}/{split} games", unit="game")
        if bar is not None:
            bar.update(done - bar.n)

    try:
        return entry.make(split=split, max_steps=max_steps, progress=on_progress, **(env_args or {}))
    except TypeError as exc:
        raise ConfigError(f"env {entry.name!r}: {exc}") from None
    finally:
        if bar is not None:
            bar.close()


def step_record(index: int, obs: str, info: dict, decision: AgentStep, next_obs: str, reward: float, done: bool,
                next_info: dict) -> StepRecord:
    """The record of one step; an invalid response's feedback says why before what the env answered."""
    feedback = next_info.get("feedback")
    if decision.error:
        feedback = f"Invalid action: {decision.error}." + (f" {feedback}" if feedback else "")
    return StepRecord(index=index, observation=obs, action=decision.action, next_observation=next_obs,
                      feedback=feedback, anchor=info.get("anchor"), reward=float(reward), done=bool(done),
                      prompt=decision.prompt, response=decision.response, action_span=decision.action_span,
                      extra=dict(decision.extra))


def play(env: gym.Env, agent: Agent, *, task_id: str | int, seed: int, max_steps: int,
         policy: str | None = None) -> Trajectory:
    """Play one episode. An exception from the agent or env ends it as a failure with ``error`` set.

    Bad input (a `SerlBenchError`: a port in use, a missing browser, an endpoint that stopped answering)
    is not the method's failure: it stops the run with its one-line message; finished episodes are kept.
    """
    steps: list[StepRecord] = []
    task, task_type, won, score, truncated, error = "", None, False, 0.0, False, None
    try:
        obs, info = env.reset(seed=seed, options={"task_id": task_id})
        task, task_type = info.get("task", ""), info.get("task_type")
        task_id = info.get("task_id", task_id)
        agent.reset(env, obs, info, seed=seed)
        while len(steps) < max_steps:
            decision = agent.act(obs, info)
            next_obs, reward, terminated, truncated, next_info = env.step(decision.action)
            steps.append(step_record(len(steps), obs, info, decision, next_obs, reward, terminated or truncated,
                                     next_info))
            obs, info = next_obs, next_info
            won, score = bool(info.get("won")), float(info.get("score") or 0.0)
            if terminated or truncated:
                break
        else:
            truncated = True
    except SerlBenchError:
        raise
    except Exception as exc:  # recorded, and counted as a failure; KeyboardInterrupt still stops the run
        error, won, score = f"{type(exc).__name__}: {exc}", False, 0.0
    return Trajectory(task_id=str(task_id), task=task, task_type=task_type, seed=seed, steps=tuple(steps), won=won,
                      score=score, truncated=bool(truncated), error=error, policy=policy)


def play_trials(env: gym.Env, agent: Agent, *, task_id: str | int, seed: int, max_steps: int,
                policy: str | None = None) -> list[Trajectory]:
    """Up to ``agent.trials`` attempts at one task (one for most agents), stopping at the first win;
    the agent hears about each failed attempt but the last (``end_trial``)."""
    trials = max(1, int(getattr(agent, "trials", 1)))
    attempts: list[Trajectory] = []
    for trial in range(trials):
        attempt = play(env, agent, task_id=task_id, seed=seed + 1_000_003 * trial, max_steps=max_steps, policy=policy)
        attempts.append(attempt)
        if attempt.won or attempt.error or trial == trials - 1:
            break
        agent.end_trial(attempt)
    return attempts


def collect_group(env: gym.Env, policies: Sequence[tuple[str, Agent]], *, task_id: str | int, group_size: int,
                  seed: int, max_steps: int, expert: Agent | None = None) -> Group:
    """``group_size`` rollouts of one task; rollout ``i`` is played by ``policies[i % len(policies)]`` with
    seed ``seed + i``. With ``expert``, the group also holds one expert demonstration."""
    if group_size < 1 or not policies:
        raise ConfigError("a group needs at least one rollout and one policy")
    trajectories = tuple(
        play(env, agent, task_id=task_id, seed=seed + i, max_steps=max_steps, policy=name)
        for i, (name, agent) in ((i, policies[i % len(policies)]) for i in range(group_size))
    )
    demo = play(env, expert, task_id=task_id, seed=seed, max_steps=max_steps, policy="expert") if expert else None
    return Group(task_id=trajectories[0].task_id, trajectories=trajectories, expert=demo)
