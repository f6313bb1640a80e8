"""The environment contract every serl-bench env honours, and `check_env`, which tests it."""

from __future__ import annotations

import functools
import math
import numbers
import random
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
from gymnasium.utils.env_checker import check_env as gymnasium_check_env

from serl_bench.errors import ConfigError

# Keys every env puts in ``info`` on every reset and step (None where not applicable).
INFO_KEYS: dict[str, str] = {
    "task": "natural-language goal",
    "admissible_actions": "list of valid actions now (ALFWorld: admissible commands; WebShop: search/click targets)",
    "feedback": "immediate feedback: the env's direct response to the last action (None after reset)",
    "anchor": "canonical, history-free state text: equal states compare equal across rollouts of a task",
    "won": "bool, task solved",
    "score": "float in [0, 1] (WebShop's reward; ALFWorld 0/1)",
    "task_type": "task family (ALFWorld: its six task types; WebShop: product category)",
}

# Actions a policy might emit by mistake; none of them may raise.
MALFORMED_ACTIONS: tuple[Any, ...] = (
    "", "   ", "\n", "x" * 10_000, "go to", "take", "((]]}{", "\x00\x1b[2J", "ünïcödé ✓", 42, None,
)


# Warnings of gymnasium's checker that say nothing about a text env, and so are not shown: (category, regex
# matched at the start of the message after gymnasium's "WARN: " prefix, why). Every other warning the checker
# (or the env, while the checker runs it) emits is let through.
#
# None, on the evidence: gymnasium 1.0-1.4's checker, called as below (on ``env.unwrapped``, render checks
# skipped), warns about nothing a text env may ignore. Its Box and numpy-array warnings (infinite bounds,
# "not equal although similar") cannot arise for Text spaces; the wrapped-env and no-spec render warnings
# cannot arise for this call; what is left (a reset seed that defaults to something other than None, an
# observation outside the declared space, the deprecated seed()/return_info API, close() that fails the second
# time) names a real problem. An entry belongs here only with its reason; tests/envs/test_contract.py shows
# that entries filter exactly their own warning.
IGNORED_CHECKER_WARNINGS: tuple[tuple[type[Warning], str, str], ...] = ()

_GYMNASIUM_PREFIX = r"(?:\x1b\[[0-9;]*m)?WARN: "  # gymnasium.logger.warn colours its messages


def requested_task(options: Any) -> str | int | None:
    """The task ``reset(options=...)`` asks for, the one check every env's ``reset`` makes: ``options`` is None
    or a dict holding only ``task_id``, which is None (a task drawn from the seed), a task id (text) or an index
    into the split (a whole number; numpy's integers too). Anything else is a one-line `ConfigError`."""
    if options is None:
        return None
    if not isinstance(options, Mapping):
        raise ConfigError(f"reset options must be a dict such as {{'task_id': 3}}, got {type(options).__name__} "
                          f"{options!r:.60}")
    unknown = [key for key in options if key != "task_id"]
    if unknown:
        raise ConfigError(f"reset options take only 'task_id', got {', '.join(repr(k) for k in unknown)[:120]}")
    task_id = options.get("task_id")
    if task_id is None or isinstance(task_id, str):
        return task_id
    if isinstance(task_id, numbers.Integral) and not isinstance(task_id, bool):
        return int(task_id)
    raise ConfigError(f"task_id must be a task id (text) or an index (a whole number), got "
                      f"{type(task_id).__name__} {task_id!r:.60}")


class EnvContractError(AssertionError):
    """An env breaks the contract; the message lists every problem found."""


def check_env(env: gym.Env, *, seed: int = 0, steps: int = 12, make: Callable[[], gym.Env] | None = None) -> None:
    """Check ``env`` against Gymnasium's rules and serl-bench's contract; raise EnvContractError if not.

    Besides ``gymnasium.utils.env_checker.check_env`` (whose warnings are shown, but for the documented
    `IGNORED_CHECKER_WARNINGS`): every ``info`` has the keys of `INFO_KEYS` with the right types; malformed
    actions (`MALFORMED_ACTIONS`) never raise and get feedback text; and the same seed and the same actions
    give the same observations, rewards and infos, both played again on ``env`` and played on a second,
    fresh instance. ``make`` builds that instance (a zero-argument callable); by default an env with a
    spec is rebuilt as ``gymnasium.make(spec.id, **spec.kwargs)`` with ``env``'s own step limit: the
    arguments it was made with. An env without a spec and without ``make`` is only replayed on itself. The
    second instance is closed after.
    """
    problems: list[str] = []
    with warnings.catch_warnings():
        for category, message, _why in IGNORED_CHECKER_WARNINGS:
            warnings.filterwarnings("ignore", message=_GYMNASIUM_PREFIX + message, category=category)
        try:
            gymnasium_check_env(env.unwrapped, skip_render_check=True)
        except Exception as exc:  # the checker raises AssertionError and friends
            problems.append(f"gymnasium check_env: {exc}")
    first = _play(env, seed, steps, problems)
    if (step := _first_difference(first, _play(env, seed, steps, []))) is not None:
        problems.append(f"not deterministic: same seed and actions differ at step {step} when replayed")
    spec = env.unwrapped.spec  # the wrappers' spec property deep-copies it, kwargs (a whole catalog) and all
    if make is None and spec is not None:
        make = functools.partial(gym.make, spec.id, max_episode_steps=_time_limit(env), **spec.kwargs)
    if make is not None:
        problems += _compare_fresh(env, make, first, seed, steps)
    if problems:
        raise EnvContractError(f"{spec.id if spec else type(env).__name__}: " + "; ".join(problems))


