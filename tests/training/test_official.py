"""The official SERL code's semantics, hand-computed, and each named variant one argument away."""

import dataclasses
import math

import pytest
import torch

from serl_bench.baselines.gigpo import step_advantages as gigpo_step_advantages
from serl_bench.baselines.ppo import gae
from serl_bench.baselines.serl import lambda_at, serl_token_advantages
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


def _partial(length, score):
    """A lost episode whose last step still scores (a WebShop purchase that matched part of the goal)."""
    steps = [_step(i, reward=score if i == length - 1 else 0.0) for i in range(length)]
    return Trajectory(task_id="t", task="t", task_type=None, seed=0, steps=tuple(steps), won=False, score=score)


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


def test_episode_score_is_ten_times_won_or_the_env_return():
    group = Group("t", (_episode(2, True), _partial(2, 0.5)))
    scores = {name: [build_method("grpo", **args)[0].advantage.episode_score(t) for t in group.trajectories]
              for name, args in {"official": {}, "env": {"episode_reward": "env"}, "scaled": {"won_scale": 1}}.items()}
    assert scores == {"official": [10.0, 0.0], "env": [1.0, 0.5], "scaled": [1.0, 0.0]}  # partial purchases: 0
    rows = build_method("grpo", episode_reward="env")[0].step_advantages(group)  # rows 1, 1, 0.5, 0.5
    a = 0.25 / (math.sqrt(4 * 0.25 ** 2 / 3) + 1e-6)
    assert rows == [[pytest.approx(a)] * 2, [pytest.approx(-a)] * 2]


def test_classic_method_args_restore_the_pre_change_advantages_bit_for_bit(groups):
    """`--method-arg advantage_norm=trajectory --method-arg episode_reward=env --method-arg invalid_penalty=0`
    (and `delta_reference=old` for serl) give exactly what serl-bench computed before it followed the official
    code: `episode_advantages` (unchanged since) and delta against pi_old."""
    from serl_bench.cli import _key_values

    classic = _key_values(["advantage_norm=trajectory", "episode_reward=env", "invalid_penalty=0"], "--method-arg")
    grpo = build_method("grpo", **classic)[0]
    serl = build_method("serl", delta_reference="old", **classic)[0]
    llm = Group("t", (_episode(3, True, invalid={0}), _partial(2, 0.5), _episode(4, False, invalid={1, 2})))
    for group in (*groups.values(), llm):
        assert grpo.step_advantages(group) == episode_advantages(group)
        assert serl.step_advantages(group) == episode_advantages(group)
    assert build_method("grpo")[0].step_advantages(llm) != episode_advantages(llm)
    serl.begin_update(0)
    sample = Sample(group=0, rollout=0, step=0, prompt_ids=(1,), response_ids=(1, 2, 3),
                    action_mask=(False, True, True), advantage=-0.7, teacher_prompt_ids=(1, 2))
    current, old = torch.tensor([-2.0, -0.3, -1.0]), torch.tensor([-1.0, -1.0, -1.0])
    teacher = torch.tensor([-0.5, -2.0, -0.2])
    before, _ = serl_token_advantages(-0.7, old, teacher, torch.tensor(sample.action_mask), 0.5, 0.2)
    assert torch.equal(serl.token_advantages(sample, current, old, teacher), before)


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


def test_the_method_reweights_with_its_own_lambda0_and_weight_clip():
    method = build_method("serl", lambda0=1, weight_clip=0.5)[0]
    method.begin_update(0)
    sample = Sample(group=0, rollout=0, step=0, prompt_ids=(1,), response_ids=(1, 2), action_mask=(True, True),
                    advantage=1.0, teacher_prompt_ids=(1,))
    student, teacher = torch.tensor([-1.0, -1.0]), torch.tensor([1.0, -1.2])  # delta +2 (clipped), -0.2
    out = method.token_advantages(sample, student, student, teacher)
    assert out.tolist() == pytest.approx([1.5, math.exp(-0.2)])  # lambda 1: A_t = A_i * w_t, w in [0.5, 1.5]


def test_the_teacher_syncs_every_teacher_sync_interval_updates(tmp_path, small_split, random_model):
    from tests.training.test_trainer import make_trainer

    trainer = make_trainer(tmp_path, "serl", random_model, method_args={"teacher_sync_interval": 2})
    learner = trainer.learner
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.add_(0.01)  # the policy has moved since the teacher was copied

    def synced():
        return all(torch.equal(a, b) for a, b in zip(learner.teacher.parameters(), trainer.model.parameters(),
                                                     strict=True))

    for update, expected in ((1, False), (2, True)):
        trainer.method.begin_update(update)
        learner._teacher_logprobs([], update)
        assert synced() is expected
    assert learner.teacher_synced_at == 2


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


