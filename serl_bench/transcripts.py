"""Transcripts: what an agent saw, said and did at every step, beside a run's episode log.

The episode log (``episodes.jsonl``) holds what the figures need: actions, win, score. A transcript holds
what a person needs to see why an episode went the way it did. Two files, both JSONL, appended one whole
line at a time like the episode log (a kill leaves at most a torn last line, cut on the next read):

``transcripts.jsonl``
    one line per evaluation episode (``serl-bench eval`` and a training run's final evaluation), in the
    episode log's order, keyed ``episode``.
``train-transcripts.jsonl``
    training rollouts, one line per logged group, keyed ``update``: the first group of every update by
    default, every group with ``--train-transcripts all`` (``none``: no file).

A line holds the episode's task, seed, outcome and its trials, each a list of steps::

    {"step": 0, "observation": "...", "prompt": {"sha256": "...", "chars": 5123, "last_turn": "..."},
     "response": "<think>...</think><action>click[b07]</action>", "action": "click[b07]",
     "parse_error": null, "feedback": "You have clicked b07.", "reward": 0.0}

``prompt`` is a hash of the full prompt as the model saw it (chat template applied), its length and its
last turn; its first turn (the instructions) is stored once per episode as ``first_turn``, and again on a
step only where it changed. Agents without a model have ``prompt`` and ``response`` null. Every text is cut
to `TEXT_LIMIT` characters (its head and tail kept, the cut marked), so a line stays a few tens of kB:
0.6 MB for the 111 episodes (408 steps) of a WebShop panel with the compact prompt.

``serl-bench show RUN`` prints an episode readably; ``--html FILE`` writes every episode as one static page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from .trajectories import StepRecord, Trajectory

TEXT_LIMIT = 2000  #: characters kept of any one text (head and tail; the middle is cut and marked)
EVAL_FILE = "transcripts.jsonl"
TRAIN_FILE = "train-transcripts.jsonl"


class TrainTranscripts(StrEnum):
    """Which training groups go to ``train-transcripts.jsonl``."""

    FIRST = "first"  #: the first group of every update
    ALL = "all"
    NONE = "none"  #: no training transcripts

    def count(self, groups: int) -> int:
        return {"first": min(1, groups), "all": groups, "none": 0}[self.value]


def bounded(text: str | None, limit: int = TEXT_LIMIT) -> str | None:
    """``text`` cut to about ``limit`` characters: its head and tail, the cut marked with its size."""
    if text is None or len(text) <= limit:
        return text
    keep = limit // 2
    return f"{text[:keep]}\n[... {len(text) - 2 * keep} characters cut ...]\n{text[-keep:]}"


def episode_transcript(key: str, number: int, attempts: Sequence[Trajectory]) -> dict[str, Any]:
    """One transcript line: the trials of an episode (``key`` ``episode``) or a group's rollouts (``update``)."""
    last = attempts[-1]
    first_turn = _first_turn(attempts[0].steps[0]) if attempts[0].steps else None
    trials = []
    for trial in attempts:
        steps, previous = [], first_turn
        for step in trial.steps:
            record = _step(step)
            turn = _first_turn(step)
            if turn != previous:
                record["first_turn"] = bounded(turn)
                previous = turn
            steps.append(record)
        trials.append(steps)
    return {key: number, "task_id": str(last.task_id), "task": bounded(last.task), "task_type": last.task_type,
            "seed": last.seed, "policy": last.policy, "won": last.won, "score": last.score,
            "truncated": last.truncated, "error": last.error, "first_turn": bounded(first_turn), "trials": trials}


def group_transcripts(update: int, rollouts: Sequence[Trajectory], group: int) -> list[dict[str, Any]]:
    """The lines of one training group: one per rollout, each with its group and rollout index."""
    return [{**episode_transcript("update", update, [t]), "group": group, "rollout": i}
            for i, t in enumerate(rollouts)]


def _step(step: StepRecord) -> dict[str, Any]:
    prompt = None
    if step.prompt is not None:
        last = step.messages[-1]["content"] if step.messages else step.prompt
        prompt = {"sha256": hashlib.sha256(step.prompt.encode("utf-8")).hexdigest(), "chars": len(step.prompt),
                  "last_turn": bounded(last)}
    return {"step": step.index, "observation": bounded(step.observation), "prompt": prompt,
            "response": bounded(step.response), "action": step.action, "parse_error": step.parse_error,
            "feedback": bounded(step.feedback), "reward": step.reward}


def _first_turn(step: StepRecord) -> str | None:
    if not step.messages or len(step.messages) < 2:
        return None
    return step.messages[0]["content"]
