"""What rollouts produce: step records, trajectories, groups and batches — plain data, JSONL on disk.

A `StepRecord` is one decision: what the agent saw, said and did, and what the env answered. A
`Trajectory` is an episode's steps plus its outcome; a `Group` holds G trajectories of one task from the
same initial state (the GRPO/GiGPO group), optionally with an expert demonstration; a `Batch` is several
groups. Env-specific data goes in ``extra`` mappings, never in new fields.

Example::

    batch.write_jsonl("groups.jsonl")                  # one group per line
    assert Batch.read_jsonl("groups.jsonl") == batch
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class StepRecord:
    """One step of an episode."""

    index: int  #: position in the trajectory, from 0
    observation: str  #: what the agent saw before acting
    action: str  #: the action sent to the env (parsed from the response for LLM agents)
    next_observation: str  #: the observation after the action
    feedback: str | None  #: the env's immediate feedback on the action (``info["feedback"]``)
    anchor: str | None  #: anchor of the state the step started from
    reward: float
    done: bool  #: the episode ended with this step (terminated or truncated)
    prompt: str | None = None  #: the prompt an LLM agent saw, as the model saw it (chat template applied)
    response: str | None = None  #: its full response
    action_span: tuple[int, int] | None = None  #: characters of ``response`` that hold the action
    parse_error: str | None = None  #: why the response held no usable action (an invalid step), else None
    messages: tuple[dict[str, str], ...] | None = None  #: the chat an LLM agent was given (None otherwise)
    response_token_ids: tuple[int, ...] | None = None  #: the sampled tokens of ``response``, where recorded
    response_logprobs: tuple[float, ...] | None = None  #: their log-probabilities under the sampler
    extra: Mapping[str, Any] = field(default_factory=dict)  #: env- or agent-specific data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepRecord:
        def tup(key: str) -> tuple | None:
            value = data.get(key)
            return tuple(value) if value is not None else None

        messages = data.get("messages")
        return cls(**{**data, "action_span": tup("action_span"), "response_token_ids": tup("response_token_ids"),
                      "response_logprobs": tup("response_logprobs"),
                      "messages": tuple(dict(m) for m in messages) if messages is not None else None})


@dataclass(frozen=True)
class Trajectory:
    """An episode: its steps and outcome."""

    task_id: str
    task: str  #: the natural-language goal
    task_type: str | None
    seed: int
    steps: tuple[StepRecord, ...]
    won: bool
    score: float  #: the env's score in [0, 1]
    truncated: bool = False
    error: str | None = None  #: set when the episode ended in an exception
    policy: str | None = None  #: the method that played it
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return len(self.steps)

    @property
    def total_reward(self) -> float:
        return sum(s.reward for s in self.steps)

    def returns(self, gamma: float = 1.0) -> list[float]:
        """Return from each step on: ``sum_k gamma^k r_{t+k}``."""
        out, running = [0.0] * len(self.steps), 0.0
        for i in range(len(self.steps) - 1, -1, -1):
            running = self.steps[i].reward + gamma * running
            out[i] = running
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trajectory:
        return cls(**{**data, "steps": tuple(StepRecord.from_dict(s) for s in data["steps"])})


@dataclass(frozen=True)
class Group:
    """G trajectories of one task from the same initial state, and an expert demonstration if asked."""

    task_id: str
    trajectories: tuple[Trajectory, ...]
    expert: Trajectory | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Group:
        expert = data.get("expert")
        return cls(task_id=data["task_id"], trajectories=tuple(Trajectory.from_dict(t) for t in data["trajectories"]),
                   expert=Trajectory.from_dict(expert) if expert else None)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Batch:
    """Several groups."""

    groups: tuple[Group, ...]

    @property
    def steps(self) -> int:
        return sum(t.length for g in self.groups for t in g.trajectories)

    def write_jsonl(self, path: str | os.PathLike) -> None:
        with open(path, "w", encoding="utf-8") as f:
            for group in self.groups:
                f.write(group.to_json() + "\n")

    @classmethod
    def read_jsonl(cls, path: str | os.PathLike) -> Batch:
        return cls(groups=tuple(Group.from_dict(json.loads(line)) for line in _lines(path)))


def _lines(path: str | os.PathLike) -> Iterator[str]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield line
