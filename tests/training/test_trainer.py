"""The training loop on real ALFWorld rollouts with tiny models built from configs."""

import json

import pytest
import torch

from serl_bench.baselines.gigpo import _returns
from serl_bench.baselines.gigpo import step_advantages as gigpo_step_advantages
from serl_bench.baselines.sft import ExpertInLLMFormat
from serl_bench.errors import ConfigError
from serl_bench.methods import build_method
from serl_bench.rollouts import collect_group
from serl_bench.rundir import RunDir
from serl_bench.training import TrainConfig, train
from serl_bench.training._policy import score
from serl_bench.training._samples import build_samples
from serl_bench.training._trainer import Trainer
from serl_bench.trajectories import Batch
from tests.conftest import CLASSIC_LOOP, checkpoint_weights, metrics_without_times

SMALL = dict(**CLASSIC_LOOP, split="procgen-test", eval_split="procgen-test", env_args={"games_per_type": 2},
             tasks_per_update=1, group_size=2, max_steps=2, max_new_tokens=4, eval_episodes=1, minibatch=8,
             micro_batch=4, history=0)


def make_trainer(tmp_path, method, model, method_args=None, **overrides):
    config = TrainConfig(method=method, model=str(model), **{**SMALL, **overrides})
    run = RunDir.open(tmp_path / method, {"method": method}, resume=False)
    return Trainer(config, build_method(method, **(method_args or {}))[0], run, progress=False)


def mixed_batch(trainer, env, seed=3):
    """Two real groups in the LLM format, played by a noisy expert: successes and failures."""
    agent = ExpertInLLMFormat(trainer.backend, history=0, epsilon=0.5)
    groups = [collect_group(env, [("noisy", agent)], task_id=task, group_size=4, seed=seed + 10 * task,
                            max_steps=12) for task in (0, 6)]
    batch = Batch(groups=tuple(groups))
    for group in batch.groups:
        assert len({t.won for t in group.trajectories}) == 2, "each group needs a success and a failure"
    return batch


@pytest.fixture(scope="module")
def pair(tmp_path_factory, alfworld_env, random_model):
    tmp = tmp_path_factory.mktemp("pair")
    grpo = make_trainer(tmp, "grpo", random_model)
    serl = make_trainer(tmp, "serl", random_model, method_args={"lambda0": 0.0})
    return grpo, serl, mixed_batch(grpo, alfworld_env)


