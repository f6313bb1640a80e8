import pytest

from serl_bench.errors import ConfigError, UnknownNameError
from serl_bench.feedback import Combine, FeedbackSpec, Granularity, Rendering, Source


def test_parse_the_command_line_syntax():
    spec = FeedbackSpec.parse("successful_trajectory|immediate_feedback", "anchor")
    assert spec.sources == (Source.SUCCESSFUL_TRAJECTORY, Source.IMMEDIATE_FEEDBACK)
    assert spec.combine == Combine.FALLBACK and spec.granularity == Granularity.ANCHOR
    both = FeedbackSpec.parse("next_observation + future_trajectory", rendering="response")
    assert both.combine == Combine.ALL and both.rendering is Rendering.RESPONSE
    assert both.describe() == "next_observation+future_trajectory"
    record = FeedbackSpec.parse("current_trajectory", max_trajectory_steps=7).as_record()
    assert {k: record[k] for k in ("sources", "combine", "granularity")} == {
        "sources": ["current_trajectory"], "combine": "+", "granularity": "step"}
    assert record["options"]["max_trajectory_steps"] == 7 and record["options"]["rendering"] == "response"


@pytest.mark.parametrize("text, granularity, options, error, message", [
    ("error_messages", "step", {}, UnknownNameError, "unknown feedback source 'error_messages'; valid: current"),
    ("next_observation", "episode", {}, UnknownNameError, "unknown granularity 'episode'; valid: anchor, step"),
    ("next_observation+future_trajectory|current_trajectory", "step", {}, ConfigError, "mixes '\\+' and '\\|'"),
    ("next_observation+next_observation", "step", {}, ConfigError, "named twice"),
    ("next_observation", "step", {"rendering": "html"}, UnknownNameError, "unknown rendering 'html'"),
    ("next_observation", "step", {"anchor_similarity": 0.0}, ConfigError, "anchor_similarity"),
    ("next_observation", "step", {"teacher_template": "{prompt}"}, ConfigError, "teacher_template may only use"),
])
def test_bad_specs_say_what_is_wrong(text, granularity, options, error, message):
    with pytest.raises(error, match=message):
        FeedbackSpec.parse(text, granularity, **options)
