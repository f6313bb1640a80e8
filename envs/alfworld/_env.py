"""``serl/ALFWorld-v0``: ALFWorld's text household tasks as a Gymnasium environment."""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from serl_bench.errors import ConfigError, UnknownNameError

from .._base import TextEnv
from .._split import Split
from . import _anchor, _engine
from ._games import Game, load_split
from ._procgen import TASK_TYPES

MAX_TEXT = 100_000
TEXT_CHARSET = frozenset(string.printable)
_TASK_PREFIX = "Your task is to: "


class ALFWorldEnv(TextEnv):
    """ALFWorld on its real engine (alfworld + textworld's PDDL env + fast-downward).

    ``reset(seed=..., options={"task_id": ...})`` picks a game of the split (by id or index; without
    one, at random from ``seed``); ``step(command)`` plays a text command. Every ``info`` carries the
    keys of the environment contract (`serl_bench.envs.INFO_KEYS`) plus ``task_id`` and ``split``.
    An invalid command costs a step and returns the engine's own answer, ``"Nothing happens."``.
    Episodes are cut off by Gymnasium's time limit: ``max_episode_steps`` (50 unless given to ``make``).

    Example::

        env = gymnasium.make("serl/ALFWorld-v0", split="procgen-test", max_episode_steps=50)
        obs, info = env.reset(seed=0)
        obs, reward, terminated, truncated, info = env.step(info["admissible_actions"][0])

    Args:
        split: ``procgen-test``/``procgen-train`` (procedural, generated and cached on first use),
            ``train``/``valid_seen``/``valid_unseen`` (official games under ``$ALFWORLD_DATA``), or a path
            to user games (``game.tw-pddl`` files, ALFWorld-domain PDDL problems, or a folder of them).
        task_types: keep only games of these task types (a list, or text with commas between them).
        games_per_type: size of a procedural split (default 20 for test, 50 for train).
        data_path: folder holding ``json_2.1.1/`` (default ``$ALFWORLD_DATA``).
        progress: called as ``progress(done, total)`` while a procedural split is being generated.
    """

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 4}

    def __init__(self, split: str = "procgen-test", *, task_types: list[str] | str | None = None,
                 games_per_type: int | None = None, data_path: str | None = None, render_mode: str | None = None,
                 progress: Callable[[int, int], None] | None = None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise UnknownNameError("render_mode", render_mode, self.metadata["render_modes"])
        self.render_mode = render_mode
        self.split: Split[Game] = load_split(split, games_per_type=games_per_type, data_path=data_path,
                                       progress=progress)
        if isinstance(task_types, str):  # from the command line: comma-separated
            task_types = [t.strip() for t in task_types.split(",") if t.strip()]
        if task_types is not None and (not isinstance(task_types, (list, tuple))
                                       or not all(isinstance(t, str) for t in task_types)):
            raise ConfigError(f"task_types must be a list of ALFWorld task types (or comma-separated text), got "
                              f"{task_types!r}")
        if task_types:
            unknown = set(task_types) - set(TASK_TYPES)
            if unknown:
                raise UnknownNameError("ALFWorld task type", sorted(unknown)[0], TASK_TYPES)
            games = tuple(g for g in self.split.tasks if g.task_type in task_types)
            if not games:
                raise ConfigError(f"split {self.split.name} has no games of task type {', '.join(task_types)}")
            self.split = Split(self.split.name, self.split.source, games)
        self.observation_space = spaces.Text(max_length=MAX_TEXT, min_length=0, charset=TEXT_CHARSET)
        self.action_space = spaces.Text(max_length=MAX_TEXT, min_length=0, charset=TEXT_CHARSET)
        self._tw = _engine.make_textworld_env()
        self._game: Game | None = None
        self._loaded: str | None = None
        self._state: Any = None
        self._obs = ""

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        game = self.draw_task(options)
        if game.path != self._loaded:
            self._tw.load(game.path)
            self._loaded = game.path
            self._places = _anchor.places(self._tw.unwrapped)
        self._game = game
        self._state = self._tw.reset(seed=int(self.np_random.integers(2**31)))
        self._initial_facts = _anchor.state_facts(self._tw.unwrapped)
        self._task = self._state["feedback"].rpartition(_TASK_PREFIX)[2].strip()
        self._steps, self._won = 0, bool(self._state["won"])
        self._obs = self._state["feedback"]
        return self._obs, self._info(feedback=None)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
        if self._game is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        if isinstance(action, str):
            self._state, _, _ = self._tw.step(action)
            feedback = self._state["feedback"]
        else:  # the engine only reads text; anything else is an invalid command, never a crash
            feedback = f"Invalid action: expected a text command, got {type(action).__name__}."
        self._steps += 1
        won = bool(self._state["won"])
        reward = 1.0 if won and not self._won else 0.0
        self._won = won
        self._obs = feedback
        return feedback, reward, won, False, self._info(feedback=feedback)

    def expert_action(self) -> str | None:
        """alfworld's handcoded expert's next command here, or None where it has none."""
        if self._game is None:
            raise gym.error.ResetNeeded("call reset() before expert_action()")
        return self._tw.expert_action()

    def render(self) -> str | None:
        if self.render_mode == "human":
            print(self._obs)
            return None
        return self._obs

    def _info(self, feedback: str | None) -> dict:
        game = self._game
        return {
            "task": self._task,
            "admissible_actions": list(self._state["admissible_commands"]),
            "feedback": feedback,
            "anchor": _anchor.render(_anchor.state_facts(self._tw.unwrapped), self._initial_facts,
                                     self._places),
            "won": self._won,
            "score": 1.0 if self._won else 0.0,
            "task_type": game.task_type,
            "task_id": game.task_id,
            "split": self.split.name,
        }
