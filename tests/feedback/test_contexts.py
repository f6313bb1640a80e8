"""Every source x granularity x combine rule on real ALFWorld groups, with the edge cases.

These pin serl-bench's classic choices (`CLASSIC_OPTIONS`: inline layout, the env's feedback message, the
canonical state as anchor, partial '+', shortest success...), which stay one argument away; the official
defaults are tested in test_official.py.
"""

import itertools

import pytest

from serl_bench.feedback import CLASSIC_OPTIONS, FeedbackSpec, Source, build_contexts, teacher_prompt
from serl_bench.feedback._anchors import pool_by_anchor
from serl_bench.feedback._render import TrajectoryText, clip

SOURCES = [s.value for s in Source]


def classic(text, granularity="step", **options):
    return FeedbackSpec.parse(text, granularity, **{**CLASSIC_OPTIONS, **options})


def classic_of(*sources):
    return FeedbackSpec(tuple(sources), **CLASSIC_OPTIONS)
SPECS = [(f"{a}{rule}{b}", granularity)
         for a, b in itertools.permutations(SOURCES, 2) for rule in "+|" for granularity in ("step", "anchor")]


def _which_trajectory(group, text, spec):
    """Index of the group trajectory (or 'expert') whose rendering appears in ``text``."""
    found = [i for i, t in enumerate(group.trajectories) if TrajectoryText(t, spec).steps() in text]
    if group.expert is not None and TrajectoryText(group.expert, spec).steps() in text:
        found.append("expert")
    return found


@pytest.fixture(scope="module")
def single_source(groups):
    """Each group's contexts with one source alone: whether that source has evidence for a step."""
    return {name: {s: build_contexts(g, classic_of(s)) for s in Source} for name, g in groups.items()}


@pytest.mark.parametrize("text, granularity", SPECS)
@pytest.mark.parametrize("name", ["mixed", "failing", "single", "invalid"])
def test_contexts_follow_the_combine_rule(groups, single_source, name, text, granularity):
    group, spec = groups[name], classic(text, granularity)
    contexts = build_contexts(group, spec)
    assert [len(c) for c in contexts] == [t.length for t in group.trajectories]
    for ti, row in enumerate(contexts):
        for si, context in enumerate(row):
            if granularity == "step":
                available = [s for s in spec.sources if single_source[name][s][ti][si] is not None]
                expected = available[:1] if "|" in text else available
                assert (context.sources if context else ()) == tuple(expected)
                for source in expected:  # each part is exactly that source's evidence
                    assert single_source[name][source][ti][si].text in context.text
            else:  # an anchor context always lists the actions tried from the state
                assert context is not None and context.text.startswith("This state came up")
                assert set(context.sources) <= set(spec.sources)


@pytest.mark.parametrize("name", ["mixed", "failing", "single", "invalid"])
def test_each_source_says_what_it_should(groups, name):
    group = groups[name]
    one = {s: build_contexts(group, classic_of(s)) for s in Source}
    winners = [i for i, t in enumerate(group.trajectories) if t.won]
    for ti, t in enumerate(group.trajectories):
        for si, step in enumerate(t.steps):
            assert clip(step.feedback, 600) in one[Source.IMMEDIATE_FEEDBACK][ti][si].text
            assert clip(step.next_observation, 600) in one[Source.NEXT_OBSERVATION][ti][si].text
            future = one[Source.FUTURE_TRAJECTORY][ti][si]
            if si == t.length - 1:
                assert future is None  # the last step has no future
            else:
                assert f"{si + 2}. {t.steps[si + 1].action} =>" in future.text
            current = one[Source.CURRENT_TRAJECTORY][ti][si]
            assert ("succeeded" in current.text) == t.won and f"1. {t.steps[0].action} =>" in current.text
            success = one[Source.SUCCESSFUL_TRAJECTORY][ti][si]
            others = [i for i in winners if i != ti]
            if not others:
                assert success is None  # never the step's own trajectory; no expert unless asked
            else:
                shown = _which_trajectory(group, success.text, classic_of(Source.SUCCESSFUL_TRAJECTORY))
                assert shown and ti not in shown and set(shown) <= set(others)


def test_no_success_falls_back_to_the_expert_when_asked(groups):
    group = groups["failing"]
    assert not any(t.won for t in group.trajectories) and group.expert.won
    plain = build_contexts(group, classic("successful_trajectory"))
    assert all(c is None for row in plain for c in row)
    expert = build_contexts(group, classic("successful_trajectory", expert_fallback=True))
    spec = classic("successful_trajectory")
    assert all(_which_trajectory(group, c.text, spec) == ["expert"] for row in expert for c in row)
    fallback = build_contexts(group, classic("successful_trajectory|immediate_feedback"))
    assert {c.sources for row in fallback for c in row} == {(Source.IMMEDIATE_FEEDBACK,)}


