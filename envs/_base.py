"""What every serl-bench env is: a Gymnasium env of text in and text out over a `Split` of tasks.

Subclass `TextEnv` for an env of your own (see docs/environments.md, "Your own env"): set ``self.split`` to a
`Split` in ``__init__`` and the harness gets ``task_ids``, the record's ``split_source`` and
``split_fingerprint`` from it; `TextSpace` is the observation and action space (any text).
"""

from __future__ import annotations

import string
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from ._contract import requested_task
from ._split import Split

MAX_TEXT = 1_000_000


class TextSpace(spaces.Text):
    """Text of any characters (pages hold accents, symbols, emoji) up to ``max_length``; samples printable ASCII."""

    def __init__(self, max_length: int = MAX_TEXT) -> None:
        super().__init__(max_length=max_length, min_length=0, charset=string.printable)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length


class TextEnv(gym.Env[str, str]):
    """The base of serl-bench's envs. A subclass sets ``self.split`` (a `Split`) before its first reset, and
    honours the contract `check_env` tests: the `INFO_KEYS` in every ``info``, malformed actions cost a step
    and get feedback text instead of raising, the same seed and actions give the same episode."""

    split: Split
    observation_space: spaces.Space = TextSpace()
    action_space: spaces.Space = TextSpace()

    @property
    def task_ids(self) -> list[str]:
        """The split's tasks in order: evaluation episode ``i`` plays task ``i mod len(task_ids)``."""
        return self.split.task_ids

    def draw_task(self, options: dict | None) -> Any:
        """The task a ``reset`` asks for: ``options={"task_id": id or index}``, else one drawn from the env's
        seeded ``np_random`` (call ``super().reset(seed=seed)`` first). Bad options are a one-line error."""
        requested = requested_task(options)
        if requested is None:
            return self.split.tasks[int(self.np_random.integers(len(self.split.tasks)))]
        return self.split.task(requested)
