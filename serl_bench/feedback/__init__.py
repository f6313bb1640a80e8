"""The feedback engine: which environment feedback a learner gets (five sources) and where (two granularities).

Hindsight contexts are built after a group's rollouts finish, for every step::

    from serl_bench.feedback import FeedbackSpec, build_contexts

    spec = FeedbackSpec.parse("successful_trajectory|immediate_feedback", granularity="anchor")
    contexts = build_contexts(group, spec)          # contexts[trajectory][step]: Context or None

Pure Python, env-agnostic and deterministic; the optional LLM judge (`OpenAIJudge`) condenses
``current_trajectory`` through any OpenAI-compatible endpoint. `HindsightWrapper` and `GroupEnv` give
the same contexts to code that only speaks Gymnasium.
"""

from ._contexts import (
    Context,
    GroupContexts,
    build_batch_contexts,
    build_contexts,
    teacher_messages,
    teacher_prompt,
)
from ._judge import DEFAULT_JUDGE_PROMPT, Judge, JudgeConfig, JudgeFailure, OpenAIJudge
from ._run import FeedbackRun, FeedbackRunConfig, collect_feedback
from ._spec import (
    CLASSIC_OPTIONS,
    DEFAULT_TEACHER_TEMPLATE,
    INLINE_TEACHER_TEMPLATE,
    AnchorKey,
    Combine,
    FeedbackSpec,
    Granularity,
    ImmediateFeedback,
    Layout,
    NextObservation,
    Rendering,
    Source,
    SuccessfulPick,
)
from ._wrappers import GroupEnv, HindsightWrapper

__all__ = [
    "CLASSIC_OPTIONS", "DEFAULT_JUDGE_PROMPT", "DEFAULT_TEACHER_TEMPLATE", "INLINE_TEACHER_TEMPLATE", "AnchorKey",
    "Combine", "Context", "FeedbackRun", "FeedbackRunConfig", "FeedbackSpec", "Granularity", "GroupContexts",
    "GroupEnv", "HindsightWrapper", "ImmediateFeedback", "Judge", "JudgeConfig", "JudgeFailure", "Layout",
    "NextObservation", "OpenAIJudge", "Rendering", "Source", "SuccessfulPick", "build_batch_contexts",
    "build_contexts", "collect_feedback", "teacher_messages", "teacher_prompt",
]