def test_an_invalid_action_shows_the_engine_answer(groups):
    trajectory = groups["invalid"].trajectories[0]
    assert trajectory.steps[0].action == "fly to the moon"
    context = build_contexts(groups["invalid"], classic("immediate_feedback"))[0][0]
    assert context.text == "Immediate feedback on 'fly to the moon': Nothing happens."


def test_anchor_pools_share_one_context_with_correct_statistics(groups):
    group = groups["mixed"]
    spec = classic("immediate_feedback+future_trajectory", "anchor")
    contexts = build_contexts(group, spec)
    by_anchor = {}
    for ti, t in enumerate(group.trajectories):
        for si, step in enumerate(t.steps):
            by_anchor.setdefault(step.anchor, []).append((ti, si))
    for refs in by_anchor.values():
        shared = {id(contexts[ti][si]) for ti, si in refs}
        assert len(shared) == 1
        text = contexts[refs[0][0]][refs[0][1]].text
        assert text.startswith(f"This state came up {'once' if len(refs) == 1 else f'{len(refs)} times'}")
        actions = {group.trajectories[ti].steps[si].action for ti, si in refs}
        listed = [line for line in text.splitlines() if line.startswith("- '")]
        assert {line[3:line.index("':")] for line in listed} == actions
        for action in actions:
            tried = [(ti, si) for ti, si in refs if group.trajectories[ti].steps[si].action == action]
            rate = 100 * sum(group.trajectories[ti].won for ti, _ in tried) / len(tried)
            line = next(x for x in listed if x.startswith(f"- '{action}'"))
            assert f"success {rate:.0f} %" in line


def test_the_start_state_pools_every_rollout(groups):
    group = groups["mixed"]
    context = build_contexts(group, classic("successful_trajectory", "anchor"))[0][0]
    starts = sum(s.anchor == "at the middle of the room; holding nothing" for t in group.trajectories for s in t.steps)
    assert context.text.startswith(f"This state came up {starts} times")
    assert "same successful trajectory as for" in context.text  # shown once, referred to afterwards


def test_similar_anchors_pool_only_above_the_threshold():
    refs = [((0, 0), "at countertop 1; holding nothing"), ((0, 1), "at countertop 2; holding nothing"),
            ((1, 0), "at fridge 1; holding apple 1; fridge 1 open"), ((1, 1), "at countertop 1; holding nothing")]
    assert pool_by_anchor(refs, 1.0) == [[(0, 0), (1, 1)], [(0, 1)], [(1, 0)]]
    assert pool_by_anchor(refs, 0.9) == [[(0, 0), (1, 1), (0, 1)], [(1, 0)]]
    assert pool_by_anchor([((0, 0), None)], 1.0) == []


def test_steps_without_anchor_fall_back_to_their_own_records(groups):
    import dataclasses

    from serl_bench.trajectories import Group

    t = groups["single"].trajectories[0]
    bare = dataclasses.replace(t, steps=tuple(dataclasses.replace(s, anchor=None) for s in t.steps))
    contexts = build_contexts(Group(t.task_id, (bare,)), classic("immediate_feedback", "anchor"))
    assert contexts[0][0].text.startswith("Immediate feedback on")


def test_caps_and_renderings(groups):
    t = groups["failing"].trajectories[0]
    capped = build_contexts(groups["failing"], classic("current_trajectory", max_trajectory_steps=3))
    assert f"... ({t.length - 3} more steps)" in capped[0][0].text
    responses = build_contexts(groups["failing"], classic("current_trajectory", rendering="response"))
    assert f"1. {t.steps[0].action} =>" in responses[0][0].text  # no response recorded: the action stands in


def test_teacher_prompt_puts_context_between_prompt_and_instruction(groups):
    group = groups["mixed"]
    spec = classic("future_trajectory")
    step, context = group.trajectories[0].steps[0], build_contexts(group, spec)[0][0]
    prompt = teacher_prompt(step, context, group.trajectories[0].task, spec)
    assert prompt.index(step.observation) < prompt.index(context.text) < prompt.rindex(group.trajectories[0].task)
    custom = classic("future_trajectory", teacher_template="{task}|{context}")
    assert teacher_prompt(step, context, "T", custom) == f"T|{context.text}"


def test_building_is_deterministic(groups):
    spec = classic("successful_trajectory+current_trajectory", "anchor", anchor_similarity=0.9)
    first = [[c.text if c else None for c in row] for row in build_contexts(groups["mixed"], spec)]
    second = [[c.text if c else None for c in row] for row in build_contexts(groups["mixed"], spec)]
    assert first == second
