"""The official SERL code's semantics, hand-computed, and each named variant one argument away."""

import dataclasses
import math

import pytest
import torch

from serl_bench.baselines.gigpo import step_advantages as gigpo_step_advantages
from serl_bench.baselines.ppo import gae
from serl_bench.baselines.serl import lambda_at
from serl_bench.methods import build_method
from serl_bench.training import EpisodeAdvantage, episode_advantages
from serl_bench.training._samples import Sample
from serl_bench.trajectories import Group, StepRecord, Trajectory


def _step(i, response="<think>x</think><action>look</action>", parse_error=None, reward=0.0):
    return StepRecord(index=i, observation=f"o{i}", action="look", next_observation=f"o{i + 1}", feedback="f",
                      anchor=f"a{i}", reward=reward, done=False, response=response, parse_error=parse_error)


def _episode(length, won, invalid=()):
    steps = [_step(i, response="look" if i in invalid else "<think>x</think><action>look</action>",
                   reward=1.0 if won and i == length - 1 else 0.0) for i in range(length)]
    return Trajectory(task_id="t", task="t", task_type=None, seed=0, steps=tuple(steps), won=won,
                      score=float(won))


def test_step_rows_normalize_over_every_step_of_the_group():
    group = Group("t", tuple([_episode(10, True)] * 2 + [_episode(50, False)] * 6))
    official = build_method("grpo")[0].step_advantages(group)
    # 20 rows of 10 and 300 rows of 0: mean 0.625, unbiased std 2.4244
    mean = 200 / 320
    std = math.sqrt((20 * (10 - mean) ** 2 + 300 * mean ** 2) / 319)
    assert official[0][0] == pytest.approx((10 - mean) / (std + 1e-6)) == pytest.approx(3.867, abs=1e-3)
    assert official[2][0] == pytest.approx(-mean / (std + 1e-6)) == pytest.approx(-0.258, abs=1e-3)
    classic = build_method("grpo", advantage_norm="trajectory")[0].step_advantages(group)
    assert classic[0][0] == pytest.approx(1.620, abs=1e-3) and classic[2][0] == pytest.approx(-0.540, abs=1e-3)


def test_the_invalid_format_penalty_lowers_only_its_own_row():
    group = Group("t", (_episode(2, True, invalid={1}), _episode(2, False)))
    rows = [9.9 if False else 10.0, 9.9, 0.0, 0.0]  # won rows 10 and 10 - 0.1; lost rows 0, 0
    mean = sum(rows) / 4
    std = math.sqrt(sum((r - mean) ** 2 for r in rows) / 3)
    got = build_method("grpo")[0].step_advantages(group)
    assert [a for episode in got for a in episode] == pytest.approx([(r - mean) / (std + 1e-6) for r in rows])
    assert got[0][0] > got[0][1]  # the invalid step is pushed down within its won episode
    no_penalty = build_method("grpo", invalid_penalty=0.0)[0].step_advantages(group)
    assert no_penalty[0][0] == no_penalty[0][1]


def test_what_a_valid_format_is():
    official = EpisodeAdvantage()
    assert not official.invalid(_step(0))
    assert official.invalid(_step(0, response="<action>look</action>"))  # no <think>: invalid there
    assert official.invalid(_step(0, response="<think>想</think><action>look</action>"))  # CJK text
    assert not official.invalid(dataclasses.replace(_step(0), response=None))  # scripted policies never are
    by_parser = EpisodeAdvantage.of("step_rows", "won", 10.0, 0.1, "action")
    assert not by_parser.invalid(_step(0, response="<action>look</action>"))
    assert by_parser.invalid(_step(0, response="hmm", parse_error="no <action>...</action> in the response"))


def test_single_rollout_groups():
    one_step = Group("t", (_episode(1, True),))
    assert build_method("grpo")[0].step_advantages(one_step) == [[pytest.approx(10.0)]]  # one row: mean 0, std 1
    assert build_method("grpo", advantage_norm="trajectory")[0].step_advantages(one_step) == [[0.0]]
    several = Group("t", (_episode(3, True),))  # rows of equal score: no signal
    assert build_method("grpo")[0].step_advantages(several) == [[0.0, 0.0, 0.0]]


