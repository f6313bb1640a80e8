"""Methods: the policies and trainers serl-bench runs, registered by name.

A method is a factory (usually a class) that builds an `Agent` from keyword arguments. Register one
with `register_method`; the harness builds it by name and records the arguments it was built with, so
every result says exactly how its method was configured. Bundled baselines live in
``serl_bench.baselines``; third-party packages add theirs through the ``serl_bench.methods`` entry-point
group (the entry point loads a module that calls `register_method`, or names the factory itself).

Example::

    from serl_bench import Agent, AgentStep, register_method

    @register_method("first", summary="always the first admissible action")
    class FirstAction(Agent):
        def act(self, observation, info):
            return AgentStep(info["admissible_actions"][0])
"""

from __future__ import annotations

import copy
import importlib
import inspect
import json
import math
import re
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal

import gymnasium as gym

from .errors import ConfigError, UnknownNameError
from .models import Generation, Message, SamplingParams

MethodKind = Literal["non-learning", "prompting", "rl", "distillation"]
ENTRY_POINT_GROUP = "serl_bench.methods"


@dataclass(frozen=True)
class AgentStep:
    """What an agent decided at one step: the action, and for LLM agents what the model saw and said."""

    action: str
    prompt: str | None = None  #: the prompt as the model saw it
    response: str | None = None  #: the model's full response
    action_span: tuple[int, int] | None = None  #: where ``action`` sits in ``response`` (characters)
    error: str | None = None  #: why the response held no valid action (the step is then an invalid one)
    messages: tuple[Message, ...] | None = None  #: the chat the model was given
    token_ids: tuple[int, ...] | None = None  #: the response's sampled tokens, where the backend gives them
    logprobs: tuple[float, ...] | None = None  #: their log-probabilities under the sampler
    extra: Mapping[str, Any] = field(default_factory=dict)  #: kept in the step record


@dataclass(frozen=True)
class GenerationRequest:
    """What a model-backed agent asks its backend for at one step. The rollout engine batches the requests
    of every episode it plays that share a backend into one ``generate`` call, then hands each generation
    back to its agent's `Agent.respond`."""

    backend: Any  #: a `serl_bench.models.Backend`
    messages: tuple[Message, ...]
    sampling: SamplingParams
    seed: int | None  #: this step's sampling seed (see `serl_bench.rollouts.step_seed`)


class Agent(ABC):
    """A policy over a text environment: `reset` at the start of each episode, then `act` each step.

    Agents that call a model may also implement `request` and `respond`: the rollout engine then asks all
    episodes' agents first and generates for them in one batch (the result equals calling `act`).
    """

    def reset(self, env: gym.Env, observation: str, info: Mapping[str, Any], *, seed: int) -> None:  # noqa: B027
        """Start an episode of ``env`` (seeded with ``seed``, so episodes are reproducible one by one)."""

    @abstractmethod
    def act(self, observation: str, info: Mapping[str, Any]) -> AgentStep:
        """Choose the next action from the latest observation and info."""

    def request(self, observation: str, info: Mapping[str, Any]) -> GenerationRequest | None:
        """The generation this step needs, for batching; None: the engine calls `act` instead."""
        return None

    def respond(self, observation: str, info: Mapping[str, Any], request: GenerationRequest,
                generation: Generation) -> AgentStep:
        """This step's decision from the generation answering `request` (agents that implement `request`)."""
        raise NotImplementedError(f"{type(self).__name__}.request returned a request but respond is missing")

    #: Attempts per task in one evaluation episode (Reflexion uses several); the episode ends at the first win.
    trials: int = 1
    #: For model-backed agents, recorded in the results' evaluation protocol: how many earlier steps each
    #: prompt shows, and how responses are sampled. None for agents without a model.
    history: int | None = None
    sampling: SamplingParams | None = None
    prompt: str | None = None  #: the prompt style

    def end_trial(self, trajectory: Any) -> None:  # noqa: B027
        """Called after each failed trial but the last, with its `Trajectory`."""

    def fork(self) -> Agent:
        """Another agent like this one, to play an episode at the same time (``eval --batch``): it shares
        what is expensive (a model) and nothing an episode changes. By default a shallow copy, which suits
        agents whose `reset` rebuilds their per-episode state."""
        return copy.copy(self)


@dataclass(frozen=True)
class MethodSpec:
    """A registered method."""

    name: str
    factory: Callable[..., Any]  #: builds an `Agent` (eval) or a `TrainingMethod` (run)
    kind: MethodKind
    summary: str
    source: str  #: ``bundled`` or the module that registered it

    def parameters(self) -> dict[str, Any]:
        """Arguments the factory takes, with their defaults (``inspect.Parameter.empty`` if required)."""
        return {p.name: p.default for p in inspect.signature(self.factory).parameters.values()
                if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}

    def arguments(self) -> list[dict[str, Any]]:
        """Each argument with its default (None where required) and its help, from the docstring's ``Args:``."""
        helps = argument_help(self.factory)
        return [{"name": name, "default": None if default is inspect.Parameter.empty else default,
                 "required": default is inspect.Parameter.empty, "help": helps.get(name, "")}
                for name, default in self.parameters().items()]


