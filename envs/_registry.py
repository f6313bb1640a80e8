"""The environments serl-bench ships: short CLI names, Gymnasium ids and what each one offers."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from serl_bench.errors import ConfigError, UnknownNameError

#: arguments the harness itself passes to every env (a user's --env-arg cannot set them)
_HARNESS_ARGS = ("split", "progress", "render_mode")


@dataclass(frozen=True)
class EnvEntry:
    """A registered environment, as ``serl-bench envs`` lists it."""

    name: str  #: short name used on the command line, e.g. ``alfworld``
    id: str  #: Gymnasium id, e.g. ``serl/ALFWorld-v0``
    entry_point: str  #: ``module:Class``, imported on first ``make``
    default_split: str  #: the split evaluations use by default (the test split)
    train_split: str  #: the split training uses by default
    splits: dict[str, str]  #: split name -> source (``procedural``, ``official``, ...)
    task_types: tuple[str, ...]
    description: str
    feedback_sources: tuple[str, ...] = ()  #: the feedback sources this env can feed
    anchors: bool = False  #: whether ``info["anchor"]`` identifies states (anchor granularity)
    expert: bool = False  #: whether ``env.unwrapped.expert_action()`` exists (expert demonstrations)
    max_prompt_tokens: int = 2048  #: prompt length the official SERL scripts allow (ALFWorld 2048, WebShop 4096)
    max_steps: int = 50  #: registered as Gymnasium's ``max_episode_steps`` (ALFWorld 50, WebShop 15, as in the
    #: literature): the one default; ``gym.make(id, max_episode_steps=N)`` overrides it

    def make(self, **kwargs: Any) -> gym.Env:
        return gym.make(self.id, **kwargs)

    def check_args(self, env_args: dict[str, Any]) -> None:
        """A one-line `ConfigError` for an argument the env's class does not take, before anything is built."""
        module, _, name = self.entry_point.partition(":")
        params = inspect.signature(getattr(importlib.import_module(module), name)).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return
        takes = [n for n, p in params.items() if n not in _HARNESS_ARGS
                 and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
        for key in env_args:
            if key not in takes:
                raise ConfigError(f"env {self.name!r} takes no argument {key!r} (--env-arg); its arguments: "
                                  f"{', '.join(takes)}")


def _alfworld() -> EnvEntry:
    from .alfworld import TASK_TYPES
    from .alfworld._splits import SPLIT_SOURCES

    return EnvEntry(
        name="alfworld",
        id="serl/ALFWorld-v0",
        entry_point="serl_bench.envs.alfworld._env:ALFWorldEnv",
        default_split="procgen-test",
        train_split="procgen-train",
        splits={**SPLIT_SOURCES, "<path>": "user"},
        task_types=TASK_TYPES,
        description="ALFWorld text household tasks on the real alfworld/textworld/fast-downward engine",
        feedback_sources=("immediate_feedback", "next_observation", "future_trajectory", "successful_trajectory",
                          "current_trajectory"),
        anchors=True,
        expert=True,
    )


def _webshop() -> EnvEntry:
    from .webshop import CATEGORIES, SPLIT_SOURCES

    return EnvEntry(
        name="webshop",
        id="serl/WebShop-v0",
        entry_point="serl_bench.envs.webshop._env:WebShopEnv",
        default_split="test",
        train_split="train",
        splits=dict(SPLIT_SOURCES),
        task_types=CATEGORIES,
        description="WebShop: search, read and buy on a real Flask shop (text over HTTP, or headless Chromium)",
        max_steps=15,
        max_prompt_tokens=4096,
        feedback_sources=("immediate_feedback", "next_observation", "future_trajectory", "successful_trajectory",
                          "current_trajectory"),
        anchors=True,
        expert=True,
    )


ENVS: dict[str, EnvEntry] = {entry.name: entry for entry in (_alfworld(), _webshop())}


def env_entry(name: str) -> EnvEntry:
    """Look an env up by short name or Gymnasium id."""
    for entry in ENVS.values():
        if name in (entry.name, entry.id):
            return entry
    raise UnknownNameError("env", name, ENVS)


def register_all() -> None:
    for entry in ENVS.values():
        if entry.id not in gym.registry:
            gym.register(id=entry.id, entry_point=entry.entry_point, max_episode_steps=entry.max_steps)
