"""The trainer and the feedback engine run on WebShop as they do on ALFWorld."""

import json

import pytest

from serl_bench.training import TrainConfig, train

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("method, granularity", [("serl", "step"), ("gigpo", "anchor")])
def test_training_on_webshop_writes_a_scored_record(tmp_path, searching_model, method, granularity):
    # No learning signal (a penalty-free reward of 0 everywhere), so the always-searching model stays as it is.
    from tests.conftest import CLASSIC_LOOP

    config = TrainConfig(**{**CLASSIC_LOOP, "env": "webshop"}, model=str(searching_model), method=method, updates=1,
                         split="train",
                         method_args={"invalid_penalty": 0.0},
                         eval_split="test", tasks_per_update=1, group_size=2, max_steps=3, max_new_tokens=12,
                         eval_episodes=2, minibatch=8, micro_batch=4, history=0, granularity=granularity)
    result = train(config, out=tmp_path / method, progress=False)
    record = result.record
    assert record.env == "webshop" and record.split_source == "generated" and record.episodes == 2
    assert record.training.rollouts == 2 and record.success_rate == 0.0
    episodes = [json.loads(line) for line in (result.path / "episodes.jsonl").read_text().splitlines()]
    assert all(e["actions"] == ["search[red shoes]"] * 3 for e in episodes)  # valid searches, never a purchase
    assert {e["task_type"] for e in episodes} <= {"beauty", "food", "fashion", "furniture", "electronics"}