def test_trajectory_norm_with_env_reward_and_no_penalty_is_the_textbook_advantage(groups):
    for group in groups.values():
        classic = build_method("grpo", advantage_norm="trajectory", episode_reward="env", invalid_penalty=0.0)[0]
        assert classic.step_advantages(group) == episode_advantages(group)


def test_rloo_and_gae_by_hand():
    group = Group("t", (_episode(2, True), _episode(3, False), _episode(1, True)))
    rloo = build_method("rloo")[0].step_advantages(group)
    assert rloo == [[1.0 - 0.5] * 2, [0.0 - 1.0] * 3, [1.0 - 0.5]]
    samples = [Sample(group=0, rollout=0, step=k, prompt_ids=(1,), response_ids=(2,), action_mask=(True,),
                      advantage=0.0, reward=r) for k, r in enumerate([0.0, 1.0])]
    values = [0.5, 0.2]
    (a0, r0), (a1, r1) = gae(samples, values, gamma=0.9, lam=0.8)
    d1 = 1.0 + 0.9 * 0.0 - 0.2
    d0 = 0.0 + 0.9 * 0.2 - 0.5
    assert a1 == pytest.approx(d1) and r1 == pytest.approx(d1 + 0.2)
    assert a0 == pytest.approx(d0 + 0.9 * 0.8 * d1) and r0 == pytest.approx(a0 + 0.5)


def test_gigpo_mean_norm_centres_without_dividing():
    group = Group("t", (_episode(2, True), _episode(2, False)))
    method = build_method("gigpo")[0]  # verl-agent: mean_norm, raw observation anchors
    episode = method.advantage(group)
    assert episode[0][0] == pytest.approx(10.0 - 5.0 - 0.0) and episode[1][0] == pytest.approx(-5.0)
    step = gigpo_step_advantages(group, 0.95, anchor="observation", divide_by_std=False,
                                 rewards=method.advantage.step_rewards)
    # o0 is shared: returns 0.95 * 10 and 0 -> centred +-4.75; o1 likewise: 10 and 0 -> +-5
    assert step == [[pytest.approx(4.75), pytest.approx(5.0)], [pytest.approx(-4.75), pytest.approx(-5.0)]]


@pytest.mark.parametrize("k, expected", [(0, 0.5), (25, 0.5), (1000, 0.5)])
def test_decay_steps_zero_keeps_lambda_constant(k, expected):
    assert lambda_at(k, 0.5, 0) == expected  # official: 0 means no decay (the teacher stays on)
    method = build_method("serl", decay_steps=0)[0]
    method.begin_update(k)
    assert method.teacher_active


def test_delta_reference_current_differs_from_old_only_after_the_first_minibatch(tmp_path, alfworld_env,
                                                                                random_model):
    """Official delta uses the policy as it is when each minibatch runs; on the first minibatch that is
    still pi_old, so the two settings agree there and differ on the second."""
    from tests.training.test_trainer import make_trainer, mixed_batch

    recorded = {}
    for reference in ("current", "old"):
        trainer = make_trainer(tmp_path / reference, "serl", random_model, method_args={"delta_reference": reference},
                               minibatch=8, micro_batch=8, lr=1e-2, granularity="step")
        batch = mixed_batch(trainer, alfworld_env)
        method, calls = trainer.method, []
        real = method.token_advantages

        def spy(sample, current, old, teacher, real=real, calls=calls):
            out = real(sample, current, old, teacher)
            calls.append((sample.group, sample.rollout, sample.step, teacher is not None, out.clone()))
            return out

        method.token_advantages = spy
        method.begin_update(0)
        metrics = trainer.update(batch, 0)
        assert metrics["samples"] > 8 and metrics["teacher/samples_scored"] > 0  # two minibatches or more
        recorded[reference] = calls
    first, later = slice(0, 8), slice(8, None)
    for a, b in zip(recorded["current"][first], recorded["old"][first], strict=True):
        assert a[:4] == b[:4] and torch.equal(a[4], b[4])  # the policy has not moved yet
    differs = [not torch.equal(a[4], b[4]) for a, b in zip(recorded["current"][later], recorded["old"][later],
                                                          strict=True) if a[3]]
    assert differs and any(differs)  # after the first step, only where the teacher reweights
    unweighted = [torch.equal(a[4], b[4]) for a, b in zip(recorded["current"][later], recorded["old"][later],
                                                         strict=True) if not a[3]]
    assert all(unweighted)


