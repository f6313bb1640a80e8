"""A feedback configuration: three orthogonal choices (sources, combine rule, granularity) plus options."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from enum import StrEnum

from serl_bench.errors import ConfigError, UnknownNameError


class Source(StrEnum):
    """Where hindsight evidence for a step comes from."""

    IMMEDIATE_FEEDBACK = "immediate_feedback"  #: the env's direct response to the step's action
    NEXT_OBSERVATION = "next_observation"  #: the observation after the step's action
    FUTURE_TRAJECTORY = "future_trajectory"  #: the rest of this trajectory, with its outcome
    SUCCESSFUL_TRAJECTORY = "successful_trajectory"  #: another trajectory of the group that succeeded
    CURRENT_TRAJECTORY = "current_trajectory"  #: the whole trajectory with its outcome (optionally judged)


class Combine(StrEnum):
    """How several sources combine: all that have evidence, or the first one that has."""

    ALL = "+"
    FALLBACK = "|"


class Granularity(StrEnum):
    """Whose records a step's context comes from."""

    STEP = "step"  #: the step's own records
    ANCHOR = "anchor"  #: every step of the group that starts from the same anchor state


class Rendering(StrEnum):
    """How trajectories are written into a context."""

    OBSERVATION_ACTION = "observation_action"  #: observation, then the action taken
    RESPONSE = "response"  #: the agent's full responses (its action where it has none)


DEFAULT_TEACHER_TEMPLATE = (
    "{student_prompt}\n\n"
    "Hindsight from the environment (the outcome of this and similar attempts):\n{context}\n\n"
    "Using this, choose the action that solves the task correctly: {task}"
)


@dataclass(frozen=True)
class FeedbackSpec:
    """Which feedback a learner gets and where it is inserted.

    Example::

        spec = FeedbackSpec.parse("successful_trajectory|immediate_feedback", granularity="anchor")
    """

    sources: tuple[Source, ...]
    combine: Combine = Combine.ALL
    granularity: Granularity = Granularity.STEP
    rendering: Rendering = Rendering.OBSERVATION_ACTION
    max_trajectory_steps: int = 20  #: at most this many steps of any trajectory are written into a context
    max_text_chars: int = 600  #: longer observations/responses are cut to this many characters
    anchor_similarity: float = 1.0  #: pool anchors this similar (rapidfuzz ratio in [0, 1]); 1.0 = exact
    expert_fallback: bool = False  #: successful_trajectory falls back to the group's expert demonstration
    gamma: float = 1.0  #: discount for the step returns shown at anchor granularity
    teacher_template: str = DEFAULT_TEACHER_TEMPLATE  #: fields: {student_prompt}, {context}, {task}

    def __post_init__(self) -> None:
        if not self.sources:
            raise ConfigError("a feedback spec needs at least one source")
        if len(set(self.sources)) != len(self.sources):
            raise ConfigError(f"a source is named twice in {self.describe()!r}")
        if not 0.0 < self.anchor_similarity <= 1.0:
            raise ConfigError(f"anchor_similarity must be in (0, 1], got {self.anchor_similarity}")
        if self.max_trajectory_steps < 1 or self.max_text_chars < 20:
            raise ConfigError("max_trajectory_steps must be >= 1 and max_text_chars >= 20")
        if not 0.0 <= self.gamma <= 1.0:
            raise ConfigError(f"gamma must be in [0, 1], got {self.gamma}")
        try:
            self.teacher_template.format(student_prompt="", context="", task="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError("teacher_template may only use {student_prompt}, {context} and {task}: "
                              f"{exc!r}") from None

    @classmethod
    def parse(cls, sources: str, granularity: str = "step", **options) -> FeedbackSpec:
        """From the command-line syntax: ``a+b`` (all of them) or ``a|b`` (b only where a is missing)."""
        text = sources.replace(" ", "")
        if "+" in text and "|" in text:
            raise ConfigError(f"feedback {sources!r} mixes '+' and '|'; use one combine rule")
        combine = Combine.FALLBACK if "|" in text else Combine.ALL
        names = re.split(r"[+|]", text)
        parsed = []
        for name in names:
            if name not in Source._value2member_map_:
                raise UnknownNameError("feedback source", name, [s.value for s in Source])
            parsed.append(Source(name))
        if granularity not in Granularity._value2member_map_:
            raise UnknownNameError("granularity", granularity, [g.value for g in Granularity])
        if "rendering" in options:
            if options["rendering"] not in Rendering._value2member_map_:
                raise UnknownNameError("rendering", options["rendering"], [r.value for r in Rendering])
            options["rendering"] = Rendering(options["rendering"])
        return cls(sources=tuple(parsed), combine=combine, granularity=Granularity(granularity), **options)

    def describe(self) -> str:
        return self.combine.value.join(s.value for s in self.sources)

    def as_record(self) -> dict:
        """The ``feedback`` field of a results record."""
        options = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                   if f.name not in ("sources", "combine", "granularity")}
        return {"sources": [s.value for s in self.sources], "combine": self.combine.value,
                "granularity": self.granularity.value,
                "options": {k: v.value if isinstance(v, StrEnum) else v for k, v in options.items()}}
