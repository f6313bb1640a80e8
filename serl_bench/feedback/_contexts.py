"""Hindsight contexts: for every step of every trajectory in a group, the text a teacher would see.

``step`` granularity gives each step the chosen sources' evidence about that step. ``anchor`` granularity
pools the group's steps that start from the same anchor state and gives every step of a pool the same
context: each distinct action tried from that state with its count, success rate and mean return, and
the sources' evidence for its best and worst outcome. Sources combine with ``+`` (all that have
evidence) or ``|`` (the first that has). Steps without an anchor fall back to step granularity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from serl_bench.trajectories import Batch, Group, StepRecord

from ._anchors import StepRef, pool_by_anchor
from ._judge import Judge, JudgeFailure
from ._render import TrajectoryText, clip, cut, outcome, prompt_text
from ._spec import (
    AnchorKey,
    Combine,
    FeedbackSpec,
    Granularity,
    ImmediateFeedback,
    Layout,
    NextObservation,
    Source,
    SuccessfulPick,
)


@dataclass(frozen=True)
class Context:
    """The hindsight context of one step."""

    text: str
    sources: tuple[Source, ...]  #: the sources that contributed, in the spec's order
    notes: tuple[str, ...] = ()  #: e.g. why a judge summary is missing


GroupContexts = list[list[Context | None]]  # [trajectory][step]; None: no source had evidence


def build_contexts(group: Group, spec: FeedbackSpec, judge: Judge | None = None) -> GroupContexts:
    """The hindsight context of every step of every trajectory of ``group``."""
    view = _GroupView(group, spec, judge)
    out: GroupContexts = [[None] * t.length for t in group.trajectories]
    refs = [((ti, si), view.anchor_of(s)) for ti, t in enumerate(group.trajectories) for si, s in enumerate(t.steps)]
    if spec.granularity == Granularity.ANCHOR:
        for pool in pool_by_anchor(refs, spec.anchor_similarity):
            context = view.pool_context(pool)
            for ti, si in pool:
                out[ti][si] = context
    for (ti, si), anchor in refs:
        if spec.granularity == Granularity.STEP or anchor is None:
            out[ti][si] = view.step_context(ti, si)
    return out


def build_batch_contexts(batch: Batch, spec: FeedbackSpec, judge: Judge | None = None) -> list[GroupContexts]:
    return [build_contexts(group, spec, judge) for group in batch.groups]


def teacher_prompt(step: StepRecord, context: Context, task: str, spec: FeedbackSpec) -> str:
    """The teacher's prompt: the student's prompt, the hindsight context, and the instruction.

    For an LLM agent the student's prompt is its last user message (the chat template is applied when the
    teacher scores it, see `teacher_messages`); for other policies, the observation they acted on.
    """
    messages = step.messages
    student = messages[-1]["content"] if messages else (step.prompt or step.observation)
    return spec.teacher_template.format(student_prompt=student, context=context.text, task=task)


def teacher_messages(step: StepRecord, context: Context, task: str, spec: FeedbackSpec) -> list[dict]:
    """The chat a teacher scores the student's response in: the student's, with the last turn extended."""
    messages = [dict(m) for m in (step.messages or [{"role": "user", "content": ""}])]
    return [*messages[:-1], {"role": "user", "content": teacher_prompt(step, context, task, spec)}]


TITLES = {  # the official code's section titles
    Source.IMMEDIATE_FEEDBACK: "Immediate feedback from the current step:",
    Source.NEXT_OBSERVATION: "next observation after the current step:",
    Source.FUTURE_TRAJECTORY: "Observed future trajectory of the current step:",
    Source.SUCCESSFUL_TRAJECTORY: "Successful trajectory in the same task, if any:",
    Source.CURRENT_TRAJECTORY: "Current trajectory:",
}
JUDGE_TITLE = "Trajectory Judge:"


class _GroupView:
    """Everything about a group that several steps' contexts share, computed once."""

    def __init__(self, group: Group, spec: FeedbackSpec, judge: Judge | None) -> None:
        self.group, self.spec = group, spec
        self.sections = spec.layout == Layout.SECTIONS
        self.texts = [TrajectoryText(t, spec) for t in group.trajectories]
        self.returns = [t.returns(spec.gamma) for t in group.trajectories]
        self.won = [t.won for t in group.trajectories]
        self.lengths = [t.length for t in group.trajectories]
        self._indent: dict[str, str] = {}
        winners = [(t.length if spec.successful_pick == SuccessfulPick.SHORTEST else 0, i)
                   for i, t in enumerate(group.trajectories) if t.won and not t.error]
        self.winners = [i for _, i in sorted(winners)]
        expert = group.expert if spec.expert_fallback and group.expert and group.expert.won else None
        self.expert_text = TrajectoryText(expert, spec) if expert else None
        self.summaries: list[str | None] = [None] * len(group.trajectories)
        self.notes: list[tuple[str, ...]] = [()] * len(group.trajectories)
        self._per_trajectory: dict[tuple[Source, int], str | None] = {}
        if judge is not None and Source.CURRENT_TRAJECTORY in spec.sources:
            self._judge(judge)

    def _judge(self, judge: Judge) -> None:
        items = [(t.task, self.texts[i].steps(), outcome(t)) for i, t in enumerate(self.group.trajectories)]
        for i, result in enumerate(judge.condense_many(items)):
            if isinstance(result, JudgeFailure):
                self.notes[i] = (f"judge failed ({result.reason}); the raw trajectory is used",)
            else:
                self.summaries[i] = result

    def anchor_of(self, step) -> str | None:
        return step.observation if self.spec.anchor == AnchorKey.OBSERVATION else step.anchor

    def evidence(self, source: Source, ti: int, si: int) -> str | None:
        """What ``source`` says about step ``si`` of trajectory ``ti`` (None: nothing)."""
        if source in (Source.SUCCESSFUL_TRAJECTORY, Source.CURRENT_TRAJECTORY):
            key = (source, ti)  # they read whole trajectories: the same text for all steps of one
            if key not in self._per_trajectory:
                text = self._success(ti) if source == Source.SUCCESSFUL_TRAJECTORY else self._current(ti)
                self._per_trajectory[key] = text
            return self._per_trajectory[key]
        trajectory = self.group.trajectories[ti]
        step, limit = trajectory.steps[si], self.spec.max_text_chars
        if source == Source.IMMEDIATE_FEEDBACK:
            raw = step.next_observation if self.spec.immediate_feedback == ImmediateFeedback.OBSERVATION else (
                step.feedback)
            if not raw:
                return None
            return self._section(source, cut(raw, limit)) if self.sections else (
                f"Immediate feedback on '{step.action}': {clip(raw, limit)}")
        if source == Source.NEXT_OBSERVATION:
            raw = step.next_observation
            if self.spec.next_observation == NextObservation.PROMPT and si + 1 < trajectory.length:
                raw = prompt_text(trajectory.steps[si + 1])  # the prompt the policy saw next
            return self._section(source, cut(raw, limit)) if self.sections else (
                f"Observation after '{step.action}': {clip(raw, limit)}")
        if si + 1 >= trajectory.length:  # future_trajectory: the last step has none
            return None
        future = self.texts[ti].steps(si + 1)
        if self.sections:
            ending = f"\nThis attempt {outcome(trajectory)}." if self.spec.future_outcome else ""
            return self._section(source, future + ending)
        said = f", which {outcome(trajectory)}" if self.spec.future_outcome else ""
        return f"What followed in this attempt{said}:\n{future}"

    def _section(self, source: Source, text: str, title: str | None = None) -> str:
        return f"{title or TITLES[source]}\n{text}"

    def _current(self, ti: int) -> str:
        summary = self.summaries[ti]
        if self.sections:
            if summary:
                return f"{JUDGE_TITLE}\n{summary}"
            return self._section(Source.CURRENT_TRAJECTORY, f"{self.texts[ti].steps()}\nThis attempt "
                                 f"{outcome(self.group.trajectories[ti])}.")
        body = f"Summary: {summary}" if summary else self.texts[ti].steps()
        return f"This whole attempt, which {outcome(self.group.trajectories[ti])}:\n{body}"

    def _success(self, ti: int) -> str | None:
        other = next((i for i in self.winners if i != ti), None)
        if other is not None:
            text = self.texts[other].steps()
            return self._section(Source.SUCCESSFUL_TRAJECTORY, text) if self.sections else (
                f"Another attempt at this task that succeeded:\n{text}")
        if self.expert_text is not None:
            text = self.expert_text.steps()
            return self._section(Source.SUCCESSFUL_TRAJECTORY, text, "An expert demonstration of this task:") \
                if self.sections else f"An expert demonstration of this task:\n{text}"
        return None

    def step_parts(self, ti: int, si: int, *, pooled: bool = False) -> list[tuple[Source, str]]:
        """The evidence of each source the combine rule picks for step ``si`` of trajectory ``ti``. With ``+``
        and ``all_required``, none unless every source has some (a pooled anchor context never requires all)."""
        parts: list[tuple[Source, str]] = []
        for source in self.spec.sources:
            text = self.evidence(source, ti, si)
            if text is not None:
                parts.append((source, text))
                if self.spec.combine == Combine.FALLBACK:
                    break
            elif self.spec.combine == Combine.ALL and self.spec.all_required and not pooled:
                return []
        return parts

    def step_context(self, ti: int, si: int) -> Context | None:
        parts = self.step_parts(ti, si)
        if not parts:
            return None
        used = tuple(source for source, _ in parts)
        notes = self.notes[ti] if Source.CURRENT_TRAJECTORY in used else ()
        return Context(text=("\n\n" if self.sections else "\n").join(text for _, text in parts), sources=used,
                       notes=notes)

    def pool_context(self, pool: Sequence[StepRef]) -> Context:
        trajectories, returns, won, length = self.group.trajectories, self.returns, self.won, self.lengths
        by_action: dict[str, list[StepRef]] = {}
        for ti, si in pool:
            by_action.setdefault(trajectories[ti].steps[si].action, []).append((ti, si))

        def value(ref: StepRef) -> tuple:  # better outcome first: return, then success, then fewer steps
            ti, si = ref
            return (returns[ti][si], won[ti], -length[ti], -ti)

        ranked = []
        for action, refs in by_action.items():
            mean = sum(returns[ti][si] for ti, si in refs) / len(refs)
            ranked.append((-mean, -len(refs), action, refs))
        ranked.sort(key=lambda r: r[:3])
        if self.sections:
            lines = ["Candidate actions tried from this state:"]
        else:
            lines = [f"This state came up {_times(len(pool))} in the group. Actions tried from it:"]
        used: set[Source] = set()
        shown: dict[str, str] = {}  # evidence text -> where it was first shown
        success: str | None = None  # sections: the successful trajectory is one section after the candidates
        for negative_mean, _, action, refs in ranked:
            mean, tried = -negative_mean, len(refs)
            wins = sum(won[ti] for ti, _ in refs)
            best, worst = (refs[0], refs[0]) if tried == 1 else (max(refs, key=value), min(refs, key=value))
            if self.sections:
                lines.append(f"- action {action}, tried {tried} times, success count: {wins}/{tried}, "
                             f"average return: {mean:.4f}")
                for label, ref in (("best", best), ("worst", worst)):
                    lines.append(f"  {label} outcome: {'success' if won[ref[0]] else 'failure'}, reward "
                                 f"{returns[ref[0]][ref[1]]:.4f}")
            else:
                lines.append(f"- '{action}': tried {_times(tried)}, success {100 * wins / tried:.0f} %, "
                             f"mean return {mean:.2f}")
            for label, ref in (("best outcome", best), ("worst outcome", worst)) if best != worst else (
                    ("outcome", best),):
                for source, text in self.step_parts(*ref, pooled=True):
                    used.add(source)
                    if self.sections and source == Source.SUCCESSFUL_TRAJECTORY:
                        success = success or text
                        continue
                    if text in shown:  # e.g. the same successful attempt: write it once
                        lines.append(f"  {label}: (same {source.value.replace('_', ' ')} as {shown[text]})")
                    else:
                        shown[text] = f"for '{action}' above"
                        lines.append(f"  {label}: {self._indented(text)}")
        if success is not None:  # official: appended where there is one, never required
            lines += ["", success]
        notes = tuple(n for ti, _ in pool for n in self.notes[ti]) if Source.CURRENT_TRAJECTORY in used else ()
        return Context(text="\n".join(lines), sources=tuple(s for s in self.spec.sources if s in used),
                       notes=tuple(dict.fromkeys(notes)))

    def _indented(self, text: str) -> str:
        """Evidence text indented under its candidate line; a trajectory's text is indented once per group."""
        done = self._indent.get(text)
        if done is None:
            done = self._indent[text] = text.replace("\n", "\n    ")
        return done


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"