@pytest.mark.parametrize("tokens, expected", [(0, 2048), (40, 40)])
def test_teacher_prompt_tokens_zero_is_the_envs_limit(tmp_path, pair, random_model, monkeypatch, tokens, expected):
    from serl_bench.envs import env_entry
    from serl_bench.training import _trainer
    from tests.training.test_trainer import make_trainer

    class Seen(Exception):
        pass

    def spy(*args, teacher_tokens=None, **kwargs):
        raise Seen(teacher_tokens)

    trainer = make_trainer(tmp_path, "serl", random_model, teacher_prompt_tokens=tokens)
    monkeypatch.setattr(_trainer, "build_samples", spy)
    trainer.method.begin_update(0)
    with pytest.raises(Seen) as seen:
        trainer.update(pair[2], 0)
    assert seen.value.args == (expected,)  # ALFWorld's 2048 unless told
    assert env_entry("webshop").max_prompt_tokens == 4096


def test_entropy_bonus_weight_decay_and_dual_clip_are_loop_settings(tmp_path, pair, random_model):
    from serl_bench.training._learner import Learner
    from tests.training.test_trainer import make_trainer

    group = pair[2].groups[0]  # its first two steps are enough: a success and a failure, eight samples
    short = Group(group.task_id, tuple(dataclasses.replace(t, steps=t.steps[:2]) for t in group.trajectories))
    batch = dataclasses.replace(pair[2], groups=(short,))

    def trained(name, method, **overrides):
        trainer = make_trainer(tmp_path / name, method, random_model, **overrides)
        metrics = trainer.update(batch, 0)
        return trainer, metrics, [p.detach().clone() for p in trainer.model.parameters()]

    (official, with_bonus, a), (_, _, b) = trained("e", "grpo"), trained("e0", "grpo", entropy_coef=0.0)
    assert with_bonus["losses/entropy"] > 0 and any(not torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert official.learner.optimizer.param_groups[0]["weight_decay"] == 0.01
    assert official.learner.objective.dual_clip == 3.0
    off = Learner(dataclasses.replace(official.config, weight_decay=0.0, dual_clip=0.0), official.method,
                  official.model, compute_dtype=None)
    assert off.optimizer.param_groups[0]["weight_decay"] == 0.0 and off.objective.dual_clip is None
    (_, _, a), (_, _, b) = trained("sft-e", "sft"), trained("sft-e0", "sft", entropy_coef=0.0)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))  # SFT never gets the bonus


def test_an_update_without_signal_is_skipped_and_weight_decay_moves_nothing(tmp_path, pair, random_model):
    from serl_bench.trajectories import Batch
    from tests.training.test_trainer import make_trainer

    losers = tuple(t for t in pair[2].groups[0].trajectories if not t.won)
    trainer = make_trainer(tmp_path, "grpo", random_model, lr=1e-2)  # weight decay 0.01, as officially
    before = [p.detach().clone() for p in trainer.model.parameters()]
    metrics = trainer.update(Batch(groups=(Group(losers[0].task_id, losers * 2),)), 0)
    assert metrics["samples"] > 0 and metrics["skipped"].startswith("no learning signal")
    assert all(torch.equal(x, y) for x, y in zip(before, trainer.model.parameters(), strict=True))
    assert not trainer.learner.optimizer.state  # no optimizer step was taken


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
    from serl_bench.feedback import FeedbackSpec

    record = json.loads((out / "results.json").read_text())
    assert record["feedback"]["sources"] == ["immediate_feedback"] and record["feedback"]["granularity"] == "step"
    options = record["feedback"]["options"]
    assert options == FeedbackSpec.parse("immediate_feedback").as_record()["options"]  # the official defaults
    assert options["all_required"] is True and options["immediate_feedback"] == "observation"
    assert options["layout"] == "sections" and options["anchor"] == "observation"
    official = {"lambda0": 0.5, "decay_steps": 50, "weight_clip": 0.2, "teacher_sync_interval": 10,
                "delta_reference": "current", "advantage_norm": "step_rows", "episode_reward": "won", "won_scale": 10.0,
                "invalid_penalty": 0.1, "format_check": "think_and_action"}
    assert record["method_args"] == official
    config = json.loads((out / "config.json").read_text())
    assert config["method_args"] == official and config["feedback"] == "immediate_feedback"
    assert config["feedback_args"] == {} and config["granularity"] == "step"
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


@pytest.mark.parametrize("profile, env, steps", [("gpu", "webshop", 15), ("gpu", "alfworld", 50),
                                                 ("paper-webshop", "webshop", 15), ("paper-alfworld", "alfworld", 50)])
def test_episode_lengths_of_the_gpu_and_paper_profiles(profile, env, steps):
    from serl_bench.training._config import TrainConfig, with_profile

    explicit = {"env"} if profile == "gpu" else set()  # the paper profiles pick their env themselves
    config = with_profile(TrainConfig(method="serl", profile=profile, env=env), explicit)
    assert (config.env, config.max_steps) == (env, steps)
    if profile.startswith("paper"):
        assert (config.feedback, config.granularity, config.group_size, config.tasks_per_update) == (
            "immediate_feedback", "step", 8, 16)
    mine = with_profile(TrainConfig(method="serl", profile=profile, env=env, max_steps=7), explicit | {"max_steps"})
    assert mine.max_steps == 7
