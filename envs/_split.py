"""A split: the ordered tasks an env plays, and where they came from. One definition for every env."""

from __future__ import annotations

import hashlib
import numbers
from dataclasses import dataclass
from functools import cached_property
from typing import Generic, Protocol, TypeVar

from serl_bench.errors import ConfigError
from serl_bench.results import canonical_json


class HasTaskId(Protocol):
    @property
    def task_id(self) -> str: ...

    def content_hash(self) -> str:
        """sha256 of what defines the task (a game file, a goal in a catalog), not of where it is stored."""
        ...


T = TypeVar("T", bound=HasTaskId)


@dataclass(frozen=True)
class Split(Generic[T]):
    """An ordered set of tasks (ALFWorld games, WebShop goals) with their source (the record's ``split_source``)."""

    name: str
    source: str  #: ``procedural``, ``official``, ``generated``, ``original-data`` or ``user``
    tasks: tuple[T, ...]

    @cached_property
    def fingerprint(self) -> str:
        """sha256 over the tasks' ids and contents, in order: equal fingerprints, the same tasks. Results
        record it, so two runs on a split of the same name but other contents (a regenerated catalog, more
        games per type) are never mistaken for comparable."""
        content = [[t.task_id, t.content_hash()] for t in self.tasks]
        return hashlib.sha256(canonical_json(content).encode()).hexdigest()

    @property
    def task_ids(self) -> list[str]:
        return [t.task_id for t in self.tasks]

    def task(self, task_id: str | int) -> T:
        """The task with this id, or at this index (0 to the split's size - 1; numpy integers too)."""
        if isinstance(task_id, numbers.Integral) and not isinstance(task_id, bool):
            if not 0 <= task_id < len(self.tasks):
                raise ConfigError(f"task index {int(task_id)} is out of range: split {self.name} has "
                                  f"{len(self.tasks)} tasks (0-{len(self.tasks) - 1})")
            return self.tasks[int(task_id)]
        for task in self.tasks:
            if task.task_id == task_id:
                return task
        raise ConfigError(f"no task_id {task_id!r} in split {self.name}; use an index (0-{len(self.tasks) - 1}) "
                          f"or one of its ids, e.g. {self.tasks[0].task_id!r}")