_REGISTRY: dict[str, MethodSpec] = {}
_loaded = False


def register_method(name: str, *, kind: MethodKind | None = None, summary: str | None = None):
    """Class/function decorator: register ``factory`` as method ``name``. ``kind`` defaults to ``rl`` for a
    `serl_bench.training.TrainingMethod` subclass and ``non-learning`` otherwise."""

    def decorator(factory: Callable[..., Any]) -> Callable[..., Any]:
        nonlocal kind
        if kind is None:
            from serl_bench.training import TrainingMethod

            kind = "rl" if inspect.isclass(factory) and issubclass(factory, TrainingMethod) else "non-learning"
        module = getattr(factory, "__module__", "") or ""
        source = "bundled" if module.startswith("serl_bench.") else module
        doc = summary or re.sub(r"``?([^`]+)``?", r"\1", (inspect.getdoc(factory) or "").split("\n", 1)[0])
        existing = _REGISTRY.get(name)
        if existing is not None and existing.factory is not factory:
            raise ConfigError(f"method {name!r} is already registered by {existing.source}")
        _REGISTRY[name] = MethodSpec(name=name, factory=factory, kind=kind, summary=doc, source=source)
        return factory

    return decorator


def _load_all() -> None:
    """Import the bundled baselines and every installed plugin, once."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    importlib.import_module("serl_bench.baselines")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
        except Exception as exc:  # one broken plugin must not take the others down
            print(f"serl-bench: warning: method plugin {ep.name!r} failed to load: {exc}", file=sys.stderr)
            continue
        if ep.name not in _REGISTRY and callable(loaded) and not inspect.ismodule(loaded):
            register_method(ep.name)(loaded)


def list_methods() -> list[MethodSpec]:
    _load_all()
    return sorted(_REGISTRY.values(), key=lambda spec: spec.name)


def get_method(name: str) -> MethodSpec:
    _load_all()
    if name not in _REGISTRY:
        raise UnknownNameError("method", name, _REGISTRY)
    return _REGISTRY[name]


def build_method(name: str, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
    """Build method ``name``; returns the agent (or training method) and every argument it was built with,
    defaults included."""
    spec = get_method(name)
    signature = inspect.signature(spec.factory)
    try:
        bound = signature.bind(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"method {name!r}: {exc}; it takes {_describe(spec)}") from None
    bound.apply_defaults()
    args = _check_types(name, spec, dict(bound.arguments))
    try:
        json.dumps(args)
    except TypeError:
        raise ConfigError(f"method {name!r}: arguments must be JSON values to be recorded: {args!r}") from None
    return spec.factory(**args), args


def argument_help(factory: Callable) -> dict[str, str]:
    """``name -> help`` from the ``Args:`` section of a factory's docstring (its class's or its ``__init__``'s)."""
    docs = [inspect.getdoc(factory) or ""]
    if inspect.isclass(factory):
        docs.append(inspect.getdoc(factory.__init__) or "")
    helps: dict[str, str] = {}
    for doc in docs:
        lines = doc.splitlines()
        if "Args:" not in (line.strip() for line in lines):
            continue
        start = [line.strip() for line in lines].index("Args:") + 1
        name, indent = None, None
        for line in lines[start:]:
            if not line.strip():
                break
            depth = len(line) - len(line.lstrip())
            match = re.match(r"^\s+([A-Za-z_]\w*)(?:\s*\([^)]*\))?:\s*(.*)$", line)
            if match and (indent is None or depth <= indent):
                name, indent = match.group(1), depth
                helps[name] = match.group(2).strip()
            elif name is not None:
                helps[name] = f"{helps[name]} {line.strip()}".strip()
    return helps


def _check_types(name: str, spec: MethodSpec, args: dict[str, Any]) -> dict[str, Any]:
    """Arguments whose default is a number or a flag must be one: ``epsilon=x`` is refused, ``3`` for a float
    default becomes ``3.0``."""
    checked = dict(args)
    for key, default in spec.parameters().items():
        value = args.get(key)
        if default is inspect.Parameter.empty or default is None or value is None or value == default:
            continue
        kind = type(default)
        if kind is bool and not isinstance(value, bool):
            raise ConfigError(f"method {name!r}: {key} must be true or false, got {value!r}")
        if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ConfigError(f"method {name!r}: {key} must be a number, got {value!r}")
        if kind is int and isinstance(value, float):
            if not value.is_integer():
                raise ConfigError(f"method {name!r}: {key} must be a whole number, got {value!r}")
            checked[key] = int(value)
        elif kind is float and isinstance(value, int):
            checked[key] = float(value)
        if kind in (int, float) and not math.isfinite(checked[key]):
            raise ConfigError(f"method {name!r}: {key} must be finite, got {value!r}")
        if kind is str and not isinstance(value, str):
            raise ConfigError(f"method {name!r}: {key} must be text, got {value!r}")
    return checked


def _describe(spec: MethodSpec) -> str:
    params = spec.parameters()
    if not params:
        return "no arguments"
    return ", ".join(k if v is inspect.Parameter.empty else f"{k}={v!r}" for k, v in params.items())
