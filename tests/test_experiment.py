"""The experiment command: a grid of real training runs from one start, resumable, with a summary."""

import json

import pytest

from serl_bench.errors import ConfigError, SerlBenchError
from serl_bench.experiment import ExperimentConfig, plan, run_experiment


def test_the_grid_is_methods_by_feedback_by_granularity_by_seeds():
    grid = plan(ExperimentConfig(methods="grpo,serl", feedback="immediate_feedback,successful_trajectory",
                                 granularity="step,anchor", seeds="0,1"))
    assert [a.name for a in grid.arms] == ["grpo", "serl[immediate_feedback@step]", "serl[immediate_feedback@anchor]",
                                           "serl[successful_trajectory@step]", "serl[successful_trajectory@anchor]"]
    assert len(grid.runs()) == 10 and grid.runs()[0][2] == "grpo-s0"


def test_a_grid_file_gives_arms_their_own_settings(tmp_path):
    path = tmp_path / "grid.json"
    path.write_text(json.dumps({"seeds": [3], "train": {"updates": 2},
                                "arms": [{"method": "grpo"}, {"name": "serl-classic", "method": "serl",
                                                              "method_args": {"advantage_norm": "trajectory"}}]}))
    grid = plan(ExperimentConfig(grid=str(path)))
    assert [a.name for a in grid.arms] == ["grpo", "serl-classic"] and grid.seeds == (3,)
    assert grid.train == {"updates": 2} and grid.arms[1].method_args == {"advantage_norm": "trajectory"}


@pytest.mark.parametrize("changes, message", [
    ({"methods": "grpo,oracle"}, "unknown method 'oracle'"),
    ({"seeds": "0,x"}, "--seeds takes whole numbers"),
    ({"train_args": {"seed": 3}}, "not loop settings an experiment can set"),
    ({"train_args": {"colour": 1}}, "not loop settings"),
])
def test_bad_grids_are_refused_before_any_work(changes, message):
    with pytest.raises(SerlBenchError, match=message):
        plan(ExperimentConfig(**changes))


def test_a_grid_that_does_not_fit_its_budget_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"each run is estimated at \d+ min here \(budget 1 min per run"):
        run_experiment(ExperimentConfig(budget_minutes=1, train_args={"updates": 50}), out=tmp_path / "x",
                       dry_run=True)
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_an_experiment_runs_resumes_and_summarizes(tmp_path, small_split, random_model, monkeypatch):
    import serl_bench.experiment as experiment

    monkeypatch.setattr(experiment, "estimate_minutes", lambda *a, **k: 1.0)
    config = ExperimentConfig(env="alfworld", warm_start=str(random_model), methods="grpo,serl", seeds="0",
                              eval_episodes=2, train_args={"updates": 1, "tasks_per_update": 1, "group_size": 2,
                                                           "prompt": "standard", "train_layers": 0,
                                                           "max_steps": 2, "max_new_tokens": 4,
                                                           "env_args": {"games_per_type": 2}, "eval_batch": 2,
                                                           "split": "procgen-test"})
    out = tmp_path / "exp"
    summary = run_experiment(config, out=out, progress=False)
    assert {p.name for p in out.iterdir()} >= {"start", "grpo-s0", "serl-s0", "summary.md", "summary.json",
                                               "curves.png", "experiment.json"}
    assert not (out / "grpo-s0" / "start").exists()  # the warm start is evaluated once, not once per run
    data = json.loads((out / "summary.json").read_text())
    assert data["start"]["episodes"] == 2 and [a["arm"] for a in data["arms"]] == ["grpo", "serl"]
    assert data["arms"][1]["p_vs_grpo"] is not None and 0.0 <= data["arms"][0]["p_vs_start"] <= 1.0
    assert "| serl | 1 |" in summary.read_text() and "Panel played greedy." in summary.read_text()
    records = [json.loads((out / r / "results.json").read_text()) for r in ("start", "grpo-s0", "serl-s0")]
    assert len({r["split_fingerprint"] for r in records}) == 1  # one panel
    assert {r["protocol"]["max_steps"] for r in records} == {2} and records[0]["method"] == "react"
    before = (out / "grpo-s0" / "results.json").stat().st_mtime
    run_experiment(config, out=out, progress=False)  # resumed: finished runs are kept as they are
    assert (out / "grpo-s0" / "results.json").stat().st_mtime == before


def test_the_summary_says_how_the_panel_was_played():
    from serl_bench.experiment import _markdown

    summary = {"panel": 3, "start": {"success_rate": 0.5, "success_ci95": [0.1, 0.9], "score_mean": 0.5}, "arms": []}
    spec = {"arms": [], "seeds": [1], "config": {"warm_start": "w"}, "train": {"eval_temperature": 0.4}}
    assert "Panel played sampled at T 0.4 (seeded per episode)." in _markdown(summary, spec)
    assert "Panel played greedy." in _markdown(summary, {**spec, "train": {}})
