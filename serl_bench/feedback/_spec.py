"""A feedback configuration: three orthogonal choices (sources, combine rule, granularity) plus options."""

from __future__ import annotations

import dataclasses
import re
import typing
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
    """How a trajectory's steps are written into a context."""

    RESPONSE = "response"  #: official: the agent's responses (thinking removed where ``strip_thinking``)
    OBSERVATION_ACTION = "observation_action"  #: what the agent saw, then what it did


class Layout(StrEnum):
    """How a context is written."""

    SECTIONS = "sections"  #: official: one titled section per source ("Immediate feedback from the current step:")
    INLINE = "inline"  #: one sentence per source ("Immediate feedback on 'look': ..."), compact step lines


class ImmediateFeedback(StrEnum):
    """What ``immediate_feedback`` holds."""

    OBSERVATION = "observation"  #: official: the env's raw text after the action (the next observation)
    MESSAGE = "message"  #: the env's ``info["feedback"]`` message (WebShop: "You have clicked ...")


class NextObservation(StrEnum):
    """What ``next_observation`` holds."""

    PROMPT = "prompt"  #: official: the whole next prompt the policy saw (history, observation, actions)
    OBSERVATION = "observation"  #: the raw observation after the action


class SuccessfulPick(StrEnum):
    """Which success of the group ``successful_trajectory`` shows."""

    FIRST = "first"  #: official: the first other successful rollout, in rollout order
    SHORTEST = "shortest"  #: the shortest other successful rollout


class AnchorKey(StrEnum):
    """What makes two steps "the same state" at anchor granularity."""

    OBSERVATION = "observation"  #: official: the raw observation the step acted on (history-free)
    STATE = "state"  #: the env's canonical state text (``info["anchor"]``): location, inventory, changes


OFFICIAL_TEACHER_TEMPLATE = "{student_prompt}\n\n{context}\n\nCorrectly solve the current task.\n"
INLINE_TEACHER_TEMPLATE = (
    "{student_prompt}\n\n"
    "Hindsight from the environment (the outcome of this and similar attempts):\n{context}\n\n"
    "Using this, choose the action that solves the task correctly: {task}"
)
DEFAULT_TEACHER_TEMPLATE = OFFICIAL_TEACHER_TEMPLATE


@dataclass(frozen=True)
class FeedbackSpec:
    """Which feedback a learner gets and where it is inserted.

    The defaults are the official SERL code's; every other value is one argument away (the table in
    ``docs/serl-vs-official.md`` lists each). `CLASSIC_OPTIONS` holds serl-bench's earlier choices.

    Example::

        spec = FeedbackSpec.parse("successful_trajectory|immediate_feedback", granularity="anchor")
    """

    sources: tuple[Source, ...]
    combine: Combine = Combine.ALL
    granularity: Granularity = Granularity.STEP
    all_required: bool = True  #: with ``+``: a context only where every source has evidence (official)
    immediate_feedback: ImmediateFeedback = ImmediateFeedback.OBSERVATION
    next_observation: NextObservation = NextObservation.PROMPT
    future_outcome: bool = False  #: future_trajectory ends with the attempt's outcome (official: it does not)
    successful_pick: SuccessfulPick = SuccessfulPick.FIRST
    anchor: AnchorKey = AnchorKey.OBSERVATION
    layout: Layout = Layout.SECTIONS
    rendering: Rendering = Rendering.RESPONSE
    strip_thinking: bool = True  #: responses are shown without their <think>...</think> part (official)
    max_trajectory_steps: int | None = None  #: at most this many steps of a trajectory in a context (None: all)
    max_text_chars: int | None = None  #: longer observations/responses are cut to this many characters (None: not)
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
        if (self.max_trajectory_steps is not None and self.max_trajectory_steps < 1) or (
                self.max_text_chars is not None and self.max_text_chars < 20):
            raise ConfigError("max_trajectory_steps must be >= 1 and max_text_chars >= 20 (or null: no cap)")
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
        return cls(sources=tuple(parsed), combine=combine, granularity=Granularity(granularity),
                   **_typed_options(options))

    @classmethod
    def option_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.name not in ("sources", "combine", "granularity")]

    def describe(self) -> str:
        return self.combine.value.join(s.value for s in self.sources)

    def as_record(self) -> dict:
        """The ``feedback`` field of a results record."""
        options = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                   if f.name not in ("sources", "combine", "granularity")}
        return {"sources": [s.value for s in self.sources], "combine": self.combine.value,
                "granularity": self.granularity.value,
                "options": {k: v.value if isinstance(v, StrEnum) else v for k, v in options.items()}}


def _typed_options(options: dict) -> dict:
    """Options as the spec's field types want them: names checked, closed sets and flags from their text."""
    hints = typing.get_type_hints(FeedbackSpec)
    out = {}
    for name, value in options.items():
        if name not in FeedbackSpec.option_names():
            raise UnknownNameError("feedback option", name, FeedbackSpec.option_names())
        kind = hints[name]
        if isinstance(kind, type) and issubclass(kind, StrEnum):
            if value not in kind._value2member_map_:
                raise UnknownNameError(name.replace("_", " "), str(value), [m.value for m in kind])
            value = kind(value)
        elif kind is bool and not isinstance(value, bool):
            raise ConfigError(f"feedback option {name} must be true or false, got {value!r}")
        out[name] = value
    return out


#: serl-bench's choices before it followed the official code by default (``FeedbackSpec(..., **CLASSIC_OPTIONS)``)
CLASSIC_OPTIONS: dict = {
    "all_required": False, "immediate_feedback": ImmediateFeedback.MESSAGE,
    "next_observation": NextObservation.OBSERVATION, "future_outcome": True,
    "successful_pick": SuccessfulPick.SHORTEST, "anchor": AnchorKey.STATE, "layout": Layout.INLINE,
    "rendering": Rendering.OBSERVATION_ACTION, "strip_thinking": False, "max_trajectory_steps": 20,
    "max_text_chars": 600, "teacher_template": INLINE_TEACHER_TEMPLATE,
}
