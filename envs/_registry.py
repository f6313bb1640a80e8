"""The environments: the ones serl-bench ships, plugins, and ``module:attr`` envs — short CLI names, Gymnasium
ids and what each one offers.

An env of your own is an `EnvEntry` (its class subclasses `serl_bench.envs.TextEnv`). serl-bench finds it
either by an entry point of the ``serl_bench.envs`` group in an installed distribution::

    [project.entry-points."serl_bench.envs"]
    lock = "lock_env:ENTRY"

or named on the command line as ``--env module:attr`` (like Gymnasium's ``make("pkg.module:Env-v0")``):
the module is imported and ``attr`` is the `EnvEntry`. Either way it is registered with Gymnasium under
its ``id`` and checked against the env contract before its first episode.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from dataclasses import dataclass, replace
from importlib.metadata import entry_points
from typing import Any

import gymnasium as gym

from serl_bench.errors import ConfigError, UnknownNameError

ENTRY_POINT_GROUP = "serl_bench.envs"
BUNDLED = "bundled"  #: the ``source`` of the envs serl-bench ships

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
    source: str = BUNDLED  #: ``bundled``, ``plugin <distribution>`` or ``module <module:attr>``

    @property
    def bundled(self) -> bool:
        return self.source == BUNDLED

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
_PLUGINS: dict[str, EnvEntry] = {}  #: by name: envs of installed distributions, loaded once
_MODULES: dict[str, EnvEntry] = {}  #: by ``module:attr``: envs named on the command line
_plugins_loaded = False


def env_entry(name: str) -> EnvEntry:
    """Look an env up by short name or Gymnasium id (bundled, then plugins), or import it as ``module:attr``."""
    for entry in ENVS.values():
        if name in (entry.name, entry.id):
            return entry
    plugins = _plugins()
    for entry in plugins.values():
        if name in (entry.name, entry.id):
            return entry
    if ":" in name and not name.startswith("serl/"):
        return _from_module(name)
    raise UnknownNameError("env", name, {**ENVS, **plugins})


def list_envs() -> list[EnvEntry]:
    """The bundled envs, then every installed plugin's."""
    return [*ENVS.values(), *_plugins().values()]


def _plugins() -> dict[str, EnvEntry]:
    global _plugins_loaded
    if not _plugins_loaded:
        _plugins_loaded = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            where = f"plugin {ep.dist.name if ep.dist else ep.value}"
            try:
                entry = _as_entry(ep.load(), f"{where} ({ep.value})")
            except Exception as exc:  # one broken plugin must not take the others down
                print(f"serl-bench: warning: env plugin {ep.name!r} ({ep.value}) failed to load: {exc}",
                      file=sys.stderr)
                continue
            if entry.name in ENVS or entry.name in _PLUGINS:
                print(f"serl-bench: warning: env plugin {ep.name!r} ({ep.value}) is not used: the name "
                      f"{entry.name!r} is taken", file=sys.stderr)
                continue
            _PLUGINS[entry.name] = _register(replace(entry, source=where))
    return _PLUGINS


def _from_module(spec: str) -> EnvEntry:
    if spec not in _MODULES:
        module, _, attr = spec.partition(":")
        try:
            loaded = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            raise ConfigError(f"--env {spec}: cannot import {module!r} ({exc})") from None
        except AttributeError:
            raise ConfigError(f"--env {spec}: module {module!r} has no {attr!r}") from None
        # named by the spec that finds it, so records and the board's replay find it again
        _MODULES[spec] = _register(replace(_as_entry(loaded, f"--env {spec}"), name=spec, source=f"module {spec}"))
    return _MODULES[spec]


def _as_entry(loaded: Any, where: str) -> EnvEntry:
    if not isinstance(loaded, EnvEntry):
        what = f"the class {loaded.__name__}" if isinstance(loaded, type) else f"a {type(loaded).__name__}"
        raise ConfigError(f"{where} is {what}, not a serl_bench.envs.EnvEntry: name the EnvEntry that describes the "
                          "env (see docs/environments.md, 'Your own env')")
    return loaded


def _register(entry: EnvEntry) -> EnvEntry:
    if entry.id not in gym.registry:
        gym.register(id=entry.id, entry_point=entry.entry_point, max_episode_steps=entry.max_steps)
    return entry


def register_all() -> None:
    for entry in ENVS.values():
        _register(entry)