@pytest.fixture(scope="module")
def pair(tmp_path_factory, alfworld_env, random_model):
    from tests.training.test_trainer import make_trainer, mixed_batch

    grpo = make_trainer(tmp_path_factory.mktemp("cut"), "grpo", random_model)
    return grpo, None, mixed_batch(grpo, alfworld_env)


def test_teacher_prompts_are_cut_from_the_right(pair):
    from serl_bench.feedback import FeedbackSpec, build_contexts
    from serl_bench.training._samples import build_samples

    grpo, _, batch = pair
    spec = FeedbackSpec.parse("future_trajectory")
    contexts = [build_contexts(g, spec) for g in batch.groups]
    advantages = [[[1.0] * t.length for t in g.trajectories] for g in batch.groups]
    whole = build_samples(batch, grpo.tokenizer, advantages, contexts, spec)
    cut = build_samples(batch, grpo.tokenizer, advantages, contexts, spec, teacher_tokens=40)
    for a, b in zip(whole, cut, strict=True):
        if a.teacher_prompt_ids is not None:
            assert b.teacher_prompt_ids == a.teacher_prompt_ids[:40]  # the start kept, the tail cut
        assert a.prompt_ids == b.prompt_ids  # student prompts are never cut


@pytest.mark.slow
def test_the_default_serl_run_records_the_official_settings(tmp_path, small_split, looking_model):
    import json

    from serl_bench.cli import main

    out = tmp_path / "serl"
    assert main(["run", "--method", "serl", "--model", str(looking_model), "--env", "alfworld", "--prompt", "standard",
                 "--history", "1", "--no-eval-before", "--split", "procgen-test",
                 "--env-arg", "games_per_type=2", "--updates", "1", "--tasks-per-update", "1", "--group-size", "2",
                 "--max-steps", "2", "--max-new-tokens", "4", "--eval-episodes", "1", "--out", str(out),
                 "--no-progress"]) == 0
    record = json.loads((out / "results.json").read_text())
    assert record["feedback"]["sources"] == ["immediate_feedback"] and record["feedback"]["granularity"] == "step"
    assert record["feedback"]["options"]["all_required"] is True
    assert record["method_args"] == {"lambda0": 0.5, "decay_steps": 50, "weight_clip": 0.2,
                                     "teacher_sync_interval": 10, "delta_reference": "current",
                                     "advantage_norm": "step_rows", "episode_reward": "won", "won_scale": 10.0,
                                     "invalid_penalty": 0.1, "format_check": "think_and_action"}
    settings = record["training"]["settings"]
    assert settings["dual_clip"] == 3.0 and settings["entropy_coef"] == 0.001 and settings["weight_decay"] == 0.01
    assert settings["temperature"] == 1.2 and settings["train_layers"] == 10  # the CPU profile's loop settings
    assert record["protocol"]["max_steps"] == 2 and record["protocol"]["history"] == 1


def test_equal_rows_give_exactly_zero_so_the_update_is_skipped():
    # every step invalid and nothing won: rows of -0.1, whose float mean is not exactly -0.1
    group = Group("t", (_episode(5, False, invalid=set(range(5))), _episode(5, False, invalid=set(range(5)))))
    assert build_method("grpo")[0].step_advantages(group) == [[0.0] * 5, [0.0] * 5]


@pytest.mark.parametrize("profile", ["gpu", "paper-alfworld", "paper-webshop"])
def test_gpu_and_paper_profiles_train_the_full_loop_not_the_cpu_shortcuts(profile):
    from serl_bench.training._config import TrainConfig, with_profile

    config = with_profile(TrainConfig(method="serl", profile=profile), set())
    assert (config.prompt, config.temperature, config.train_layers, config.drop_zero_advantage, config.model) == (
        "standard", 1.0, 0, False, "default")
    mine = with_profile(TrainConfig(method="serl", profile=profile, train_layers=4), {"train_layers"})
    assert mine.train_layers == 4  # a flag the user set wins over the profile


def test_the_cpu_profile_keeps_the_fast_loop():
    from serl_bench.training._config import TrainConfig, with_profile

    config = with_profile(TrainConfig(method="serl"), set())
    assert (config.env, config.model, config.prompt, config.train_layers) == ("webshop", "auto", "compact", 10)