def _time_limit(env: gym.Env) -> int | None:
    """The step limit of ``env``'s TimeLimit wrapper (the one ``make`` was given, not the registered default)."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, gym.wrappers.TimeLimit):
            return env._max_episode_steps
        env = env.env
    return None


def _compare_fresh(env: gym.Env, make: Callable[[], gym.Env], first: list[tuple], seed: int, steps: int) -> list[str]:
    """Play a second instance from ``make()`` as ``env`` was played; problems if it does not give ``first``."""
    try:
        other = make()
    except Exception as exc:
        return [f"could not build a second instance to compare with ({exc!r:.200})"]
    if other.unwrapped is env.unwrapped:
        return ["make() returned the env itself, not a fresh instance"]
    try:
        step = _first_difference(first, _play(other, seed, steps, []))
    except Exception as exc:  # e.g. its reset raises where env's did not
        return [f"a fresh instance from make() raised {exc!r:.200}"]
    finally:
        other.close()
    if step is None:
        return []
    return [f"not deterministic across instances: a fresh instance differs at step {step} with the same seed "
            "and actions"]


def _first_difference(first: list[tuple], second: list[tuple]) -> int | None:
    """The first step at which two traces differ, or None where they are equal."""
    if first == second:
        return None
    return next((i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b),
                min(len(first), len(second)))


def _play(env: gym.Env, seed: int, steps: int, problems: list[str]) -> list[tuple]:
    """Reset with ``seed`` and alternate valid and malformed actions (played by the rollout engine, as every
    episode is); the trace of what came back."""
    from serl_bench.errors import SerlBenchError
    from serl_bench.rollouts import play

    tape = _Tape(env)
    try:
        trajectory = play(tape, _Probe(), task_id=None, seed=seed, max_steps=steps)
    except SerlBenchError as exc:
        trajectory = None
        problems.append(f"raised {exc!r:.200}")
    if trajectory is not None and trajectory.error:
        where = f"step({tape.attempted!r:.40})" if tape.attempted is not _NOTHING else "reset"
        problems.append(f"{where} raised {trajectory.error:.200}")
    if not tape.trace:
        return []
    obs, info = tape.trace[0]
    problems += _info_problems(info, "reset")
    trace = [(obs, _contract_view(info))]
    for i, (action, obs, reward, terminated, truncated, info) in enumerate(tape.trace[1:]):
        where = f"step {i + 1} ({action!r:.40})"
        problems += _info_problems(info, where)
        if not isinstance(info, dict) or not isinstance(info.get("feedback"), str) or not info["feedback"]:
            problems.append(f"{where}: feedback must be non-empty text after a step")
        trace.append((obs, reward, terminated, truncated, _contract_view(info)))
    return trace


_NOTHING = object()


class _Probe:
    """Alternates a random admissible action with a malformed one (`MALFORMED_ACTIONS`)."""

    trials = 1

    def reset(self, env: gym.Env, observation: str, info: dict, *, seed: int) -> None:
        self.rng, self.i = random.Random(seed), 0

    def request(self, observation: str, info: dict) -> None:
        return None

    def act(self, observation: str, info: dict) -> Any:
        from serl_bench.methods import AgentStep

        admissible = (info.get("admissible_actions") if isinstance(info, dict) else None) or ["look"]
        i, self.i = self.i, self.i + 1
        action = self.rng.choice(admissible) if i % 2 == 0 else MALFORMED_ACTIONS[(i // 2) % len(MALFORMED_ACTIONS)]
        return AgentStep(action=action)


class _Tape(gym.Wrapper):
    """Records what ``reset`` and ``step`` return, and the action being tried."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.trace: list[tuple] = []
        self.attempted: Any = _NOTHING

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=None if options == {"task_id": None} else options)
        self.trace = [(obs, info)]
        return obs, info

    def step(self, action: Any):
        self.attempted = action
        result = self.env.step(action)
        self.trace.append((action, *result))
        return result


def _contract_view(info: dict) -> tuple:
    return tuple((k, repr(info.get(k))) for k in INFO_KEYS)


def _info_problems(info: Any, where: str) -> list[str]:
    if not isinstance(info, dict):
        return [f"{where}: info is {type(info).__name__}, not dict"]
    missing = [k for k in INFO_KEYS if k not in info]
    problems = [f"{where}: info lacks {', '.join(missing)}"] if missing else []
    checks = {
        "task": lambda v: isinstance(v, str) and v.strip() != "",
        "admissible_actions": lambda v: v is None or (isinstance(v, list) and all(isinstance(a, str) for a in v)),
        "feedback": lambda v: v is None or isinstance(v, str),
        "anchor": lambda v: v is None or (isinstance(v, str) and v != ""),
        "won": lambda v: isinstance(v, bool),
        "score": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        and 0.0 <= v <= 1.0,
        "task_type": lambda v: v is None or isinstance(v, str),
    }
    for key, ok in checks.items():
        if key in info and not ok(info[key]):
            problems.append(f"{where}: info[{key!r}] = {info[key]!r:.60} breaks: {INFO_KEYS[key]}")
    return problems
