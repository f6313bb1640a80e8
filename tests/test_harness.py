import json

import pytest

from serl_bench import Agent, AgentStep, register_method
from serl_bench.errors import ConfigError, UnknownNameError
from serl_bench.harness import EvalConfig, evaluate
from serl_bench.methods import _REGISTRY
from serl_bench.results import config_hash, file_sha256, summarize

SMALL = {"games_per_type": 2}


def config(method, **kw):
    return EvalConfig(method=method, env="alfworld", env_args=SMALL, **kw)


@pytest.mark.slow
def test_expert_solves_everything_and_random_does_not(small_split, tmp_path):
    expert = evaluate(config("expert"), out=tmp_path / "expert", progress=False).record
    rand = evaluate(config("random"), out=tmp_path / "random", progress=False).record
    assert expert.episodes == rand.episodes == 12
    assert expert.success_rate == 1.0 and expert.score_mean == 1.0
    assert expert.success_ci95[1] == 1.0 and expert.success_ci95[0] > 0.7
    assert rand.success_rate <= 0.25 < expert.success_rate
    assert expert.split_source == "procedural" and expert.split == "procgen-test"
    assert set(expert.per_task_type) == {g.task_type for g in small_split.tasks}


def test_the_record_is_recomputable_from_the_run_directory(small_split, tmp_path):
    run = evaluate(config("random", episodes=4, seed=11), out=tmp_path / "r", progress=False)
    record = json.loads((run.path / "results.json").read_text())
    episodes = [json.loads(line) for line in (run.path / "episodes.jsonl").read_text().splitlines()]
    summary = summarize(episodes)
    assert record["success_rate"] == summary.success_rate and record["episodes"] == 4
    assert record["episodes_sha256"] == file_sha256(run.path / "episodes.jsonl")
    assert record["config_hash"] == config_hash(json.loads((run.path / "config.json").read_text()))
    assert record["seeds"] == [11] and [e["seed"] for e in episodes] == [11, 12, 13, 14]
    assert record["model"] is None and record["feedback"] is None and record["training"] is None
    assert record["software"]["alfworld"] and record["hardware"]["cpu_count"]
    for e in episodes:
        assert set(e) >= {"task_id", "task_type", "seed", "steps", "won", "score", "actions", "error"}
        assert e["steps"] == len(e["actions"])


def test_a_killed_run_resumes_without_losing_or_repeating_episodes(small_split, tmp_path, monkeypatch):
    import serl_bench.harness as harness

    whole = evaluate(config("random", episodes=6), out=tmp_path / "whole", progress=False)
    real = harness.episode_record

    def dies_at_episode_3(episode, *args, **kwargs):
        if episode == 3:
            raise KeyboardInterrupt
        return real(episode, *args, **kwargs)

    monkeypatch.setattr(harness, "episode_record", dies_at_episode_3)
    with pytest.raises(KeyboardInterrupt):
        evaluate(config("random", episodes=6), out=tmp_path / "killed", progress=False)
    assert len((tmp_path / "killed" / "episodes.jsonl").read_text().splitlines()) == 3
    monkeypatch.setattr(harness, "episode_record", real)
    resumed = evaluate(config("random", episodes=6), out=tmp_path / "killed", resume=True, progress=False)
    assert (resumed.path / "episodes.jsonl").read_bytes() == (whole.path / "episodes.jsonl").read_bytes()
    assert resumed.record.episodes_sha256 == whole.record.episodes_sha256


def test_a_failing_agent_is_recorded_not_fatal(small_split, tmp_path):
    @register_method("explodes-test")
    class Explodes(Agent):
        def act(self, observation, info):
            if len(info["admissible_actions"]) > 0:
                raise RuntimeError("boom")
            return AgentStep("look")

    try:
        record = evaluate(config("explodes-test", episodes=2), out=tmp_path / "x", progress=False).record
    finally:
        _REGISTRY.pop("explodes-test")
    assert record.errors == 2 and record.success_rate == 0.0
    lines = (tmp_path / "x" / "episodes.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["error"] == "RuntimeError: boom"


def test_more_episodes_than_tasks_cycle_through_the_split(small_split, tmp_path):
    run = evaluate(config("random", episodes=14), out=tmp_path / "c", progress=False)
    episodes = [json.loads(line) for line in (run.path / "episodes.jsonl").read_text().splitlines()]
    assert episodes[12]["task_id"] == episodes[0]["task_id"] and episodes[12]["seed"] != episodes[0]["seed"]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"method": "nope"}, UnknownNameError, "unknown method 'nope'"),
    ({"method": "random", "env": "minecraft"}, UnknownNameError, "unknown env 'minecraft'; valid: alfworld"),
    ({"method": "random", "split": "dev"}, UnknownNameError, "unknown ALFWorld split 'dev'"),
    ({"method": "random", "episodes": 0}, ConfigError, "--episodes must be at least 1"),
    ({"method": "random", "model": "x"}, ConfigError, "unexpected keyword argument 'model'"),
    ({"method": "random", "env_args": {"colour": "red"}}, ConfigError, "takes no argument 'colour'"),
])
def test_bad_configs_fail_before_any_work(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        evaluate(EvalConfig(**kwargs), out=tmp_path / "bad", progress=False)
    assert not (tmp_path / "bad").exists()


def test_the_episode_bar_counts_the_steps_played_while_episodes_run(small_split, tmp_path, capsys):
    evaluate(config("random", episodes=2), out=tmp_path / "bar", progress=True)
    last = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    episodes = [json.loads(x) for x in (tmp_path / "bar" / "episodes.jsonl").read_text().splitlines()]
    wins, steps = sum(e["won"] for e in episodes), sum(e["steps"] for e in episodes)
    assert f"success {wins}/2, {steps} steps" in last
