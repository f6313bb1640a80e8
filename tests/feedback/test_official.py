"""Each feedback source's content as the official SERL code writes it (the defaults), and the classic
variant one option away, on real ALFWorld groups."""

import dataclasses

import pytest

from serl_bench.feedback import FeedbackSpec, Source, build_contexts, teacher_prompt
from serl_bench.trajectories import Group


@pytest.fixture(scope="module")
def llm_group(alfworld_env, random_model):
    """A real group in the LLM agents' format (prompts recorded), with a success and thinking responses."""
    from serl_bench.baselines.sft import ExpertInLLMFormat
    from serl_bench.models import HFBackend
    from serl_bench.rollouts import collect_group

    agent = ExpertInLLMFormat(HFBackend(str(random_model), dtype="float32"), history=1, epsilon=0.3)
    group = collect_group(alfworld_env, [("noisy", agent)], task_id=0, group_size=3, seed=3, max_steps=12)
    thinking = [dataclasses.replace(t, steps=tuple(dataclasses.replace(s, response="<think>plan</think>" + s.response)
                                                   for s in t.steps)) for t in group.trajectories]
    return Group(group.task_id, tuple(thinking))


def test_immediate_feedback_is_the_raw_next_observation_in_a_section(groups):
    group = groups["invalid"]
    official = build_contexts(group, FeedbackSpec.parse("immediate_feedback"))[0][0]
    assert official.text == "Immediate feedback from the current step:\nNothing happens."
    message = build_contexts(group, FeedbackSpec.parse("immediate_feedback", immediate_feedback="message",
                                                       layout="inline"))[0][0]
    assert message.text == "Immediate feedback on 'fly to the moon': Nothing happens."


def test_next_observation_is_the_next_prompt(llm_group):
    t = llm_group.trajectories[0]
    contexts = build_contexts(llm_group, FeedbackSpec.parse("next_observation"))[0]
    title = "next observation after the current step:\n"
    assert contexts[0].text == title + t.steps[1].messages[-1]["content"].strip()  # history, actions and all
    assert contexts[-1].text == title + t.steps[-1].next_observation.strip()  # no next prompt: the observation
    raw = build_contexts(llm_group, FeedbackSpec.parse("next_observation", next_observation="observation"))[0]
    assert raw[0].text == title + t.steps[0].next_observation.strip()


def test_future_trajectory_lists_later_responses_without_thinking_or_outcome(llm_group):
    t = llm_group.trajectories[0]
    context = build_contexts(llm_group, FeedbackSpec.parse("future_trajectory"))[0][0].text
    assert context.startswith("Observed future trajectory of the current step:\nStep 1\nResponse:\n")
    assert "<think>" not in context and "succeeded" not in context and "failed" not in context
    assert context.count("Response:") == t.length - 1  # every later step: no cap
    with_outcome = build_contexts(llm_group, FeedbackSpec.parse("future_trajectory", future_outcome=True,
                                                                strip_thinking=False))[0][0].text
    assert "<think>plan</think>" in with_outcome and with_outcome.rstrip().endswith("steps).")
    capped = build_contexts(llm_group, FeedbackSpec.parse("future_trajectory", max_trajectory_steps=1))[0][0].text
    assert capped.count("Response:") == 1 and "more steps omitted." in capped


def test_successful_trajectory_is_the_first_other_success_or_the_shortest(groups):
    base = groups["mixed"]
    winners = [t for t in base.trajectories if t.won]
    losers = [t for t in base.trajectories if not t.won]
    assert len(winners) >= 2 and winners[0].length != winners[1].length
    long, short = sorted(winners[:2], key=lambda t: -t.length)
    group = Group(base.task_id, (losers[0], long, short))
    first = build_contexts(group, FeedbackSpec.parse("successful_trajectory"))[0][0].text
    shortest = build_contexts(group, FeedbackSpec.parse("successful_trajectory", successful_pick="shortest"))[0][0]
    assert first.count("Response:") == long.length and shortest.text.count("Response:") == short.length
    assert first.startswith("Successful trajectory in the same task, if any:\n")
    own = build_contexts(group, FeedbackSpec.parse("successful_trajectory"))[1][0].text
    assert own.count("Response:") == short.length  # never the step's own trajectory


def test_plus_requires_every_source_unless_asked_not_to(groups):
    group = groups["failing"]  # no success at all
    strict = build_contexts(group, FeedbackSpec.parse("successful_trajectory+immediate_feedback"))
    assert all(c is None for row in strict for c in row)  # official: no context, the sample is not reweighted
    partial = build_contexts(group, FeedbackSpec.parse("successful_trajectory+immediate_feedback",
                                                       all_required=False))
    assert {c.sources for row in partial for c in row} == {(Source.IMMEDIATE_FEEDBACK,)}
    fallback = build_contexts(group, FeedbackSpec.parse("successful_trajectory|immediate_feedback"))
    assert {c.sources for row in fallback for c in row} == {(Source.IMMEDIATE_FEEDBACK,)}


def test_anchor_pools_by_raw_observation_or_by_state(groups):
    group = groups["mixed"]
    steps = [s for t in group.trajectories for s in t.steps]
    by_observation = build_contexts(group, FeedbackSpec.parse("immediate_feedback", "anchor"))
    by_state = build_contexts(group, FeedbackSpec.parse("immediate_feedback", "anchor", anchor="state"))
    pools = {id(c) for row in by_observation for c in row}
    assert len(pools) == len({s.observation for s in steps})
    assert len({id(c) for row in by_state for c in row}) == len({s.anchor for s in steps})
    nothing = [(ti, si) for ti, t in enumerate(group.trajectories) for si, s in enumerate(t.steps)
               if s.observation == "Nothing happens."]
    if len(nothing) > 1:  # the raw text pools unrelated states, as the official code does
        assert len({id(by_observation[ti][si]) for ti, si in nothing}) == 1
    text = by_observation[0][0].text
    assert text.startswith("Candidate actions tried from this state:\n- action ")
    assert "success count:" in text and "average return:" in text and "best outcome:" in text


def test_the_teacher_prompt_is_the_official_one(groups):
    group = groups["mixed"]
    spec = FeedbackSpec.parse("immediate_feedback")
    step, context = group.trajectories[0].steps[0], build_contexts(group, spec)[0][0]
    assert teacher_prompt(step, context, "T", spec) == (f"{step.observation}\n\n{context.text}\n\n"
                                                        "Correctly solve the current task.\n")


def test_the_spec_record_says_which_options_were_used():
    record = FeedbackSpec.parse("immediate_feedback").as_record()["options"]
    assert record["immediate_feedback"] == "observation" and record["next_observation"] == "prompt"
    assert record["all_required"] is True and record["anchor"] == "observation" and record["layout"] == "sections"
    assert record["successful_pick"] == "first" and record["max_trajectory_steps"] is None


@pytest.mark.parametrize("options, message", [({"anchor": "room"}, "unknown anchor 'room'"),
                                              ({"layout": "html"}, "unknown layout 'html'"),
                                              ({"colour": 1}, "unknown feedback option 'colour'"),
                                              ({"all_required": "yes"}, "all_required must be true or false")])
def test_bad_options_say_what_is_wrong(options, message):
    from serl_bench.errors import SerlBenchError

    with pytest.raises(SerlBenchError, match=message):
        FeedbackSpec.parse("immediate_feedback", **options)
