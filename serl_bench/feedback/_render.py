"""Writing trajectories and steps as context text (each step's text is rendered once per trajectory, the first
time a context needs it).

Two layouts (`Layout`): ``sections`` writes each step as the official code does (``Step k`` and the
response, thinking removed), ``inline`` as one compact line (``k. action => observation``).
"""

from __future__ import annotations

import re

from serl_bench.trajectories import StepRecord, Trajectory

from ._spec import FeedbackSpec, Layout, Rendering

_THINKING = re.compile(r"<think>.*?</think>\s*", re.S)


def clip(text: str | None, limit: int | None) -> str:
    """``text`` on one line, at most ``limit`` characters (no limit: None)."""
    flat = " ".join((text or "").split())
    if limit is None or len(flat) <= limit:
        return flat
    return flat[: limit - 1] + "…"


def cut(text: str | None, limit: int | None) -> str:
    """``text`` as it is (line breaks kept), at most ``limit`` characters."""
    text = (text or "").strip()
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def outcome(t: Trajectory) -> str:
    if t.error:
        return "ended in an error"
    verdict = "succeeded" if t.won else ("was cut off unsolved" if t.truncated else "failed")
    return f"{verdict} (score {t.score:.2f}, {t.length} steps)"


def response_text(step: StepRecord, spec: FeedbackSpec) -> str:
    """What the agent said at ``step`` (its action where no response was recorded)."""
    text = step.response if step.response is not None else step.action
    return _THINKING.sub("", text) if spec.strip_thinking else text


def prompt_text(step: StepRecord) -> str:
    """What the agent was shown at ``step``: its prompt's last user turn, else the observation."""
    return step.messages[-1]["content"] if step.messages else step.observation


class TrajectoryText:
    """The steps of one trajectory as a spec renders them, computed once and sliced many times."""

    def __init__(self, trajectory: Trajectory, spec: FeedbackSpec) -> None:
        self.trajectory, self.spec = trajectory, spec
        self.joiner = "\n\n" if spec.layout == Layout.SECTIONS else "\n"
        self._blocks: list[str] | None = None  # rendered on first use: most trajectories' texts never are

    @property
    def blocks(self) -> list[str]:
        if self._blocks is None:
            self._blocks = self._render()
        return self._blocks

    def _render(self) -> list[str]:
        spec, steps, limit = self.spec, self.trajectory.steps, self.spec.max_text_chars
        if spec.layout == Layout.SECTIONS:
            if spec.rendering == Rendering.RESPONSE:
                return [f"Step {s.index}\nResponse:\n{cut(response_text(s, spec), limit)}" for s in steps]
            return [f"Step {s.index}\nObservation:\n{cut(prompt_text(s), limit)}\nAction:\n"
                    f"{cut(response_text(s, spec), limit)}" for s in steps]
        response = spec.rendering == Rendering.RESPONSE
        return [f"{s.index + 1}. {clip(response_text(s, spec) if response and s.response else s.action, limit)}"
                f" => {clip(s.next_observation, limit)}" for s in steps]

    def steps(self, start: int = 0, stop: int | None = None) -> str:
        """Steps ``start:stop``, at most ``max_trajectory_steps`` of them."""
        blocks = self.blocks[start:stop]
        cap = self.spec.max_trajectory_steps
        if cap is not None and len(blocks) > cap:
            more = len(blocks) - cap
            blocks = [*blocks[:cap], f"... ({more} more steps)" if self.spec.layout == Layout.INLINE
                      else f"... {more} more steps omitted."]
        return self.joiner.join(blocks)
