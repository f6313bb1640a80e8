"""One engine: the harness and the trainer play the same episode for the same policy, task and seed, and a
trained checkpoint acts in `serl-bench eval` as it did in training (one prompt format, its own settings)."""

import json

import pytest

from serl_bench.harness import EvalConfig, eval_episodes, evaluate
from serl_bench.methods import build_method
from serl_bench.rollouts import play_batch
from serl_bench.training import TrainConfig, train
from tests.conftest import CLASSIC_LOOP

SMALL = dict(**CLASSIC_LOOP, split="procgen-test", eval_split="procgen-test", env_args={"games_per_type": 2},
             tasks_per_update=1, group_size=2, max_steps=3, max_new_tokens=6, eval_episodes=3, minibatch=8,
             micro_batch=4, history=1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_split, random_model):
    out = tmp_path_factory.mktemp("same") / "sft"
    return train(TrainConfig(**{**SMALL, "lr": 3e-3}, method="sft", model=str(random_model), updates=1), out=out,
                 progress=False)


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_the_harness_and_the_trainer_play_the_same_episodes(trained, alfworld_env, temperature):
    from serl_bench.rundir import RunDir
    from serl_bench.training._trainer import Trainer

    config = TrainConfig(method="grpo", model=str(trained.path), eval_temperature=temperature, **SMALL)
    trainer = Trainer(config, build_method("grpo")[0], RunDir(trained.path / "probe"), progress=False)
    try:
        by_trainer = trainer.evaluate()  # three episodes in one lockstep batch
    finally:
        trainer.close()
    agent, _ = build_method("react", model=str(trained.path), temperature=temperature)
    episodes = eval_episodes(alfworld_env.unwrapped.task_ids, 3, 0)
    by_harness = [trials[-1] for trials in play_batch([alfworld_env], [agent] * 3, episodes, max_steps=3)]
    for a, b in zip(by_trainer, by_harness, strict=True):  # one at a time, on another env
        assert (a.task_id, a.seed) == (b.task_id, b.seed)
        assert [s.response_token_ids for s in a.steps] == [s.response_token_ids for s in b.steps]
        assert [s.prompt for s in a.steps] == [s.prompt for s in b.steps]
        assert [s.action for s in a.steps] == [s.action for s in b.steps]
    if temperature > 0:  # sampled: the episodes really differ from each other, and still agree
        assert len({tuple(s.response_token_ids for s in t.steps) for t in by_trainer}) == 3


def test_a_checkpoint_acts_in_eval_as_in_its_training_run(trained, tmp_path):
    run = evaluate(EvalConfig(method="react", model=str(trained.path), split="procgen-test", episodes=3,
                              max_steps=3, env_args={"games_per_type": 2}), out=tmp_path / "eval", progress=False)
    logs = [[json.loads(line) for line in (path / "episodes.jsonl").read_text().splitlines()]
            for path in (trained.path, run.path)]
    assert [e["actions"] for e in logs[0]] == [e["actions"] for e in logs[1]]
    record = run.record
    assert record.protocol.history == 1 and record.protocol.max_new_tokens == 6  # the run's own settings
    assert record.model.source == "run" and record.model.name == trained.path.name
    assert record.model.origin.kind == "run" and record.model.origin.parent.kind == "folder"
    assert record.model.origin.sha256 == trained.record.model.origin.sha256