def test_serl_with_lambda_zero_is_exactly_grpo(pair):
    grpo, serl, batch = pair
    serl.method.begin_update(0)
    assert serl.learner._teacher_logprobs([], 0) == [] and not serl.method.teacher_active
    grpo.update(batch, 0)
    metrics = serl.update(batch, 0)
    assert metrics["teacher/samples_scored"] == 0
    for a, b in zip(grpo.model.parameters(), serl.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_serl_reweights_action_tokens_with_the_teacher(tmp_path, pair, random_model):
    _, _, batch = pair
    trainer = make_trainer(tmp_path, "serl", random_model, granularity="step")
    trainer.method.begin_update(0)
    metrics = trainer.update(batch, 0)
    assert metrics["teacher/samples_scored"] > 0 and metrics["serl/reweighted_tokens"] > 0
    assert 0.8 <= metrics["serl/mean_weight"] <= 1.2 and metrics["serl/lambda"] == 0.5


def test_gigpo_step_groups_on_real_groups(groups):
    group = groups["mixed"]
    gigpo = build_method("gigpo", anchor="state", mode="mean_std_norm")[0]
    step = gigpo_step_advantages(group, 0.95, anchor="state", rewards=gigpo.advantage.step_rewards)
    pools = {}
    for i, t in enumerate(group.trajectories):
        for s, record in enumerate(t.steps):
            pools.setdefault(record.anchor, []).append((i, s))
    shared = [refs for refs in pools.values() if len(refs) > 1]
    assert shared, "some states recur in a group"
    for refs in pools.values():
        values = [step[i][s] for i, s in refs]
        if len(refs) == 1:
            assert values == [0.0]
        else:
            assert sum(values) == pytest.approx(0.0, abs=1e-6)
            returns = [_returns(gigpo.advantage.step_rewards(group.trajectories[i]), 0.95)[s] for i, s in refs]
            if len(set(returns)) > 1:  # better returns from the same state get higher step advantages
                best = max(range(len(refs)), key=returns.__getitem__)
                assert values[best] == max(values) > 0
    total = gigpo.step_advantages(group)
    episode = build_method("grpo")[0].step_advantages(group)
    assert total[0][0] == pytest.approx(episode[0][0] + step[0][0])


def test_sft_raises_the_likelihood_of_expert_actions(tmp_path, small_split, random_model):
    trainer = make_trainer(tmp_path, "sft", random_model, lr=3e-3, max_steps=8, tasks_per_update=1)
    batch = trainer.method.collect(trainer, 0)
    samples = build_samples(batch, trainer.tokenizer, [trainer.method.step_advantages(g) for g in batch.groups])
    assert samples and all(any(s.action_mask) for s in samples)

    def action_loglik():
        with torch.no_grad():
            lps = score(trainer.model, [s.prompt_ids for s in samples], [s.response_ids for s in samples]).logprobs
        return sum(float(lp[torch.tensor(s.action_mask)].sum()) for lp, s in zip(lps, samples, strict=True))

    before = action_loglik()
    for k in range(3):
        trainer.update(batch, k)
    assert action_loglik() > before + 1.0


@pytest.mark.slow
@pytest.mark.parametrize("method", ["grpo", "gigpo", "rloo", "ppo", "sft", "rft", "opd", "serl"])
def test_every_method_runs_end_to_end(tmp_path, small_split, looking_model, method):
    result = train(TrainConfig(**{**SMALL, "checkpoint_every": 1}, method=method, model=str(looking_model), updates=2),
                   out=tmp_path / method, progress=False)
    lines = [json.loads(line) for line in (result.path / "metrics.jsonl").read_text().splitlines()]
    assert [m["update"] for m in lines] == [0, 1]
    assert (result.path / "checkpoints" / "last" / "model" / "config.json").exists()
    record = json.loads((result.path / "results.json").read_text())
    assert record["method"] == method and record["training"]["updates"] == 2 and record["episodes"] == 1
    assert record["training"]["rollouts"] == (2 if method == "sft" else 4)
    assert (record["feedback"] is not None) == (method in ("serl", "opd"))
    if method in ("ppo", "sft", "opd"):  # these learn even without any success
        assert "losses/policy_loss" in lines[0]


def test_a_killed_run_resumes_to_the_same_model(tmp_path, small_split, random_model, monkeypatch):
    config = TrainConfig(**{**SMALL, "checkpoint_every": 1}, method="sft", model=str(random_model), updates=2)
    whole = train(config, out=tmp_path / "whole", progress=False)
    import serl_bench.training._trainer as loop

    real = loop.Trainer.update

    def dies_in_update_1(self, batch, update):
        if update == 1:
            raise KeyboardInterrupt
        return real(self, batch, update)

    monkeypatch.setattr(loop.Trainer, "update", dies_in_update_1)
    with pytest.raises(KeyboardInterrupt):
        train(config, out=tmp_path / "killed", progress=False)
    monkeypatch.setattr(loop.Trainer, "update", real)
    resumed = train(config, out=tmp_path / "killed", resume=True, progress=False)

    a, b = checkpoint_weights(whole.path), checkpoint_weights(resumed.path)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert metrics_without_times(whole.path) == metrics_without_times(resumed.path)


def test_training_methods_are_not_evaluated_and_agents_are_not_trained(tmp_path):
    from serl_bench.harness import EvalConfig, evaluate

    with pytest.raises(ConfigError, match="grpo is a training method"):
        evaluate(EvalConfig(method="grpo"), out=tmp_path / "e", progress=False)
    with pytest.raises(ConfigError, match="random is not a training method"):
        train(TrainConfig(method="random"), out=tmp_path / "t", progress=False)
    with pytest.raises(ConfigError, match="--group-size must be at least 1"):
        train(TrainConfig(method="grpo", group_size=0), out=tmp_path / "g", progress=False)


def test_the_teacher_is_checkpointed_only_when_it_differs_from_the_policy(tmp_path, pair, random_model):
    _, _, batch = pair
    trainer = make_trainer(tmp_path, "serl", random_model)
    trainer.method.begin_update(0)
    trainer.save(0)
    assert not (trainer.checkpoint_dir / "teacher").exists()  # still the policy: not stored twice
    trainer.update(batch, 0)
    trainer.save(0)
    assert (trainer.checkpoint_dir / "teacher").exists()
    again = Trainer(trainer.config, build_method("serl")[0], trainer.run, progress=False)
    assert again.load() == 1
    for a, b in zip(again.learner.teacher.parameters(), trainer.learner.teacher.parameters(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(again.model.parameters(), trainer.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_sft_is_cross_entropy_on_whole_demonstrations(tmp_path, small_split, random_model):
    trainer = make_trainer(tmp_path, "sft", random_model, max_steps=2, tasks_per_update=1, lr=3e-3)
    batch = trainer.method.collect(trainer, 0)
    demo = batch.groups[0].trajectories[0]
    assert demo.length > 2 and demo.won  # not cut at --max-steps: the expert plays the whole task
    metrics = trainer.update(batch, 0)
    assert "losses/clip_fraction" not in metrics and metrics["losses/nll"] > 0  # no ratio, no clipping
    assert 0.0 <= metrics["losses/token_accuracy"] <= 1.0 and metrics["teacher/samples_scored"] == 0
    again = trainer.update(batch, 1)
    assert again["losses/nll"] < metrics["losses/nll"]


def test_train_layers_updates_only_the_top_of_the_model(tmp_path, pair, random_model):
    _, _, batch = pair
    trainer = make_trainer(tmp_path, "grpo", random_model, train_layers=1, lr=1e-2)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    assert "losses/policy_loss" in trainer.update(batch, 0)
    changed = {n for n, p in trainer.model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all(n.startswith(("model.layers.0.", "model.norm")) for n in changed)  # one layer: the top
    deeper = make_trainer(tmp_path / "all", "grpo", random_model, train_layers=5, lr=1e-2)  # more than it has
    before = {n: p.detach().clone() for n, p in deeper.model.named_parameters()}
    deeper.update(batch, 0)
    assert any(not torch.equal(p, before[n]) for n, p in deeper.model.named_parameters() if "embed" in n)
    with pytest.raises(ConfigError, match="--train-layers must be at least 0"):
        make_trainer(tmp_path / "bad", "grpo", random_model, train_layers=-1)


def test_zero_advantage_samples_can_be_left_out(tmp_path, pair, random_model):
    from serl_bench.trajectories import Group

    _, _, mixed = pair
    losers = tuple(t for t in mixed.groups[0].trajectories if not t.won)
    batch = Batch(groups=(*mixed.groups, Group(losers[0].task_id, losers * 2)))  # a group with no signal
    kept = make_trainer(tmp_path / "kept", "grpo", random_model).update(batch, 0)
    dropped = make_trainer(tmp_path / "dropped", "grpo", random_model, drop_zero_advantage=True).update(batch, 0)
    advantages = [a for g in batch.groups for row in build_method("grpo")[0].step_advantages(g) for a in row]
    assert kept["samples"] == len(advantages) and dropped["samples"] == sum(a != 0 for a in advantages)
    assert dropped["samples"] < kept["samples"]
