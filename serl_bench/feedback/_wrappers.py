"""Hindsight contexts for code that only speaks Gymnasium.

`HindsightWrapper` wraps one env (step granularity): when an episode ends, the last ``info`` carries
``info["hindsight"]`` — one `Context` (or None) per step — and ``info["trajectory"]``. Its
``successful_trajectory`` is the most recent successful episode of the same task it has seen.

`GroupEnv` runs G copies of an env on the same task (both granularities): ``reset`` puts every copy on
one task, ``step`` takes G actions, and when the last episode ends every final ``info`` carries its
trajectory's contexts, built from the whole group.

An action may be a string or an `AgentStep`, whose prompt and response are then recorded too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym

from serl_bench.errors import ConfigError
from serl_bench.methods import AgentStep
from serl_bench.rollouts import EpisodeRecorder
from serl_bench.trajectories import Group, Trajectory

from ._contexts import build_contexts
from ._judge import Judge
from ._spec import FeedbackSpec, Granularity


def _decision(action: Any) -> AgentStep:
    return action if isinstance(action, AgentStep) else AgentStep(action=action)


def _text(action: Any) -> Any:
    return action.action if isinstance(action, AgentStep) else action


class HindsightWrapper(gym.Wrapper):
    """One env; at the end of each episode, ``info["hindsight"]`` holds each step's context."""

    def __init__(self, env: gym.Env, spec: FeedbackSpec, judge: Judge | None = None) -> None:
        if spec.granularity != Granularity.STEP:
            raise ConfigError("anchor granularity pools a group's steps: use GroupEnv for it")
        super().__init__(env)
        self.feedback_spec, self.judge = spec, judge
        self._recorder = EpisodeRecorder("", 0)
        self._successes: dict[str, Trajectory] = {}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._recorder = EpisodeRecorder((options or {}).get("task_id", ""), seed or 0)
        self._recorder.start(obs, info)
        return obs, info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(_text(action))
        self._recorder.record(_decision(action), obs, reward, terminated, truncated, info)
        if terminated or truncated:
            trajectory = self._recorder.trajectory()
            earlier = self._successes.get(trajectory.task_id)
            group = Group(trajectory.task_id, (trajectory, earlier) if earlier else (trajectory,))
            contexts = build_contexts(group, self.feedback_spec, self.judge)[0]
            info = {**info, "trajectory": trajectory, "hindsight": contexts}
            if trajectory.won:
                self._successes[trajectory.task_id] = trajectory
        return obs, reward, terminated, truncated, info


class GroupEnv:
    """G envs on the same task, stepped together; hindsight contexts arrive when the group finishes.

    Example::

        group = GroupEnv(lambda: gymnasium.make("serl/ALFWorld-v0"), size=4, spec=spec)
        obs, infos = group.reset(seed=0, options={"task_id": 3})
        while not group.done:
            obs, rewards, terminated, truncated, infos = group.step([policy(o) for o in obs])
        contexts = [info["hindsight"] for info in infos]
    """

    def __init__(self, make_env: Callable[[], gym.Env] | Sequence[gym.Env], size: int, spec: FeedbackSpec,
                 judge: Judge | None = None) -> None:
        if size < 1:
            raise ConfigError(f"a group needs at least one env, got size {size}")
        self.envs = list(make_env) if isinstance(make_env, Sequence) else [make_env() for _ in range(size)]
        if len(self.envs) != size:
            raise ConfigError(f"GroupEnv got {len(self.envs)} envs for a group of {size}")
        self.feedback_spec, self.judge = spec, judge
        self._recorders = [EpisodeRecorder("", 0) for _ in self.envs]
        self._last: list[tuple] = []
        self._done = [True] * size
        self.group: Group | None = None  #: the finished group, once every episode has ended

    @property
    def done(self) -> bool:
        return all(self._done)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[list[str], list[dict]]:
        """Every env on one task: ``options["task_id"]``, or the one the first env draws from ``seed``."""
        obs0, info0 = self.envs[0].reset(seed=seed, options=options)
        options = {**(options or {}), "task_id": info0.get("task_id", (options or {}).get("task_id"))}
        firsts = [(obs0, info0)] + [env.reset(seed=None if seed is None else seed + i, options=options)
                                    for i, env in enumerate(self.envs[1:], 1)]
        self._recorders = [EpisodeRecorder(options["task_id"] or "", 0 if seed is None else seed + i)
                           for i in range(len(self.envs))]
        for recorder, (obs, info) in zip(self._recorders, firsts, strict=True):
            recorder.start(obs, info)
        self._done = [False] * len(self.envs)
        self._last = [(obs, 0.0, False, False, info) for obs, info in firsts]
        self.group = None
        return [o for o, _ in firsts], [i for _, i in firsts]

    def step(self, actions: Sequence[Any]):
        if len(actions) != len(self.envs):
            raise ConfigError(f"GroupEnv.step needs {len(self.envs)} actions, got {len(actions)}")
        for i, (env, action) in enumerate(zip(self.envs, actions, strict=True)):
            if self._done[i]:  # a finished episode waits for the rest of the group, earning nothing
                obs, _, terminated, truncated, info = self._last[i]
                self._last[i] = (obs, 0.0, terminated, truncated, info)
                continue
            obs, reward, terminated, truncated, info = env.step(_text(action))
            self._recorders[i].record(_decision(action), obs, reward, terminated, truncated, info)
            self._done[i] = bool(terminated or truncated)
            self._last[i] = (obs, reward, terminated, truncated, info)
        if self.done:
            self._finish()
        obs, rewards, terminated, truncated, infos = (list(x) for x in zip(*self._last, strict=True))
        return obs, rewards, terminated, truncated, infos

    def _finish(self) -> None:
        trajectories = tuple(r.trajectory() for r in self._recorders)
        self.group = Group(task_id=trajectories[0].task_id, trajectories=trajectories)
        contexts = build_contexts(self.group, self.feedback_spec, self.judge)
        self._last = [(obs, reward, term, trunc, {**info, "trajectory": trajectories[i], "hindsight": contexts[i]})
                      for i, (obs, reward, term, trunc, info) in enumerate(self._last)]

    def close(self) -> None:
        for env in self.envs:
            env.close()
